"""A small async DNS lookup for the mail check: TXT, MX, A/AAAA, every question to the configured resolver.

The questions go through an `Asker`: the shared `ResolverClient` of `checks/shared/dnsquery.py` (one UDP socket
per run) fits as is, and the Check that wires this (or a test) hands one in. Every question counts against a
per-run budget: a hostile SPF chain cannot make one run ask thousands of questions.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from checks.mail.models import PolicyRecordFacts, Problem
from checks.mail.reuse import Reuse

DEFAULT_BUDGET = 60  # questions per run: SPF (at most ~30 with void checks), DMARC 2, MX 1, A/AAAA 2, TLS-RPT, STS


_VALUE: dict[dns.rdatatype.RdataType, Callable[[Any], str]] = {
    dns.rdatatype.TXT: lambda rdata: b"".join(rdata.strings).decode("utf-8", "replace"),
    dns.rdatatype.MX: lambda rdata: f"{rdata.preference} {rdata.exchange.to_text()}",
    dns.rdatatype.A: lambda rdata: str(rdata.address),
    dns.rdatatype.AAAA: lambda rdata: str(rdata.address),
}


def _negative_ttl(reply: dns.message.Message) -> float:
    """RFC 2308 §5: a negative answer lives as long as the SOA's TTL and its minimum allow; 0 without an SOA."""
    for rrset in reply.authority:
        if rrset.rdtype == dns.rdatatype.SOA:
            return float(min(rrset.ttl, *(rdata.minimum for rdata in rrset)))
    return 0.0


class Asker(Protocol):
    """What `checks.shared.dnsquery.ResolverClient` offers."""

    async def ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, cd: bool) -> dns.message.Message: ...


class LookupFailed(Exception):
    """No usable answer (SERVFAIL, time-out, budget spent): a temporary error, never "no record"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BudgetExceeded(LookupFailed):
    """The run asked more questions than its budget allows."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One question's answer: `nxdomain`, `nodata` (the name exists, no such records) or `ok` with `values`."""

    status: Literal["ok", "nodata", "nxdomain"]
    values: tuple[str, ...] = ()

    @property
    def void(self) -> bool:
        """RFC 7208 §4.6.4: a void lookup is NXDOMAIN or NOERROR with no answer."""
        return self.status != "ok"


class DnsLookup:
    """The questions one run asks, counted: `queries` so far, at most `budget`.

    With `shared` (the check's `Reuse` store) and `source` (which resolver answers), an answer another run got
    moments ago from the same resolver serves this one too, for no longer than its TTL and `reuse_s`: the SPF
    include a provider gives fifty municipalities, an MX host's address. It still counts against the budget.
    """

    def __init__(
        self,
        asker: Asker,
        budget: int = DEFAULT_BUDGET,
        shared: Reuse[tuple[Answer, float]] | None = None,
        source: Hashable = None,
        reuse_s: float = 0.0,
    ) -> None:
        self.asker = asker
        self.budget = budget
        self.queries = 0
        self.shared = shared
        self.source = source
        self.reuse_s = reuse_s

    async def _answer(self, name: str, rdtype: dns.rdatatype.RdataType) -> Answer:
        if self.queries >= self.budget:
            raise BudgetExceeded(f"query budget of {self.budget} questions spent")
        self.queries += 1
        if self.shared is None or self.reuse_s <= 0:
            return (await self._fetch(name, rdtype))[0]
        key = (self.source, name.lower().rstrip("."), rdtype)
        answer, _ = await self.shared.get(key, self.reuse_s, lambda: self._fetch(name, rdtype), lambda got: got[1])
        return answer

    async def _fetch(self, name: str, rdtype: dns.rdatatype.RdataType) -> tuple[Answer, float]:
        """The answer and how long it may be reused (its TTL; 0 when it names none)."""
        try:
            qname = dns.name.from_text(name)
        except (dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel) as err:
            raise LookupFailed(f"not a DNS name: {type(err).__name__}") from None
        try:
            reply = await self.asker.ask(qname, rdtype, cd=False)
        except (RuntimeError, TypeError, AttributeError, AssertionError):
            raise  # a bug on our side, not an answer
        except Exception as err:  # QueryFailed of the client, or the client's own kinds: a temporary error
            raise LookupFailed(str(err) or type(err).__name__) from None
        rcode = reply.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return Answer("nxdomain"), _negative_ttl(reply)
        if rcode != dns.rcode.NOERROR:
            raise LookupFailed(f"{name} {dns.rdatatype.to_text(rdtype)}: {dns.rcode.to_text(rcode)}")
        rrsets = [rrset for rrset in reply.answer if rrset.rdtype == rdtype]
        values = tuple(_VALUE[rdtype](rdata) for rrset in rrsets for rdata in rrset)
        if not values:
            return Answer("nodata"), _negative_ttl(reply)
        return Answer("ok", values), float(min(rrset.ttl for rrset in rrsets))

    async def txt(self, name: str) -> Answer:
        """The TXT records at `name`, each record's strings joined (RFC 7208 §3.3), undecodable bytes replaced."""
        return await self._answer(name, dns.rdatatype.TXT)

    async def mx(self, name: str) -> Answer:
        """The MX records at `name` as "preference exchange" (exchange absolute, "." for a null MX)."""
        return await self._answer(name, dns.rdatatype.MX)

    async def addresses(self, name: str, rdtype: Literal["A", "AAAA"]) -> Answer:
        return await self._answer(name, dns.rdatatype.A if rdtype == "A" else dns.rdatatype.AAAA)

    async def a_or_aaaa(self, name: str) -> Answer:
        """A and AAAA together: `ok` when either has addresses, else the A answer's status."""
        first = await self.addresses(name, "A")
        second = await self.addresses(name, "AAAA")
        if first.status == "ok" or second.status == "ok":
            return Answer("ok", first.values + second.values)
        return first


async def policy_record(
    name: str, lookup: DnsLookup, is_policy: Callable[[str], bool], several: str
) -> PolicyRecordFacts:
    """The one TXT record at `name` that `is_policy` recognises; `several` explains why two or more are no policy.
    The caller parses `record` when it is set."""
    try:
        answer = await lookup.txt(name)
    except LookupFailed as err:
        return PolicyRecordFacts(status="unknown", error=err.reason)
    found = tuple(text for text in answer.values if is_policy(text))
    if not found:
        return PolicyRecordFacts(status="missing")
    if len(found) > 1:
        return PolicyRecordFacts(
            status="found", records=found, problems=(Problem(kind="records", detail=f"{len(found)} {several}"),)
        )
    return PolicyRecordFacts(status="found", records=found, record=found[0])
