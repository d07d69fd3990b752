"""TlsCheck: sslyze gathers the facts off the event loop, pure functions judge them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import ClassVar, get_args

from checks.base import Check, CheckContext, MetricSample, NameSeen, PeerDetailsUnreadable, read_peer
from checks.shared.certs import check_ca_file
from checks.tls import findings, metrics
from checks.tls.evaluate import evaluate, untested_keys
from checks.tls.grade import grade, weakest_suite
from checks.tls.models import Handshake, ProfileName, TlsConfig, TlsDetails
from checks.tls.probe import quick_handshake
from checks.tls.profiles import judge, requirement_text
from checks.tls.scan import scan
from monitor.models import Observation, Target

FINISH_MARGIN_S = 2.0


class TlsCheck(Check[TlsConfig, TlsDetails]):
    name: ClassVar[str] = "tls"
    description: ClassVar[str] = (
        "TLS certificate, protocols, cipher suites, known TLS flaws, HSTS, BSI TR-02102-2 and Mozilla compliance, "
        "grade; through SMTP STARTTLS on ports 25 and 587"
    )
    config_model = TlsConfig
    details_model = TlsDetails
    findings = findings.ALL
    metric_families = metrics.FAMILIES

    def metrics(self, details: TlsDetails, now: datetime) -> Iterable[MetricSample]:
        return metrics.samples(details, now)

    reads_previous: ClassVar[bool] = True  # quick probes compare with the last full scan

    @classmethod
    def check_settings_on_host(cls, cfg: TlsConfig) -> None:
        if cfg.ca_file is not None:
            check_ca_file(cfg.ca_file)

    async def run(self, target: Target, cfg: TlsConfig, ctx: CheckContext) -> TlsDetails:
        loop = asyncio.get_running_loop()
        deadline = ctx.deadline if ctx.deadline is not None else loop.time() + cfg.timeout_s
        # stop early enough to turn what completed into facts before the runner stops waiting
        stop_at = deadline - min(FINISH_MARGIN_S, 0.2 * max(0.0, deadline - loop.time()))
        probed = await quick_handshake(target, cfg)
        previous = previous_details(ctx)
        if previous is not None and unchanged(previous, probed.handshake, target, cfg, ctx.now):
            return previous  # one handshake, and the server is as it was: the last full scan's facts still hold
        connections = cfg.connections_per_server
        if previous is not None and previous.connection_limit is not None:
            connections = min(connections, previous.connection_limit)  # learnt from this server
        return await scan(target, cfg, ctx.executor, probed, stop_at=stop_at, connections=connections)

    def rejudged(self, details: TlsDetails, cfg: TlsConfig, ctx: CheckContext) -> TlsDetails:
        """The verdicts recorded next to the facts (metrics, UI), derived from the facts and this config: after a
        scan, and when stored facts are judged again (an agency's new profile or HSTS minimum, no scan)."""
        return self.judged(details, cfg, ctx)[0]

    def judged(self, details: TlsDetails, cfg: TlsConfig, ctx: CheckContext) -> tuple[TlsDetails, list[Observation]]:
        compliance = {p: tuple(f.requirement for f in judge(p, details)) for p in get_args(ProfileName)}
        verdicts = details.model_copy(update={"compliance": compliance, "weakest_suite": weakest_suite(details)})
        observations = evaluate(verdicts, cfg, ctx.now)  # the grade is the observations' verdict: evaluated once
        graded = verdicts.model_copy(update={"grade": grade(observations, verdicts, cfg.hsts_min_max_age_s)})
        return graded, observations

    def evaluate(self, details: TlsDetails, cfg: TlsConfig, ctx: CheckContext) -> list[Observation]:
        return evaluate(details, cfg, ctx.now)

    def names_seen(self, details: TlsDetails) -> Sequence[NameSeen]:
        """The DNS names of the served certificate: other hosts of the agency often share it."""
        chain = details.certificate
        if chain is None:
            return ()
        seen_in = {"subject": chain.leaf.subject, "not_after": chain.leaf.not_after.isoformat()}
        return tuple(NameSeen(name, "certs", seen_in) for name in chain.dns_names)

    def untested(self, details: TlsDetails) -> tuple[str, ...]:
        return untested_keys(details)

    @classmethod
    def requirement_text(cls, finding_key: str, requirement: str, language: str) -> str | None:
        area, _, profile = finding_key.rpartition(".")  # tls.compliance.<profile>
        return requirement_text(profile, requirement, language) if area == "tls.compliance" else None


def previous_details(ctx: CheckContext) -> TlsDetails | None:
    """This endpoint's last TLS facts (quick probes, the learnt connection limit); None if absent or unreadable."""
    try:
        return read_peer(ctx, TlsCheck.name, TlsDetails)
    except PeerDetailsUnreadable:
        return None  # stored by an older schema: one full scan at full speed instead


def unchanged(previous: TlsDetails, handshake: Handshake | None, target: Target, cfg: TlsConfig, now: datetime) -> bool:
    """A full scan can be skipped: probes are on, the last full scan is recent and went the same way (STARTTLS or
    not), and the handshake is the same."""
    if not cfg.full_scan_every_s or previous.scanned_at is None or handshake is None or previous.scan_errors:
        return False
    if previous.starttls != cfg.starttls_for(target.port):
        return False
    recent = (now - previous.scanned_at).total_seconds() < cfg.full_scan_every_s
    return recent and previous.handshake == handshake
