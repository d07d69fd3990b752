"""/metrics: a custom Collector over the latest-results snapshot, rendered off the event loop and cached.

State lives in one place (the store): a removed endpoint disappears from /metrics by itself. The core owns
health (success, last run, durations, runs); each check owns its own metric families (Check.metrics).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from checks.base import Check
from monitor.aio import first_of
from monitor.models import CheckResult, CheckStatus, Severity, asset_kind
from monitor.store.availability import Outage
from monitor.store.discovery_store import CANDIDATE_STATES
from monitor.store.snapshot import Snapshot
from monitor.store.store import Store

log = logging.getLogger(__name__)


class RuntimeMetrics:
    """What only this process knows: runs and durations as they happen, the MQTT connection."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs = Counter("posture_check_runs", "Check runs by result status", ["check", "status"], registry=registry)
        self.duration = Histogram(
            "posture_check_duration_seconds",
            "Duration of check runs",
            ["check"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=registry,
        )

    def observe(self, result: CheckResult[Any]) -> None:
        self.runs.labels(result.check, result.status.value).inc()
        self.duration.labels(result.check).observe(result.duration_s)


class ConnectionState(Collector):
    """posture_mqtt_connected, set by the publisher as the connection changes and rendered at every scrape.

    Absent while this process does not publish: without POSTURE_MQTT_URL, in the api role, on a replica that does
    not hold the publisher's lease (None: it stopped publishing).
    """

    def __init__(self) -> None:
        self.connected: bool | None = None

    def set(self, connected: bool | None) -> None:
        self.connected = connected

    def describe(self) -> Iterable[Metric]:
        return []

    def collect(self) -> Iterable[Metric]:
        if self.connected is not None:
            yield GaugeMetricFamily(
                "posture_mqtt_connected", "1 while connected to the MQTT broker", value=int(self.connected)
            )


class SnapshotCollector(Collector):
    def __init__(self, checks: Mapping[str, Check[Any, Any]], seed_dates: Mapping[str, datetime]) -> None:
        self.checks = checks
        self.seed_dates = seed_dates  # the feeds' age while the tables are empty and checks use the bundled seed
        self.snapshot: Snapshot | None = None
        self.findings_of = sorted(name for name, check in checks.items() if type(check).uses_findings)

    def describe(self) -> Iterable[Metric]:
        return []  # families depend on the snapshot; nothing to pre-register

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        if snapshot is None:
            return
        yield from self._inventory(snapshot)
        yield from self._health(snapshot)
        yield from self._check_families(snapshot)
        yield from self._findings(snapshot)

    def _inventory(self, snapshot: Snapshot) -> Iterable[Metric]:
        info = GaugeMetricFamily(
            "posture_endpoint_info",
            "Registered assets: endpoints (host:port) and domains (kind=domain; `endpoint` is the name, `port` empty)",
            labels=["agency", "endpoint", "host", "port", "endpoint_id", "kind"],
        )
        for endpoint in snapshot.endpoints.values():
            # endpoint_id: the web UI's /ui/endpoints/{id} or /ui/domains/{id}, for the dashboards' links (one series
            # per asset anyway)
            kind = asset_kind(endpoint.port)
            port = "" if kind == "domain" else str(endpoint.port)
            info.add_metric([endpoint.agency, endpoint.label, endpoint.host, port, str(endpoint.id), kind], 1)
        yield info
        yield GaugeMetricFamily(
            "posture_scheduler_due_backlog", "Checks due now and not yet claimed", value=snapshot.due_backlog
        )
        updated = GaugeMetricFamily(
            "posture_vulndb_last_update_timestamp_seconds",
            "When each vulnerability feed was last loaded",
            labels=["source"],
        )
        for source, at in sorted((snapshot.vulndb_updated or self.seed_dates).items()):
            updated.add_metric([source], at.timestamp())
        yield updated
        yield GaugeMetricFamily(
            "posture_alert_outbox_pending",
            "Alert events not yet acknowledged by the broker",
            value=snapshot.outbox_pending,
        )
        discovered = GaugeMetricFamily(
            "posture_discovered_assets",
            "Assets discovery saw inside the agency's scope, by state: candidate (in the inbox), registered, dismissed",
            labels=["agency", "state"],
        )
        for agency in sorted({agency for agency, _ in snapshot.discovered}):
            for state in CANDIDATE_STATES:
                discovered.add_metric([agency, state], snapshot.discovered.get((agency, state), 0))
        yield discovered

    def _health(self, snapshot: Snapshot) -> Iterable[Metric]:
        labels = ["agency", "endpoint", "check"]
        success = GaugeMetricFamily("posture_check_success", "1 when the last run completed (status ok)", labels=labels)
        last_run = GaugeMetricFamily("posture_check_last_run_timestamp_seconds", "Start of the last run", labels=labels)
        newest: dict[str, float] = {}
        for row in snapshot.latest:
            endpoint = snapshot.endpoints.get(row.endpoint_id)
            if endpoint is None:
                continue
            values = [endpoint.agency, endpoint.label, row.check]
            started = row.started_at.timestamp()
            success.add_metric(values, 1.0 if row.status == CheckStatus.OK.value else 0.0)
            last_run.add_metric(values, started)
            newest[row.check] = max(newest.get(row.check, 0.0), started)
        last_result = GaugeMetricFamily(
            "posture_check_last_result_timestamp_seconds", "Newest result of each check type", labels=["check"]
        )
        for check, started in sorted(newest.items()):
            last_result.add_metric([check], started)
        yield from (success, last_run, last_result)

    def _check_families(self, snapshot: Snapshot) -> Iterable[Metric]:
        families: dict[str, GaugeMetricFamily] = {}
        for check_class in {type(check) for check in self.checks.values()}:
            for family in check_class.metric_families:
                families[family.name] = GaugeMetricFamily(
                    family.name, family.documentation, labels=["agency", "endpoint", *family.labels]
                )
        for row in snapshot.latest:
            owner = self.checks.get(row.check)
            endpoint = snapshot.endpoints.get(row.endpoint_id)
            if owner is None or endpoint is None or not type(owner).metric_families:
                continue
            if type(owner).uses_findings:
                labels = [endpoint.agency, endpoint.label]
                for sample in owner.finding_metrics(snapshot.open_findings.get((row.endpoint_id, row.check), [])):
                    families[sample.name].add_metric([*labels, *sample.labels], sample.value)
            if row.details is None:
                continue
            try:
                details = type(owner).details_model.model_validate(row.details)
            except ValidationError:
                continue  # stored by an older version; the next run replaces it
            for sample in owner.metrics(details, snapshot.taken_at):
                families[sample.name].add_metric([endpoint.agency, endpoint.label, *sample.labels], sample.value)
        yield from families.values()

    def _findings(self, snapshot: Snapshot) -> Iterable[Metric]:
        """Open means open for alerting: an accepted risk counts only in posture_findings_accepted."""
        by_severity = ["agency", "severity"]
        open_ = GaugeMetricFamily(
            "posture_findings_open", "Open findings, accepted risks excluded", labels=["agency", "check", "severity"]
        )
        oldest = GaugeMetricFamily(
            "posture_finding_oldest_open_age_seconds", "Age of the oldest open finding", labels=by_severity
        )
        overdue = GaugeMetricFamily(
            "posture_findings_overdue", "Open findings past their remediation deadline", labels=by_severity
        )
        accepted = GaugeMetricFamily(
            "posture_findings_accepted", "Open findings with an accepted, unexpired risk", labels=by_severity
        )
        oldest_by: dict[tuple[str, str], float] = {}
        overdue_by: dict[tuple[str, str], int] = {}
        accepted_by: dict[tuple[str, str], int] = {}
        now = snapshot.taken_at.timestamp()
        for group in snapshot.findings:
            severity = Severity(group.severity).label
            if group.open:
                open_.add_metric([group.agency, group.check, severity], group.open)
            key = (group.agency, severity)
            if group.oldest_first_seen is not None:
                oldest_by[key] = max(oldest_by.get(key, 0.0), now - group.oldest_first_seen.timestamp())
            overdue_by[key] = overdue_by.get(key, 0) + group.overdue
            accepted_by[key] = accepted_by.get(key, 0) + group.accepted
        for family, values in ((oldest, oldest_by), (overdue, overdue_by), (accepted, accepted_by)):
            for (agency, severity), value in sorted(values.items()):
                family.add_metric([agency, severity], value)
        yield from (open_, oldest, overdue, accepted)


class MetricsEndpoint:
    """Serves the last rendering; a background task refreshes it, so a scrape never waits on the database.
    What changes as an edge (the broker connection) is rendered live at each scrape instead."""

    def __init__(
        self,
        store: Store,
        checks: Mapping[str, Check[Any, Any]],
        refresh_s: float = 15.0,
        seed_dates: Mapping[str, datetime] | None = None,
    ) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.registry = CollectorRegistry()  # the shared state, rendered in the background
        self.collector = SnapshotCollector(checks, seed_dates or {})
        self.registry.register(self.collector)
        self.mqtt = ConnectionState()
        self.live = CollectorRegistry()  # what only this process knows, rendered at each scrape (a few series)
        self.runtime = RuntimeMetrics(self.live)
        self.live.register(self.mqtt)
        self.rendered: bytes | None = None
        self.render_seconds = 0.0

    async def refresh(self) -> None:
        started = time.perf_counter()
        self.collector.snapshot = await self.store.snapshot(self.collector.findings_of)
        # rendering walks every series: in a worker thread, so scans and alerts keep their event loop
        self.rendered = await asyncio.to_thread(generate_latest, self.registry)
        self.render_seconds = time.perf_counter() - started

    async def run(self, stop: asyncio.Event) -> None:
        outage = Outage(log, "refreshing metrics", self.store.url)
        while not stop.is_set():
            try:
                await self.refresh()
            except (SQLAlchemyError, OSError) as err:
                outage.report(err, "serving the previous rendering")
            else:
                outage.recovered()
            await first_of(stop, wait_s=self.refresh_s)

    async def body(self) -> bytes:
        """The last rendering of the snapshot, and what is rendered live."""
        if self.rendered is None:
            await self.refresh()
        assert self.rendered is not None
        return self.rendered + generate_latest(self.live)

    async def handle(self, _request: web.Request) -> web.Response:
        return web.Response(body=await self.body(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def handle_runtime(self, _request: web.Request) -> web.Response:
        """A scanner replica's /metrics: its own runs, durations and broker connection, no shared snapshot."""
        return web.Response(body=generate_latest(self.live), headers={"Content-Type": CONTENT_TYPE_LATEST})
