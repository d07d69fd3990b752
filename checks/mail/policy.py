"""The DNS-policy facts of one domain in one call: MX (with null MX and the A/AAAA fallback), SPF, DMARC, TLS-RPT,
MTA-STS TXT. Every question goes through one `DnsLookup` (one resolver, one budget)."""

from __future__ import annotations

from checks.mail.dmarc import PublicSuffixList, lookup_dmarc
from checks.mail.lookup import DnsLookup, LookupFailed
from checks.mail.models import MailPolicyFacts, MxFacts, MxHost
from checks.mail.mtasts import lookup_sts_txt
from checks.mail.spf import lookup_spf
from checks.mail.tlsrpt import lookup_tlsrpt


async def lookup_mx(domain: str, lookup: DnsLookup) -> MxFacts:
    """The MX set; a null MX (RFC 7505: a single `MX 0 .`); without MX, the domain's own A/AAAA (RFC 5321 §5.1)."""
    domain = domain.rstrip(".")
    try:
        answer = await lookup.mx(domain)
        hosts = []
        for value in answer.values:
            preference, _, exchange = value.partition(" ")
            hosts.append(MxHost(preference=int(preference), host=exchange.rstrip(".")))
        hosts.sort(key=lambda h: (h.preference, h.host))
        if hosts:
            # RFC 7505 §3: a null MX (`MX 0 .`) is the only MX; beside real hosts it is ignored (a misconfiguration);
            # an MX set naming no host at all ("." at any preference) receives no mail either
            real = tuple(h for h in hosts if h.host)
            return MxFacts(status="mx", hosts=real) if real else MxFacts(status="null", hosts=tuple(hosts))
        fallback = await lookup.a_or_aaaa(domain)
    except LookupFailed as err:
        return MxFacts(status="unknown", error=err.reason)
    return MxFacts(status="none", fallback=fallback.values)


async def gather_policy(domain: str, lookup: DnsLookup, psl: PublicSuffixList | None = None) -> MailPolicyFacts:
    """Every DNS-policy fact of `domain`, asked one after another (the SPF walk is sequential anyway)."""
    domain = domain.rstrip(".").lower()
    mx = await lookup_mx(domain, lookup)
    spf = await lookup_spf(domain, lookup)
    dmarc = await lookup_dmarc(domain, lookup, psl)
    tlsrpt = await lookup_tlsrpt(domain, lookup)
    sts = await lookup_sts_txt(domain, lookup)
    return MailPolicyFacts(
        domain=domain, mx=mx, spf=spf, dmarc=dmarc, tlsrpt=tlsrpt, mta_sts=sts, queries=lookup.queries
    )
