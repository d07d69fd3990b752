"""Judging a whole mail run: the DNS policy (`evaluate`), the MTA-STS policy file, and each MX's transport. Pure.

One observation per key: a finding is identified by (domain, key), so a key that applies to several MX hosts is
one observation whose `mx` names them all ("mx1.example.org, mx2.example.org") and whose `servers` lists each with
its evidence. A domain that receives no mail (null MX) gets no transport observation at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from checks.base import FindingSpec
from checks.mail import findings as policy_findings
from checks.mail import transport_findings as t
from checks.mail.dane import DANE_EE, match_tlsa
from checks.mail.details import MailDetails, MtaStsFetch, MxProbe
from checks.mail.evaluate import evaluate_dmarc, evaluate_mta_sts, evaluate_spf, evaluate_tlsrpt
from checks.mail.evaluate import untested as policy_untested
from checks.mail.models import MtaStsTxtFacts
from checks.mail.mtasts import policy_covers
from checks.mail.transport_models import StarttlsFailure
from monitor.models import Observation, Severity

# an MX that answered, but without a usable STARTTLS: mail to it travels in clear text
NO_STARTTLS: tuple[StarttlsFailure, ...] = ("not_offered", "starttls_rejected", "ehlo_rejected", "handshake")
# an MX that could not be asked: nothing is known about its STARTTLS
NO_ANSWER: tuple[StarttlsFailure, ...] = ("connect", "timeout", "closed", "protocol", "greeting_rejected")
MX_KEYS = ("mail.starttls.*", "mail.dane.*", "mail.mx.*")


def evaluate_mail(details: MailDetails) -> list[Observation]:
    policy = details.policy
    out = evaluate_spf(policy.spf) + evaluate_dmarc(policy.dmarc)
    if policy.mx.status not in ("mx", "none"):
        return out  # a null MX receives no mail; an unknown MX set is untested
    out += evaluate_tlsrpt(policy.tlsrpt, details.domain)
    # matching TLSA records parses the served chains: once per MX, for every rule that asks
    authenticated = {probe.mx for probe in details.mx if dane_authenticated(probe)}
    out += _mta_sts(policy.mta_sts, details.mta_sts, details.mx, details.domain, authenticated)
    out += _transport(details.mx, authenticated)
    return out


def untested(details: MailDetails) -> tuple[str, ...]:
    keys = list(policy_untested(details.policy))
    if details.policy.mx.status == "unknown":
        keys += MX_KEYS
    for probe in details.mx:
        if probe.lookup_error:
            keys += MX_KEYS
        if probe.tlsa is not None and probe.tlsa.error is not None:
            keys.append("mail.dane.*")
        if probe.starttls is not None and probe.starttls.failure in NO_ANSWER:
            keys += ("mail.starttls.*", "mail.dane.mismatch")
    fetch = details.mta_sts
    if fetch is not None and fetch.status == "not_fetched" and fetch.reach == "unresolved":
        keys.append("mail.mta_sts.*")  # the policy host's address could not be asked
    return tuple(dict.fromkeys(keys))


def dane_authenticated(probe: MxProbe) -> bool:
    """RFC 7672: a DNSSEC-secure TLSA record matches the chain the MX served (DANE-TA also needs the name)."""
    tlsa, starttls = probe.tlsa, probe.starttls
    if tlsa is None or not tlsa.secure or not tlsa.records or starttls is None or not starttls.upgraded:
        return False
    verdict = match_tlsa(tlsa.records, starttls.chain_der())
    record = verdict.matched_record
    return record is not None and (record.usage == DANE_EE or starttls.name_matches)


def _mta_sts(
    txt: MtaStsTxtFacts,
    fetch: MtaStsFetch | None,
    probes: Sequence[MxProbe],
    domain: str,
    authenticated: set[str],
) -> list[Observation]:
    if txt.status != "found" or txt.problems:
        from_txt = evaluate_mta_sts(txt, domain)
        contacted = [probe for probe in probes if probe.contacted]
        if txt.status == "missing" and contacted and all(p.mx in authenticated for p in contacted):
            # DANE already stops the downgrade MTA-STS would stop (RFC 8461 §2): a note, not a gap
            return [dataclasses.replace(o, severity=Severity.INFO) for o in from_txt]
        return from_txt
    if fetch is None or fetch.status == "not_fetched":
        return []
    evidence: dict[str, Any] = {"domain": domain, "url": fetch.url}
    if fetch.status == "failed":
        return [policy_findings.MTA_STS_INVALID.observe({**evidence, "part": "fetch", "why": fetch.reason})]
    problem = fetch.certificate_problem
    if problem:
        return [policy_findings.MTA_STS_INVALID.observe({**evidence, "part": "certificate", "why": problem})]
    policy = fetch.policy
    if policy is None or policy.problems:
        problems = [{"kind": p.kind, "detail": p.detail} for p in policy.problems] if policy else []
        why = problems[0]["detail"] if problems else "the policy does not parse"
        detail = {**evidence, "part": "policy", "why": why, "problems": problems}
        return [policy_findings.MTA_STS_INVALID.observe(detail)]
    if not fetch.content_type.lower().startswith("text/plain"):
        why = f"served as {fetch.content_type or 'no media type'}, not text/plain (RFC 8461 §3.2)"
        return [policy_findings.MTA_STS_INVALID.observe({**evidence, "part": "policy", "why": why})]
    if policy.mode == "none":
        return [policy_findings.MTA_STS_MISSING.observe({**evidence, "mode": "none"})]
    out: list[Observation] = []
    if policy.mode == "testing":
        out.append(policy_findings.MTA_STS_TESTING.observe({**evidence, "mode": "testing"}))
    uncovered = [probe for probe in probes if probe.preference is not None and not policy_covers(policy, probe.mx)]
    if uncovered:
        severity = Severity.HIGH if policy.mode == "enforce" else None
        patterns = {"mode": policy.mode, "patterns": list(policy.mx)}
        out.append(_per_mx(policy_findings.MTA_STS_MX_MISMATCH, uncovered, {**evidence, **patterns}, severity))
    return out


def _transport(probes: Sequence[MxProbe], authenticated: set[str]) -> list[Observation]:
    def affected(test: Callable[[MxProbe], bool]) -> list[MxProbe]:
        return [probe for probe in probes if test(probe)]

    def failure(probe: MxProbe) -> StarttlsFailure | None:
        return probe.starttls.failure if probe.starttls is not None else None

    def untrusted(probe: MxProbe) -> bool:
        s = probe.starttls
        return bool(s and s.upgraded and not (s.trusted and s.name_matches and not s.expired))

    def tlsa_records(probe: MxProbe, secure: bool) -> bool:
        return bool(probe.tlsa and probe.tlsa.error is None and probe.tlsa.records and probe.tlsa.secure == secure)

    def mismatch(probe: MxProbe) -> bool:
        s = probe.starttls
        return tlsa_records(probe, True) and bool(s and s.upgraded) and probe.mx not in authenticated

    def no_tlsa(probe: MxProbe) -> bool:
        tlsa = probe.tlsa
        own = probe.reach in ("in_scope", "asked")  # a provider's zone is not the agency's to sign
        return bool(own and tlsa and tlsa.error is None and tlsa.secure and not tlsa.records)

    rules: list[tuple[FindingSpec, Callable[[MxProbe], bool]]] = [
        (t.STARTTLS_MISSING, lambda p: failure(p) in NO_STARTTLS),
        (t.STARTTLS_UNTRUSTED, lambda p: untrusted(p) and p.mx not in authenticated),
        (t.DANE_UNSIGNED, lambda p: tlsa_records(p, False)),
        (t.DANE_MISMATCH, mismatch),
        (t.DANE_MISSING, no_tlsa),
        (t.MX_UNREACHABLE, lambda p: failure(p) in NO_ANSWER or (p.reach == "unresolved" and not p.lookup_error)),
        (t.MX_THIRD_PARTY, lambda p: p.reach in ("third_party", "out_of_scope")),
    ]
    return [_per_mx(spec, hosts, {}) for spec, test in rules if (hosts := affected(test))]


def _per_mx(
    spec: FindingSpec, probes: Sequence[MxProbe], evidence: dict[str, Any], severity: Severity | None = None
) -> Observation:
    detail = {**evidence, "mx": ", ".join(probe.mx for probe in probes), "servers": [_server(p) for p in probes]}
    return spec.observe(detail, severity=severity)


def _server(probe: MxProbe) -> dict[str, Any]:
    """One MX's evidence: where it is, and what it answered (server text is data, already cut short)."""
    server: dict[str, Any] = {"mx": probe.mx, "addresses": list(probe.addresses)}
    if probe.reach not in ("in_scope", "asked"):
        server["reach"] = probe.reach
    if probe.reach_reason:
        server["reach_reason"] = probe.reach_reason
    s = probe.starttls
    if s is not None:
        server["address"] = s.address
        if s.reason:
            server["reason"] = s.reason
        if s.upgraded and not s.trusted:
            server["trust_reason"] = s.trust_reason or "no path to a trusted root"
        if s.upgraded and not s.name_matches:
            server["name_matches"] = False
        if s.expired:
            server["expired"] = True
    tlsa = probe.tlsa
    if tlsa is not None and tlsa.records:
        server["tlsa"] = [record.text() for record in tlsa.records]
    return server
