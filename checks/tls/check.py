"""TlsCheck: sslyze gathers the facts off the event loop, pure functions judge them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import ClassVar, get_args

from checks.base import Check, CheckContext, MetricSample
from checks.tls import findings, metrics
from checks.tls.evaluate import evaluate
from checks.tls.grade import grade, weakest_suite
from checks.tls.models import ProfileName, TlsConfig, TlsDetails
from checks.tls.profiles import judge
from checks.tls.scan import scan
from monitor.models import Observation, Target


class TlsCheck(Check[TlsConfig, TlsDetails]):
    name: ClassVar[str] = "tls"
    description: ClassVar[str] = (
        "TLS certificate, protocols, cipher suites, known TLS flaws, HSTS, BSI TR-02102-2 and Mozilla compliance, grade"
    )
    config_model = TlsConfig
    details_model = TlsDetails
    findings = findings.ALL
    metric_families = metrics.FAMILIES

    def metrics(self, details: TlsDetails, now: datetime) -> Iterable[MetricSample]:
        return metrics.samples(details, now)

    async def run(self, target: Target, cfg: TlsConfig, ctx: CheckContext) -> TlsDetails:
        details = await scan(target, cfg, ctx.executor)
        # record the verdicts of this moment next to the facts (metrics, UI); evaluate() re-derives them
        compliance = {p: tuple(f.requirement for f in judge(p, details)) for p in get_args(ProfileName)}
        judged = details.model_copy(update={"compliance": compliance, "weakest_suite": weakest_suite(details)})
        observations = evaluate(judged, cfg, ctx.now)
        return judged.model_copy(update={"grade": grade(observations, judged, cfg.hsts_min_max_age_s)})

    def evaluate(self, details: TlsDetails, cfg: TlsConfig, ctx: CheckContext) -> list[Observation]:
        return evaluate(details, cfg, ctx.now)
