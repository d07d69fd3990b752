"""The transport half of a mail run: each MX resolved, admitted by the scope rule, probed once (STARTTLS) and its
TLSA set asked; the MTA-STS policy fetched. MX hosts and the policy are handled concurrently, each under its own
deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from checks.mail.dane import fetch_tlsa
from checks.mail.details import CONTACTED, MailConfig, MtaStsFetch, MxProbe
from checks.mail.lookup import DnsLookup, LookupFailed
from checks.mail.models import MailPolicyFacts, MxHost
from checks.mail.reach import reach
from checks.mail.reuse import Reuse
from checks.mail.smtp import probe_starttls
from checks.mail.stsfetch import fetch_policy, policy_url
from checks.mail.transport_models import StarttlsFacts, TlsaFacts
from monitor.models import ScopeRule


@dataclass(frozen=True, slots=True)
class Reachable:
    """What decides where the run may connect, and how it judges what it finds there."""

    scope: ScopeRule | None  # None: a one-off scan
    providers: Sequence[str]
    resolver: tuple[str, int]  # the validating resolver asked for TLSA (its AD bit is the DANE verdict)
    cfg: MailConfig
    executor: Executor | None
    # MX probes and TLSA answers shared by the domains that use the same MX (checks/mail/reuse.py)
    starttls_reuse: Reuse[StarttlsFacts] = field(default_factory=Reuse)
    tlsa_reuse: Reuse[TlsaFacts] = field(default_factory=Reuse)


def mx_hosts(policy: MailPolicyFacts) -> list[MxHost | None]:
    """The MX hosts to probe, lowest preference first; `None` stands for the implicit MX (the domain itself, RFC
    5321 §5.1); empty for a null MX or an MX set that could not be asked."""
    if policy.mx.status == "mx":
        return list(policy.mx.hosts)
    if policy.mx.status == "none" and policy.mx.fallback:
        return [None]
    return []


async def probe_mx_hosts(policy: MailPolicyFacts, lookup: DnsLookup, where: Reachable) -> tuple[MxProbe, ...]:
    hosts = mx_hosts(policy)
    probed = hosts[: where.cfg.max_mx]
    skipped = [
        MxProbe(
            mx=host.host,
            preference=host.preference,
            reach="over_limit",
            reach_reason=f"beyond max_mx {where.cfg.max_mx}",
        )
        for host in hosts[where.cfg.max_mx :]
        if host is not None
    ]
    done = await asyncio.gather(*(_one_mx(host, policy, lookup, where) for host in probed))
    return (*done, *skipped)


async def _one_mx(host: MxHost | None, policy: MailPolicyFacts, lookup: DnsLookup, where: Reachable) -> MxProbe:
    if host is None:
        name, preference, addresses = policy.domain, None, tuple(policy.mx.fallback)
    else:
        name, preference = host.host, host.preference
        try:
            addresses = (await lookup.a_or_aaaa(name)).values
        except LookupFailed as err:
            return MxProbe(mx=name, preference=preference, reach="unresolved", lookup_error=err.reason)
    verdict, reason = reach(name, addresses, where.scope, where.providers)
    ttl = where.cfg.probe_reuse_s
    tlsa_task = asyncio.create_task(
        where.tlsa_reuse.get(
            (name, where.resolver), ttl, lambda: fetch_tlsa(name, where.resolver, where.cfg.query_timeout_s)
        )
    )
    starttls = None
    if verdict in CONTACTED:
        key = (name, tuple(addresses), where.cfg.ca_file)
        starttls = await where.starttls_reuse.get(key, ttl, lambda: _starttls(name, addresses, where))
    return MxProbe(
        mx=name,
        preference=preference,
        addresses=addresses,
        reach=verdict,
        reach_reason=reason,
        starttls=starttls,
        tlsa=await tlsa_task,
    )


async def _starttls(name: str, addresses: Sequence[str], where: Reachable) -> StarttlsFacts:
    """One SMTP dialogue with the MX: the first address that accepts the connection; all within one deadline."""
    ends = asyncio.get_running_loop().time() + where.cfg.mx_deadline_s
    facts: StarttlsFacts | None = None
    for address in addresses:
        left = ends - asyncio.get_running_loop().time()
        if left <= 0:
            break
        facts = await probe_starttls(address, name, deadline_s=left, ca_file=where.cfg.ca_file, executor=where.executor)
        if facts.failure != "connect":
            return facts
    assert facts is not None  # a contacted MX has at least one address
    return facts


async def fetch_sts_policy(policy: MailPolicyFacts, lookup: DnsLookup, where: Reachable) -> MtaStsFetch | None:
    """The policy file, when the TXT record says there is one (RFC 8461 §3.3); None when there is nothing to
    fetch (no or a broken TXT record, a domain that receives no mail)."""
    if policy.mx.status not in ("mx", "none") or not policy.mta_sts.record or policy.mta_sts.problems:
        return None
    host, url = policy_url(policy.domain)
    try:
        addresses = (await lookup.a_or_aaaa(host)).values
    except LookupFailed as err:
        return MtaStsFetch(url=url, host=host, reach="unresolved", status="not_fetched", reason=err.reason)
    verdict, reason = reach(host, addresses, where.scope)
    if verdict not in CONTACTED:
        status = "failed" if verdict == "unresolved" else "not_fetched"  # §3.3: a TXT without a policy host
        shown = addresses[0] if addresses else ""
        return MtaStsFetch(url=url, host=host, address=shown, reach=verdict, status=status, reason=reason)
    return await fetch_policy(
        host,
        addresses[0],
        verdict,
        deadline_s=where.cfg.policy_deadline_s,
        ca_file=where.cfg.ca_file,
        executor=where.executor,
    )
