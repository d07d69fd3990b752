"""The mail check of a domain: SPF, DMARC, TLS-RPT and MTA-STS from DNS; STARTTLS and DANE of each MX it may
contact; the MTA-STS policy file. Every DNS question goes to the configured resolver (POSTURE_DNS_SERVERS, else the
system's), every connection only where the scope rule (`checks.mail.reach`) admits it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

from checks.base import (
    MAIL_PROVIDERS,
    Check,
    CheckContext,
    CheckMisconfigured,
    MetricFamily,
    MetricSample,
    TargetUnreachable,
)
from checks.mail.details import MailConfig, MailDetails
from checks.mail.dmarc import bundled_psl
from checks.mail.findings import POLICY_FINDINGS
from checks.mail.lookup import DEFAULT_BUDGET, Answer, DnsLookup
from checks.mail.policy import gather_policy
from checks.mail.reuse import Reuse
from checks.mail.transport import Reachable, fetch_sts_policy, probe_mx_hosts
from checks.mail.transport_findings import TRANSPORT_FINDINGS
from checks.mail.transport_models import StarttlsFacts, TlsaFacts
from checks.mail.verdict import dane_authenticated, evaluate_mail, untested
from checks.shared.certs import check_ca_file
from checks.shared.dnsquery import QueryFailed, ResolverClient, configured_resolvers
from monitor.models import Observation, Target

SPF = "posture_mail_spf_policy"
DMARC = "posture_mail_dmarc_policy"
RECEIVES = "posture_mail_receives_mail"
STARTTLS = "posture_mail_starttls_coverage_ratio"
MTA_STS = "posture_mail_mta_sts_mode"
DANE = "posture_mail_dane_coverage_ratio"
_SPF_POLICY = {"-": "fail", "~": "softfail", "?": "neutral", "+": "pass"}


class MailCheck(Check[MailConfig, MailDetails]):
    name: ClassVar[str] = "mail"
    description: ClassVar[str] = (
        "Mail security of a domain: SPF, DMARC, TLS-RPT, MTA-STS, and STARTTLS and DANE of each mail server"
    )
    asset_kind = "domain"
    config_model = MailConfig
    details_model = MailDetails
    findings = POLICY_FINDINGS + TRANSPORT_FINDINGS
    metric_families = (
        MetricFamily(
            SPF,
            "1 for the SPF policy the domain's `all` states: fail, softfail, neutral, pass, none "
            "(no all), invalid or missing",
            ("policy",),
        ),
        MetricFamily(
            DMARC, "1 for the DMARC policy that applies: reject, quarantine, none, invalid or missing", ("policy",)
        ),
        MetricFamily(RECEIVES, "0 when the domain publishes a null MX (RFC 7505) and receives no mail, else 1"),
        MetricFamily(STARTTLS, "share of the contacted MX hosts that offer STARTTLS and complete the handshake"),
        MetricFamily(MTA_STS, "1 for the MTA-STS state: enforce, testing, none, invalid or missing", ("mode",)),
        MetricFamily(DANE, "share of the contacted MX hosts a DNSSEC-secure TLSA record authenticates"),
    )

    def __init__(self) -> None:
        self._starttls: Reuse[StarttlsFacts] = Reuse()
        self._tlsa: Reuse[TlsaFacts] = Reuse()
        self._answers: Reuse[tuple[Answer, float]] = Reuse()

    @classmethod
    def check_settings_on_host(cls, cfg: MailConfig) -> None:
        if cfg.ca_file is not None:
            check_ca_file(cfg.ca_file)

    async def run(self, target: Target, cfg: MailConfig, ctx: CheckContext) -> MailDetails:
        if target.kind != "domain":
            raise CheckMisconfigured(f"the mail check runs on domains, not on the endpoint {target.display}")
        domain = target.host.rstrip(".").lower()
        resolver = configured_resolvers(ctx.resources)[0]
        providers = tuple(ctx.resources.get(MAIL_PROVIDERS) or ())
        where = Reachable(target.scope, providers, resolver, cfg, ctx.executor, self._starttls, self._tlsa)
        try:
            async with ResolverClient(resolver[0], resolver[1], cfg.query_timeout_s) as client:
                budget = DEFAULT_BUDGET + 2 * cfg.max_mx + 2
                lookup = DnsLookup(client, budget, self._answers, resolver, cfg.probe_reuse_s)
                policy = await gather_policy(domain, lookup, bundled_psl())
                if policy.mx.status == "unknown" and policy.spf.status == "unknown":
                    raise TargetUnreachable(f"the resolver {resolver[0]} gave no answer: {policy.mx.error}")
                mx, sts = await asyncio.gather(
                    probe_mx_hosts(policy, lookup, where), fetch_sts_policy(policy, lookup, where)
                )
        except QueryFailed as failed:
            raise TargetUnreachable(f"the resolver {resolver[0]}: {failed.reason}") from None
        return MailDetails(domain=domain, policy=policy, mx=mx, mta_sts=sts, queries=lookup.queries)

    def evaluate(self, details: MailDetails, cfg: MailConfig, ctx: CheckContext) -> list[Observation]:
        return evaluate_mail(details)

    def untested(self, details: MailDetails) -> tuple[str, ...]:
        return untested(details)

    def metrics(self, details: MailDetails, now: datetime) -> Iterable[MetricSample]:
        policy = details.policy
        spf = _spf_policy(details)
        if spf:
            yield MetricSample(SPF, (spf,), 1.0)
        dmarc = _dmarc_policy(details)
        if dmarc:
            yield MetricSample(DMARC, (dmarc,), 1.0)
        if policy.mx.status == "unknown":
            return
        yield MetricSample(RECEIVES, (), 0.0 if policy.mx.status == "null" else 1.0)
        if policy.mx.status == "null":
            return
        mode = _mta_sts_mode(details)
        if mode:
            yield MetricSample(MTA_STS, (mode,), 1.0)
        answered = [p for p in details.mx if p.starttls is not None and p.starttls.ehlo_code is not None]
        if answered:
            offered = sum(1 for p in answered if p.starttls is not None and p.starttls.upgraded)
            yield MetricSample(STARTTLS, (), offered / len(answered))
            yield MetricSample(DANE, (), sum(1 for p in answered if dane_authenticated(p)) / len(answered))


def _spf_policy(details: MailDetails) -> str | None:
    spf = details.policy.spf
    if spf.status == "missing":
        return "missing"
    if spf.status != "found":
        return None
    if spf.problems or spf.lookups_capped:
        return "invalid"
    return _SPF_POLICY.get(spf.all_qualifier or "", "none")


def _dmarc_policy(details: MailDetails) -> str | None:
    dmarc = details.policy.dmarc
    if dmarc.status == "missing":
        return "missing"
    if dmarc.status != "found":
        return None
    if dmarc.tags is None:
        return "invalid"
    inherited = dmarc.found_at != dmarc.domain
    return (dmarc.tags.sp or dmarc.tags.p) if inherited else dmarc.tags.p


def _mta_sts_mode(details: MailDetails) -> str | None:
    txt, fetch = details.policy.mta_sts, details.mta_sts
    if txt.status == "missing":
        return "missing"
    if txt.status != "found":
        return None
    if txt.problems:
        return "invalid"
    if fetch is None or fetch.status == "not_fetched":
        return None
    policy = fetch.policy
    if fetch.status == "failed" or fetch.certificate_problem or policy is None or policy.problems:
        return "invalid"
    return policy.mode
