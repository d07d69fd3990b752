"""What one run asks the resolver, and how the answers become the facts (`DnssecDetails`).

Round 1, all at once (8 questions): the zone's DNSKEY, SOA, NS, A, AAAA and MX with DO and without CD (the
resolver's verdict: AD bit, plain answer, or SERVFAIL; and, when it validates, the data with its signatures), DS with
CD (the parent's records, whatever their state) and NSEC3PARAM with CD (NSEC3 parameters, or the apex NSEC of a
negative answer).
Round 2, only for a bogus zone: the sets that failed, again with CD, for the diagnosis. A set that fails with CD too
is the zone's name servers failing, not validation.
Round 3, only for an insecure answer: the SOA of the parent zone, then of each zone above it, until one answer
carries the AD bit. That proves the resolver validates; when none does up to the root, the resolver does not
validate and the run is our misconfiguration, never a wave of `unsigned` findings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from checks.base import CheckMisconfigured, TargetUnreachable
from checks.dnssec import facts
from checks.dnssec.models import EDE_TEXT_MAX, DnssecDetails, EdeFact, SignatureFact, Unanswered, Verdict
from checks.shared.dnsquery import QueryFailed, ResolverClient

T = dns.rdatatype
DATA = (T.DNSKEY, T.SOA, T.NS, T.A, T.AAAA, T.MX)  # in this order ties between equally specific EDEs are broken
ROUND_ONE = (*((rdtype, False) for rdtype in DATA), (T.DS, True), (T.NSEC3PARAM, True))
QUESTIONS_PER_SECURE_RUN = len(ROUND_ONE)
# EDE codes that name a DNSSEC cause; 6 (DNSSEC Bogus) is the generic one, 0 (Other) says least
_DNSSEC_EDE = frozenset({1, 2, 5, 7, 8, 9, 10, 11, 12, 25, 27})


class ResolverOutage(Exception):
    """The resolver itself did not serve the run: nothing listening, REFUSED, or no answer at all."""


async def _attempt(question: Awaitable[dns.message.Message]) -> dns.message.Message | QueryFailed:
    try:
        return await question
    except QueryFailed as failure:
        return failure


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True) or "."


async def survey(zone: dns.name.Name, client: ResolverClient) -> DnssecDetails:
    """Ask `client` about `zone` and return the facts. Raises ResolverOutage, TargetUnreachable, CheckMisconfigured."""
    outcomes = await asyncio.gather(*(_attempt(client.ask(zone, t, cd=cd)) for t, cd in ROUND_ONE))
    first = dict(zip(ROUND_ONE, outcomes, strict=True))
    _raise_on_outage(list(outcomes))
    verdict_replies = {t: first[(t, False)] for t in DATA}
    _raise_if_missing(zone, verdict_replies[T.SOA])

    failed = [t for t, reply in verdict_replies.items() if _rcode(reply) == dns.rcode.SERVFAIL]
    retried = await asyncio.gather(*(_attempt(client.ask(zone, t, cd=True)) for t in failed))
    retries = dict(zip(failed, retried, strict=True))
    if T.SOA in retries:
        _raise_if_missing(zone, retries[T.SOA])
        if _rcode(retries[T.SOA]) == dns.rcode.SERVFAIL:
            ede = _most_specific(list(verdict_replies.values()))
            said = f" (EDE {ede.code}: {ede.text})" if ede else ""
            raise TargetUnreachable(
                f"the name servers of {_text(zone)} do not answer: resolver {client.name} returns SERVFAIL "
                f"also with checking disabled{said}"
            )

    data: dict[dns.rdatatype.RdataType, dns.message.Message] = {}
    unanswered: list[Unanswered] = []
    bogus_sets: list[str] = []
    for t, reply in verdict_replies.items():
        if t in retries:
            reply = retries[t]
            if isinstance(reply, dns.message.Message) and reply.rcode() != dns.rcode.SERVFAIL:
                bogus_sets.append(T.to_text(t))
            elif isinstance(reply, dns.message.Message):
                reply = QueryFailed("network", "SERVFAIL also with checking disabled")
        if isinstance(reply, QueryFailed):
            unanswered.append(Unanswered(question=T.to_text(t), reason=reply.reason))
        else:
            data[t] = reply
    if not data:  # a verdict needs at least one of the zone's own sets; the DS alone says nothing of the zone
        reasons = "; ".join(sorted({entry.reason for entry in unanswered}))
        raise TargetUnreachable(f"no answer for the records of {_text(zone)}: {reasons}")
    if T.SOA in data:
        _raise_if_not_apex(zone, data[T.SOA])

    verdict: Verdict
    if bogus_sets:
        verdict = "bogus"
    elif any(reply.flags & dns.flags.AD for reply in data.values()):
        verdict = "secure"
    else:
        verdict = "insecure"

    ds_reply = _usable(first[(T.DS, True)], "DS", unanswered)
    parent = facts.parent_zone(ds_reply, zone) if ds_reply is not None else None
    ancestor = await _validating_ancestor(zone, parent, client) if verdict == "insecure" else None
    denial_reply = _usable(first[(T.NSEC3PARAM, True)], "NSEC3PARAM", unanswered)

    key_reply = data.get(T.DNSKEY)
    key_set = facts.rrset(key_reply, zone, T.DNSKEY) if key_reply is not None else None
    keys = facts.dnskeys(key_set)
    key_sigs = facts.signatures_over(key_reply, zone, T.DNSKEY) if key_reply is not None else []
    signatures: list[SignatureFact] = []
    unsigned_sets: list[str] = []
    present = {}
    for t, reply in data.items():
        found = facts.rrset(reply, zone, t)
        if found is None:
            continue
        sigs = facts.signatures_over(reply, zone, t)
        present[t] = (found, sigs)
        signatures += facts.signature_facts(t, sigs)
        if keys and not sigs:
            unsigned_sets.append(T.to_text(t))
    if verdict == "bogus":
        crypto = facts.crypto_verdicts(zone, present, key_set)
        signatures = [
            sig.model_copy(update={"crypto": crypto.get((sig.rrtype, sig.key_tag, sig.algorithm))})
            for sig in signatures
        ]

    return DnssecDetails(
        domain=_text(zone),
        resolver=client.name,
        verdict=verdict,
        bogus_sets=tuple(bogus_sets),
        ede=_most_specific(list(verdict_replies.values())),
        parent=_text(parent) if parent is not None else None,
        ds=tuple(facts.ds_facts(zone, facts.rrset(ds_reply, zone, T.DS), keys) if ds_reply is not None else ()),
        dnskeys=tuple(facts.dnskey_facts(keys, key_sigs)),
        signatures=tuple(signatures),
        unsigned_sets=tuple(unsigned_sets),
        denial=facts.denial_fact(denial_reply, zone) if denial_reply is not None else None,
        validating_ancestor=_text(ancestor) if ancestor is not None else None,
        unanswered=tuple(unanswered),
    )


def _rcode(reply: dns.message.Message | QueryFailed) -> dns.rcode.Rcode | None:
    return reply.rcode() if isinstance(reply, dns.message.Message) else None


def _raise_on_outage(outcomes: list[dns.message.Message | QueryFailed]) -> None:
    failures = [outcome for outcome in outcomes if isinstance(outcome, QueryFailed)]
    for kind in ("rcode_refused", "refused"):
        for failure in failures:
            if failure.kind == kind:
                raise ResolverOutage(failure.reason)
    if failures and len(failures) == len(outcomes):
        raise ResolverOutage(failures[0].reason)


def _raise_if_missing(zone: dns.name.Name, reply: dns.message.Message | QueryFailed) -> None:
    if _rcode(reply) == dns.rcode.NXDOMAIN:
        raise TargetUnreachable(f"the domain {_text(zone)} does not exist (NXDOMAIN)")


def _raise_if_not_apex(zone: dns.name.Name, reply: dns.message.Message) -> None:
    if reply.rcode() != dns.rcode.NOERROR or facts.rrset(reply, zone, T.SOA) is not None:
        return
    owner = next((section.name for section in reply.authority if section.rdtype == T.SOA), None)
    where = f" (it lies in the zone {_text(owner)})" if owner is not None else ""
    raise CheckMisconfigured(f"{_text(zone)} is not a zone apex{where}: the dnssec check judges zones")


def _usable(
    reply: dns.message.Message | QueryFailed, question: str, unanswered: list[Unanswered]
) -> dns.message.Message | None:
    if isinstance(reply, QueryFailed):
        unanswered.append(Unanswered(question=question, reason=reply.reason))
        return None
    if reply.rcode() == dns.rcode.SERVFAIL:
        unanswered.append(Unanswered(question=question, reason="SERVFAIL also with checking disabled"))
        return None
    return reply


async def _validating_ancestor(
    zone: dns.name.Name, parent: dns.name.Name | None, client: ResolverClient
) -> dns.name.Name:
    """The closest zone above `zone` whose SOA answer carries the AD bit; CheckMisconfigured when none does."""
    if zone == dns.name.root:
        raise CheckMisconfigured("the root zone is no domain to check")
    name = parent if parent is not None and zone.is_subdomain(parent) and parent != zone else zone.parent()
    while True:
        reply = await _attempt(client.ask(name, T.SOA, cd=False))
        if isinstance(reply, dns.message.Message) and reply.flags & dns.flags.AD:
            return name
        if name == dns.name.root:
            raise CheckMisconfigured(
                f"resolver {client.name} does not validate DNSSEC: no answer carried the AD bit, neither for "
                f"{_text(zone)} nor for any zone above it up to the root"
            )
        name = name.parent()


def _most_specific(replies: list[dns.message.Message | QueryFailed]) -> EdeFact | None:
    best: tuple[int, EdeFact] | None = None
    for reply in replies:
        if not isinstance(reply, dns.message.Message):
            continue
        for option in reply.extended_errors():
            rank = 3 if option.code in _DNSSEC_EDE else 1 if option.code == 6 else 0 if option.code == 0 else 2
            if best is None or rank > best[0]:
                best = (rank, EdeFact(code=int(option.code), text=_printable(option.text or "")))
    return best[1] if best else None


def _printable(text: str) -> str:
    """The resolver's text as data: control characters replaced, at most EDE_TEXT_MAX characters."""
    cleaned = "".join(ch if ch.isprintable() else "\ufffd" for ch in text)
    return cleaned if len(cleaned) <= EDE_TEXT_MAX else cleaned[: EDE_TEXT_MAX - 1] + "…"
