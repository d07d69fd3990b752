"""The DNSSEC check of a domain: the resolver's verdict and the check's own diagnosis of the zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar

import dns.exception
import dns.name

from checks.base import (
    Check,
    CheckContext,
    CheckMisconfigured,
    MetricFamily,
    MetricSample,
    TargetUnreachable,
)
from checks.dnssec.evaluate import evaluate, untested_keys
from checks.dnssec.findings import FINDINGS
from checks.dnssec.models import DnssecConfig, DnssecDetails
from checks.dnssec.survey import ResolverOutage, survey
from checks.shared.dnsquery import QueryFailed, ResolverClient, configured_resolvers
from monitor.models import Observation, Target

SECURE = "posture_dnssec_secure"
EXPIRY = "posture_dnssec_signature_expiry_timestamp_seconds"


class DnssecCheck(Check[DnssecConfig, DnssecDetails]):
    name: ClassVar[str] = "dnssec"
    description: ClassVar[str] = (
        "DNSSEC of a domain: the validating resolver's verdict (secure, insecure, bogus) and the zone's DS, keys, "
        "signature times and algorithms"
    )
    finding_prefix: ClassVar[str | None] = "dns.dnssec"
    asset_kind = "domain"
    config_model = DnssecConfig
    details_model = DnssecDetails
    findings = FINDINGS
    metric_families = (
        MetricFamily(SECURE, "1 when the validating resolver answered for the domain with the AD bit, 0 when not"),
        MetricFamily(
            EXPIRY, "earliest end of validity of the signatures over the zone's SOA, NS, DNSKEY and apex sets"
        ),
    )

    async def run(self, target: Target, cfg: DnssecConfig, ctx: CheckContext) -> DnssecDetails:
        if target.kind != "domain":
            raise CheckMisconfigured(f"the dnssec check runs on domains, not on the endpoint {target.display}")
        zone = _zone(target.host)
        reasons: list[str] = []
        for address, port in configured_resolvers(ctx.resources):
            try:
                async with ResolverClient(address, port, cfg.query_timeout_s) as client:
                    return await survey(zone, client)
            except (ResolverOutage, QueryFailed) as outage:
                reasons.append(str(outage))
        raise TargetUnreachable("; ".join(reasons))

    def evaluate(self, details: DnssecDetails, cfg: DnssecConfig, ctx: CheckContext) -> list[Observation]:
        return evaluate(details, cfg, ctx.now)

    def untested(self, details: DnssecDetails) -> tuple[str, ...]:
        return untested_keys(details)

    def metrics(self, details: DnssecDetails, now: datetime) -> Iterable[MetricSample]:
        yield MetricSample(SECURE, (), 1.0 if details.verdict == "secure" else 0.0)
        earliest = details.earliest_expiration()
        if earliest is not None:
            yield MetricSample(EXPIRY, (), earliest[1].timestamp())


def _zone(host: str) -> dns.name.Name:
    try:
        return dns.name.from_text(host.strip().rstrip(".") + ".")
    except dns.exception.DNSException as err:
        raise CheckMisconfigured(f"{host!r} is no domain name: {err}") from None
