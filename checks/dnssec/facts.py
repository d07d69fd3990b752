"""From the resolver's answers to typed facts: DS against DNSKEY, signature windows, the denial of existence.

Pure functions over dnspython messages (no I/O, no clock). Digests and signatures are computed with dnspython's
`dns.dnssec` under a policy that allows every algorithm: the check reports weak algorithms, it does not refuse to
look at them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import dns.dnssec
import dns.dnssectypes
import dns.exception
import dns.message
import dns.name
import dns.node
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS
import dns.rdtypes.ANY.NSEC3
import dns.rdtypes.ANY.NSEC3PARAM
import dns.rdtypes.ANY.RRSIG
import dns.rrset

from checks.dnssec.models import DenialFact, DnskeyFact, DsFact, SignatureFact

IN = dns.rdataclass.IN
RRSIG = dns.rdatatype.RRSIG
_POLICY = dns.dnssec.allow_all_policy


def rrset(reply: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.rrset.RRset | None:
    """The answer's set of `rdtype` at `name`, if the reply has one."""
    return reply.get_rrset(reply.answer, name, IN, rdtype)


def signatures_over(
    reply: dns.message.Message, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
) -> list[dns.rdtypes.ANY.RRSIG.RRSIG]:
    found = reply.get_rrset(reply.answer, name, IN, RRSIG, covers=rdtype)
    return [sig for sig in found or () if isinstance(sig, dns.rdtypes.ANY.RRSIG.RRSIG)]


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def signature_facts(rdtype: dns.rdatatype.RdataType, sigs: list[dns.rdtypes.ANY.RRSIG.RRSIG]) -> list[SignatureFact]:
    return [
        SignatureFact(
            rrtype=dns.rdatatype.to_text(rdtype),
            key_tag=sig.key_tag,
            algorithm=int(sig.algorithm),
            inception=_moment(sig.inception),
            expiration=_moment(sig.expiration),
        )
        for sig in sigs
    ]


def dnskeys(keys: dns.rrset.RRset | None) -> list[dns.rdtypes.ANY.DNSKEY.DNSKEY]:
    return [key for key in keys or () if isinstance(key, dns.rdtypes.ANY.DNSKEY.DNSKEY)]


def dnskey_facts(
    keys: list[dns.rdtypes.ANY.DNSKEY.DNSKEY], key_sigs: list[dns.rdtypes.ANY.RRSIG.RRSIG]
) -> list[DnskeyFact]:
    signers = {(sig.key_tag, int(sig.algorithm)) for sig in key_sigs}
    facts = []
    for key in keys:
        tag = dns.dnssec.key_id(key)
        facts.append(
            DnskeyFact(
                key_tag=tag,
                algorithm=int(key.algorithm),
                flags=int(key.flags),
                signs_dnskey_set=(tag, int(key.algorithm)) in signers,
            )
        )
    return facts


def ds_facts(
    zone: dns.name.Name, ds_set: dns.rrset.RRset | None, keys: list[dns.rdtypes.ANY.DNSKEY.DNSKEY]
) -> list[DsFact]:
    """Each DS with the key tag of the DNSKEY whose digest it is (make_ds over the candidates with its tag)."""
    by_tag: dict[tuple[int, int], list[dns.rdtypes.ANY.DNSKEY.DNSKEY]] = {}
    for key in keys:
        by_tag.setdefault((dns.dnssec.key_id(key), int(key.algorithm)), []).append(key)
    facts = []
    for ds in ds_set or ():
        if not isinstance(ds, dns.rdtypes.ANY.DS.DS):
            continue
        supported, matched = _digest_known(ds.digest_type), None
        for key in by_tag.get((ds.key_tag, int(ds.algorithm)), []) if supported else ():
            try:
                digest = dns.dnssec.make_ds(
                    zone, key, dns.dnssectypes.DSDigest(ds.digest_type), policy=_POLICY, validating=True
                )
            except (dns.exception.UnsupportedAlgorithm, dns.exception.DeniedByPolicy):
                supported = False
                break
            if digest.digest == ds.digest:
                matched = ds.key_tag
                break
        facts.append(
            DsFact(
                key_tag=ds.key_tag,
                algorithm=int(ds.algorithm),
                digest_type=int(ds.digest_type),
                matches_key=matched,
                digest_supported=supported,
            )
        )
    return facts


def _digest_known(digest_type: int) -> bool:
    try:
        dns.dnssectypes.DSDigest(digest_type)
    except ValueError:
        return False
    return digest_type != 3  # GOST R 34.11-94: dnspython cannot compute it


def denial_fact(reply: dns.message.Message, zone: dns.name.Name) -> DenialFact | None:
    """NSEC3 parameters from the NSEC3PARAM answer; else what the negative answer's authority section shows."""
    for params in rrset(reply, zone, dns.rdatatype.NSEC3PARAM) or ():
        if isinstance(params, dns.rdtypes.ANY.NSEC3PARAM.NSEC3PARAM):
            return DenialFact(kind="nsec3", iterations=params.iterations, salt=params.salt.hex())
    for section in reply.authority:
        if section.rdtype == dns.rdatatype.NSEC:
            return DenialFact(kind="nsec")
        if section.rdtype == dns.rdatatype.NSEC3:
            for record in section:
                if isinstance(record, dns.rdtypes.ANY.NSEC3.NSEC3):
                    return DenialFact(kind="nsec3", iterations=record.iterations, salt=record.salt.hex())
    return None


def parent_zone(reply: dns.message.Message, zone: dns.name.Name) -> dns.name.Name | None:
    """The zone that answered the DS question: the DS signature's signer, or the negative answer's SOA owner."""
    for sig in signatures_over(reply, zone, dns.rdatatype.DS):
        return sig.signer
    for section in reply.authority:
        if section.rdtype == dns.rdatatype.SOA:
            return section.name
    return None


def crypto_verdicts(
    zone: dns.name.Name,
    sets: Mapping[dns.rdatatype.RdataType, tuple[dns.rrset.RRset, list[dns.rdtypes.ANY.RRSIG.RRSIG]]],
    keys: dns.rrset.RRset | None,
) -> dict[tuple[str, int, int], str]:
    """Whether each signature verifies with the zone's keys, by (rrtype, key tag, algorithm).

    The time is set inside each signature's window, so this judges the cryptography alone; expiry is judged
    from the stored times. Only run when the resolver called the zone bogus: it costs a signature check each.
    """
    verdicts: dict[tuple[str, int, int], str] = {}
    present = {(dns.dnssec.key_id(key), int(key.algorithm)) for key in dnskeys(keys)}
    keyring: dict[dns.name.Name, dns.node.Node | dns.rdataset.Rdataset] = {zone: keys} if keys is not None else {}
    for rdtype, (data, sigs) in sets.items():
        for sig in sigs:
            slot = (dns.rdatatype.to_text(rdtype), sig.key_tag, int(sig.algorithm))
            if (sig.key_tag, int(sig.algorithm)) not in present:
                verdicts[slot] = "no_key"
                continue
            try:
                dns.dnssec.validate_rrsig(data, sig, keyring, now=float(sig.inception), policy=_POLICY)
            except ImportError:  # dnspython validates only with its `cryptography` (>= 50): no verdict then
                continue
            except dns.exception.DNSException:  # ValidationFailure and its kin
                verdicts[slot] = "invalid"
            else:
                verdicts[slot] = "valid"
    return verdicts
