"""Judging the mail policy facts: pure functions from facts to observations (no I/O, no clock).

A domain with a null MX (RFC 7505) receives no mail: TLS-RPT and MTA-STS are not expected; SPF and DMARC still are,
since forged mail *from* the domain is the point of both. A fact whose questions failed (`unknown`) is not judged:
its keys are `untested`, so an outage never resolves a finding.
"""

from __future__ import annotations

from typing import Any

from checks.mail import findings as f
from checks.mail.models import (
    DmarcFacts,
    MailPolicyFacts,
    MtaStsPolicy,
    MtaStsTxtFacts,
    Problem,
    SpfFacts,
    TlsRptFacts,
)
from checks.mail.spf import LOOKUP_LIMIT
from monitor.models import Observation, Severity

TRANSPORT_KEYS = ("mail.tlsrpt.*", "mail.mta_sts.*")


def _problems(problems: tuple[Problem, ...]) -> list[dict[str, str]]:
    return [{"kind": p.kind, "detail": p.detail} for p in problems]


def evaluate_spf(spf: SpfFacts) -> list[Observation]:
    if spf.status == "missing":
        return [f.SPF_MISSING.observe({"domain": spf.domain})]
    if spf.status != "found":
        return []
    out: list[Observation] = []
    evidence: dict[str, Any] = {"domain": spf.domain, "record": spf.record}
    if spf.problems:
        which = sorted({p.kind for p in spf.problems})
        out.append(f.SPF_INVALID.observe({**evidence, "which": which, "problems": _problems(spf.problems)}))
    if spf.lookups > LOOKUP_LIMIT:
        count = {"count": spf.lookups, "at_least": spf.lookups_capped, "limit": LOOKUP_LIMIT}
        out.append(f.SPF_TOO_MANY_LOOKUPS.observe({**evidence, **count}))
    if spf.problems or spf.lookups_capped:
        return out  # a permerror: the effective `all` is not what receivers act on
    if spf.all_qualifier in ("+", "?"):
        mechanism = f"{spf.all_qualifier}all"
        out.append(f.SPF_PERMISSIVE.observe({**evidence, "mechanism": mechanism, "from": spf.all_from}))
    elif spf.all_qualifier is None and spf.unexpanded == 0:
        redirected = "redirect=" in spf.record.lower()
        mechanism = "no all at the end of the redirect chain" if redirected else "no all and no redirect"
        out.append(f.SPF_PERMISSIVE.observe({**evidence, "mechanism": mechanism}))
    elif spf.all_qualifier == "~":
        out.append(f.SPF_SOFTFAIL.observe({**evidence, "from": spf.all_from}))
    return out


def evaluate_dmarc(dmarc: DmarcFacts) -> list[Observation]:
    if dmarc.status == "missing":
        return [f.DMARC_MISSING.observe({"domain": dmarc.domain, "queried": list(dmarc.queried)})]
    if dmarc.status != "found":
        return []
    evidence: dict[str, Any] = {"domain": dmarc.domain, "found_at": dmarc.found_at, "record": dmarc.record}
    if dmarc.tags is None:
        tag = dmarc.problems[0].kind if dmarc.problems else "syntax"
        return [f.DMARC_INVALID.observe({**evidence, "tag": tag, "problems": _problems(dmarc.problems)})]
    tags = dmarc.tags
    out: list[Observation] = []
    if dmarc.problems:  # an optional tag's bad value: its default applies and so does the policy (§6.3)
        detail = {**evidence, "tag": dmarc.problems[0].kind, "problems": _problems(dmarc.problems)}
        out.append(f.DMARC_INVALID.observe(detail, severity=Severity.LOW))
    # §6.6.3: a record found at the organisational domain applies its `sp` to the subdomain, when there is one
    inherited = dmarc.found_at != dmarc.domain
    policy = (tags.sp or tags.p) if inherited else tags.p
    if policy == "none":
        out.append(f.DMARC_POLICY_NONE.observe({**evidence, "policy": "none", "inherited": inherited}))
    if tags.pct < 100:
        out.append(f.DMARC_PARTIAL.observe({**evidence, "pct": tags.pct}))
    if not tags.rua:
        out.append(f.DMARC_NO_RUA.observe(evidence))
    return out


def evaluate_tlsrpt(tlsrpt: TlsRptFacts, domain: str) -> list[Observation]:
    if tlsrpt.status == "missing":
        return [f.TLSRPT_MISSING.observe({"domain": domain})]
    if tlsrpt.status == "found" and tlsrpt.problems:
        which = tlsrpt.problems[0].kind
        detail = {"domain": domain, "record": tlsrpt.record, "which": which, "problems": _problems(tlsrpt.problems)}
        return [f.TLSRPT_INVALID.observe(detail)]
    return []


def evaluate_mta_sts(txt: MtaStsTxtFacts, domain: str, policy: MtaStsPolicy | None = None) -> list[Observation]:
    """The TXT record and, when someone fetched it, the policy file (`policy`)."""
    if txt.status == "missing":
        return [f.MTA_STS_MISSING.observe({"domain": domain})]
    if txt.status != "found":
        return []
    if txt.problems:
        detail = {"domain": domain, "part": "txt", "record": txt.record, "problems": _problems(txt.problems)}
        return [f.MTA_STS_INVALID.observe(detail)]
    if policy is not None and policy.problems:
        return [f.MTA_STS_INVALID.observe({"domain": domain, "part": "policy", "problems": _problems(policy.problems)})]
    return []


def evaluate_policy(facts: MailPolicyFacts, sts_policy: MtaStsPolicy | None = None) -> list[Observation]:
    """Every DNS-policy observation for one domain; transport policies only when the domain receives mail."""
    out = evaluate_spf(facts.spf) + evaluate_dmarc(facts.dmarc)
    if facts.mx.status in ("mx", "none"):
        out += evaluate_tlsrpt(facts.tlsrpt, facts.domain)
        out += evaluate_mta_sts(facts.mta_sts, facts.domain, sts_policy)
    return out


def untested(facts: MailPolicyFacts) -> tuple[str, ...]:
    """Finding keys the facts could not test (a failed question): an earlier finding for them must stay open."""
    keys: list[str] = []
    if facts.spf.status == "unknown":
        keys.append("mail.spf.*")
    if facts.dmarc.status == "unknown":
        keys.append("mail.dmarc.*")
    if facts.mx.status == "unknown":
        keys += TRANSPORT_KEYS
    else:
        if facts.tlsrpt.status == "unknown":
            keys.append("mail.tlsrpt.*")
        if facts.mta_sts.status == "unknown":
            keys.append("mail.mta_sts.*")
    return tuple(keys)
