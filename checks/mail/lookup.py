"""A small async DNS lookup for the mail check: TXT, MX, A/AAAA, every question to the configured resolver.

The questions go through an `Asker`: the shared `ResolverClient` of `checks/shared/dnsquery.py` (one UDP socket
per run) fits as is, and the Check that wires this (or a test) hands one in. Every question counts against a
per-run budget: a hostile SPF chain cannot make one run ask thousands of questions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from checks.mail.models import PolicyRecordFacts, Problem

DEFAULT_BUDGET = 60  # questions per run: SPF (at most ~30 with void checks), DMARC 2, MX 1, A/AAAA 2, TLS-RPT, STS


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
    """The questions one run asks, counted: `queries` so far, at most `budget`."""

    def __init__(self, asker: Asker, budget: int = DEFAULT_BUDGET) -> None:
        self.asker = asker
        self.budget = budget
        self.queries = 0

    async def _ask(self, name: str, rdtype: dns.rdatatype.RdataType) -> tuple[dns.message.Message, Answer | None]:
        if self.queries >= self.budget:
            raise BudgetExceeded(f"query budget of {self.budget} questions spent")
        self.queries += 1
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
            return reply, Answer("nxdomain")
        if rcode != dns.rcode.NOERROR:
            raise LookupFailed(f"{name} {dns.rdatatype.to_text(rdtype)}: {dns.rcode.to_text(rcode)}")
        return reply, None

    async def txt(self, name: str) -> Answer:
        """The TXT records at `name`, each record's strings joined (RFC 7208 §3.3), undecodable bytes replaced."""
        reply, early = await self._ask(name, dns.rdatatype.TXT)
        if early:
            return early
        values = tuple(
            b"".join(rdata.strings).decode("utf-8", "replace")
            for rrset in reply.answer
            if rrset.rdtype == dns.rdatatype.TXT
            for rdata in rrset
        )
        return Answer("ok", values) if values else Answer("nodata")

    async def mx(self, name: str) -> Answer:
        """The MX records at `name` as "preference exchange" (exchange absolute, "." for a null MX)."""
        reply, early = await self._ask(name, dns.rdatatype.MX)
        if early:
            return early
        values = tuple(
            f"{rdata.preference} {rdata.exchange.to_text()}"
            for rrset in reply.answer
            if rrset.rdtype == dns.rdatatype.MX
            for rdata in rrset
        )
        return Answer("ok", values) if values else Answer("nodata")

    async def addresses(self, name: str, rdtype: Literal["A", "AAAA"]) -> Answer:
        wanted = dns.rdatatype.A if rdtype == "A" else dns.rdatatype.AAAA
        reply, early = await self._ask(name, wanted)
        if early:
            return early
        values = tuple(rdata.address for rrset in reply.answer if rrset.rdtype == wanted for rdata in rrset)
        return Answer("ok", values) if values else Answer("nodata")

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
