"""DANE for SMTP (RFC 6698, RFC 7671, RFC 7672): the TLSA records at `_25._tcp.<mx>` and whether one matches.

`match_tlsa` is pure. Usable for SMTP are DANE-TA(2) and DANE-EE(3) only: RFC 7672 §3.1.3 says SMTP clients treat
PKIX-TA(0) and PKIX-EE(1) records as unusable (a sending MTA has no agreed set of public CAs to check them against),
so they never match here and are reported as unusable. Selectors: 0 the full certificate, 1 the SubjectPublicKeyInfo;
matching types: 0 the exact bytes, 1 SHA-256, 2 SHA-512. A record with any other value is unusable too.

DANE-EE(3) matches the leaf only (RFC 7672 §3.1.1: no name or expiry checks). DANE-TA(2) matches any certificate of
the served chain that the leaf chains up to by signature (RFC 7671 §5.2.2: the trust anchor must be in the chain the
server sends, or be the full key in a "2 1 0" record, which we do not reconstruct); for DANE-TA the MX name must
also match the leaf (RFC 7672 §3.2.3): `StarttlsFacts.name_matches` carries that, for the caller to combine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import dns.flags
import dns.name
import dns.rcode
import dns.rdatatype
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from checks.mail.transport_models import TlsaFacts, TlsaRecord, TlsaVerdict
from checks.shared.certs import TrustAnchors, analyse_chain
from checks.shared.dnsquery import QueryFailed, ResolverClient

DANE_TA = 2
DANE_EE = 3
USABLE_USAGES = (DANE_TA, DANE_EE)  # PKIX-TA(0) and PKIX-EE(1): unusable for SMTP (RFC 7672 §3.1.3)
SELECTORS = (0, 1)
MATCHING_TYPES = (0, 1, 2)


def tlsa_owner(mx: str) -> str:
    return f"_25._tcp.{mx.rstrip('.').lower()}"


def usable(record: TlsaRecord) -> bool:
    return (
        record.usage in USABLE_USAGES
        and record.selector in SELECTORS
        and record.matching_type in MATCHING_TYPES
        and len(record.data) > 0
    )


def association_data(der: bytes, selector: int, matching_type: int) -> str | None:
    """The hex a TLSA record with `selector` and `matching_type` carries for the certificate `der`; None when the
    certificate does not parse (for selector 1) or the parameters are unknown."""
    if selector == 0:
        selected = der
    elif selector == 1:
        try:
            selected = (
                x509.load_der_x509_certificate(der)
                .public_key()
                .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            )
        except (ValueError, TypeError):
            return None
    else:
        return None
    if matching_type == 0:
        return selected.hex()
    if matching_type == 1:
        return hashlib.sha256(selected).hexdigest()
    if matching_type == 2:
        return hashlib.sha512(selected).hexdigest()
    return None


def match_tlsa(records: Iterable[TlsaRecord], chain_der: Sequence[bytes]) -> TlsaVerdict:
    """Does any usable record match the served chain (leaf first)? Pure."""
    records = tuple(records)
    good = tuple(r for r in records if usable(r))
    bad = tuple(r for r in records if not usable(r))
    for record in good:
        positions = (0,) if record.usage == DANE_EE else range(len(chain_der))
        for position in positions:
            if position >= len(chain_der):
                break
            data = association_data(chain_der[position], record.selector, record.matching_type)
            if data is None or data != record.data.lower():
                continue
            if record.usage == DANE_TA and position > 0 and not _leaf_chains_to(chain_der, position):
                continue
            return TlsaVerdict(
                matched=True, matched_record=record, matched_position=position, usable=good, unusable=bad
            )
    return TlsaVerdict(matched=False, usable=good, unusable=bad)


def _leaf_chains_to(chain_der: Sequence[bytes], position: int) -> bool:
    """Whether the leaf leads by signatures through the served certificates to the one at `position`."""
    try:
        served = [x509.load_der_x509_certificate(der) for der in chain_der]
    except ValueError:
        return False
    return analyse_chain(served, TrustAnchors.of([served[position]])).trust == "trusted"


async def fetch_tlsa(mx: str, resolver: tuple[str, int], timeout_s: float) -> TlsaFacts:
    """The TLSA RRset at `_25._tcp.<mx>` from the validating `resolver`, with its AD bit. Never raises: a failed
    lookup is `TlsaFacts.error` (a bogus zone's SERVFAIL included)."""
    owner = tlsa_owner(mx)
    facts = {"mx": mx.rstrip(".").lower(), "owner": owner}
    try:
        async with ResolverClient(resolver[0], resolver[1], timeout_s) as client:
            reply = await client.ask(dns.name.from_text(owner), dns.rdatatype.TLSA, cd=False)
    except QueryFailed as failed:
        return TlsaFacts(
            **facts, error=failed.kind if failed.kind != "rcode_refused" else "refused", reason=failed.reason
        )
    rcode = reply.rcode()
    secure = bool(reply.flags & dns.flags.AD)
    if rcode == dns.rcode.SERVFAIL:
        return TlsaFacts(
            **facts, rcode="SERVFAIL", error="servfail", reason="the resolver answered SERVFAIL (bogus or unreachable)"
        )
    if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        name = dns.rcode.to_text(rcode)
        return TlsaFacts(**facts, rcode=name, error="rcode", reason=f"the resolver answered {name}")
    records = tuple(
        TlsaRecord(usage=rd.usage, selector=rd.selector, matching_type=rd.mtype, data=rd.cert.hex())
        for rrset in reply.answer
        if rrset.rdtype == dns.rdatatype.TLSA
        for rd in rrset
    )
    return TlsaFacts(**facts, records=records, secure=secure, rcode=dns.rcode.to_text(rcode))
