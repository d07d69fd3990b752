"""Wiring and lifecycle of the daemon: start in order, stop in phases, in reverse order."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, Literal, cast

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from checks import REGISTRY, Registry
from checks.base import DNS_NAMESERVERS, MAIL_PROVIDERS, Check
from monitor.aio import first_of
from monitor.alerter import BrokerConfig, Publisher
from monitor.api.app import build_app, build_scanner_app
from monitor.api.auth import metrics_guard
from monitor.api.context import api_config
from monitor.cadence import cadence_from
from monitor.discovery.models import SourceName
from monitor.discovery.wiring import discovery_from, intervals_of
from monitor.durations import parse_duration
from monitor.exporter import MetricsEndpoint
from monitor.findings import Policy
from monitor.heap import freeze_startup_heap
from monitor.models import Severity
from monitor.report_schedule import ReportSchedule
from monitor.report_wiring import delivery_from
from monitor.scheduler import Limits, Scheduler
from monitor.scope_resolution import DnsResolver, nameserver_addresses
from monitor.settings import Settings, check_configs
from monitor.store.availability import Outage
from monitor.store.leader import Job
from monitor.store.store import Store
from monitor.store.work import WorkQueue
from monitor.usecases.alerting import AlertRouter
from monitor.usecases.delivery import MakerFactory, ReportDelivery, delivery_job
from monitor.usecases.discovery import Discovery
from monitor.usecases.recording import Recorder
from monitor.usecases.rejudging import Rejudging
from monitor.vulndb import LiveVulnDb, seed_dates, toolkit_of, vulndb_checks

log = logging.getLogger(__name__)

DaemonRole = Literal["all", "scanner", "api"]
DAEMON_ROLES: tuple[DaemonRole, ...] = ("all", "scanner", "api")


def policy_from(settings: Settings) -> Policy:
    def span(text: str) -> timedelta:
        return timedelta(seconds=parse_duration(text))

    return Policy(
        unreachable_after=settings.unreachable_after,
        reopen_window=span(settings.reopen_window),
        reminders={
            Severity.CRITICAL: span(settings.reminder_critical),
            Severity.HIGH: span(settings.reminder_high),
            Severity.MEDIUM: span(settings.reminder_medium),
        },
        deadlines={Severity.CRITICAL: span(settings.deadline_critical), Severity.HIGH: span(settings.deadline_high)},
        flap_threshold=settings.flap_threshold,
        flap_window=span(settings.flap_window),
    )


def work_queue(store: Store, settings: Settings) -> WorkQueue:
    return store.work_queue(settings.instance_id, cadence_from(settings), settings.lease_s)


def recorder_from(queue: WorkQueue, settings: Settings) -> Recorder:
    router = AlertRouter(settings.ui_base, Severity.parse(settings.alert_min_severity))
    return Recorder(queue, policy_from(settings), router)


def publisher_from(store: Store, settings: Settings) -> Publisher | None:
    if settings.mqtt_url is None:
        return None
    broker = BrokerConfig.from_url(
        settings.mqtt_url,
        protocol=settings.mqtt_protocol,
        password_file=settings.mqtt_password_file,
        ca_file=settings.mqtt_ca_file,
        cert_file=settings.mqtt_cert_file,
        key_file=settings.mqtt_key_file,
    )
    return Publisher(
        store.outbox,
        broker,
        settings.instance_id,
        topic_prefix=settings.mqtt_topic_prefix,
        payload_format=settings.alert_format,
    )


# A connection that has not completed a request within this time (a slow-header client) or idles this long between
# requests is closed; aiohttp's own default is an hour.
HTTP_IDLE_S = 30.0
DISCOVERY_TICK_S = 30.0  # how often the discovery leader looks for due sources


class Daemon:
    def __init__(
        self,
        settings: Settings,
        registry: Registry = REGISTRY,
        role: DaemonRole = "all",
        report_maker: MakerFactory | None = None,
    ) -> None:
        """`report_maker`: renders the weekly reports; None: monitor.report_wiring.report_maker_factory()."""
        self.settings = settings
        self.report_maker = report_maker
        self.role = role
        self.registry = registry
        self.stop = asyncio.Event()
        self.scheduler: Scheduler | None = None
        self.publisher: Publisher | None = None
        self.metrics: MetricsEndpoint | None = None
        self.http_port: int | None = None

    def request_stop(self) -> None:
        self.stop.set()

    async def run(self, *, handle_signals: bool = True) -> None:
        settings = self.settings
        configs = check_configs(settings, self.registry)
        store = Store.open(settings.database_url, unreachable_after=settings.unreachable_after)
        executor = ThreadPoolExecutor(max_workers=min(32, settings.concurrency), thread_name_prefix="check")
        runner: web.AppRunner | None = None
        try:
            await store.ensure_current()
            queue = work_queue(store, settings)
            recorder = recorder_from(queue, settings)
            self.publisher = publisher_from(store, settings)
            if self.publisher is not None:
                recorder.on_outbox = self.publisher.notify
            checks: dict[str, Check[Any, Any]] = {name: cls() for name, cls in self.registry.items()}
            limits = Limits(
                concurrency=settings.concurrency,
                per_host=settings.per_host_concurrency,
                grace_period_s=settings.grace_period_s,
            )
            toolkit = toolkit_of(self.registry)
            seed = await asyncio.to_thread(seed_dates, toolkit) if toolkit is not None else {}
            self.metrics = MetricsEndpoint(store, checks, settings.metrics_refresh_s, seed)
            if self.publisher is not None:
                self.publisher.on_connection = self.metrics.mqtt.set
            resolver = DnsResolver(settings.dns_servers)
            # shared by every check context: the resolvers to ask, the vulnerability database
            resources: dict[str, Any] = {
                DNS_NAMESERVERS: nameserver_addresses(settings.dns_servers),
                MAIL_PROVIDERS: tuple(settings.mail_providers),
            }
            rejudging = Rejudging(store, recorder, checks, configs, resources)
            vulndb = self._live_vulndb(store, rejudging, resources) if self.role != "api" else None
            if vulndb is not None:
                await vulndb.refresh()
            self.scheduler = Scheduler(
                queue,
                checks,
                configs,
                limits,
                executor,
                self.metrics.runtime.observe,
                resolver=resolver,
                resources=resources,
                recorder=recorder,
            )
            if self.role == "scanner":  # health, and the runs of this process: the api role serves the snapshot
                app = build_scanner_app(store, api_config(settings))
                app.router.add_get("/metrics", metrics_guard(self.metrics.handle_runtime))
            else:
                app = build_app(store, api_config(settings), on_settings_changed=rejudging.agency_settings_changed)
                app.router.add_get("/metrics", metrics_guard(self.metrics.handle))
            runner = await self._start_http(app)
            freeze_startup_heap()
            if self.publisher is None:
                log.warning("POSTURE_MQTT_URL is not set: alerts stay queued in the outbox")
            reports = self._report_delivery(store)
            if (mismatch := settings.ui_base_mismatch()) is not None:
                log.warning("%s", mismatch)
            if handle_signals:
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, self.request_stop)
            log.info(
                "posture-monitor %s running as %s; http on %s", settings.instance_id, self.role, settings.http_addr
            )
            # Phases: the scheduler stops first (grace period), then the lifecycle sweep, the publisher last,
            # so that what the last checks found still goes out before the broker connection closes.
            # Publisher and sweep run on one replica at a time (monitor/store/leader.py).
            publisher_stop = asyncio.Event()
            scans = self.role in ("all", "scanner")
            async with asyncio.TaskGroup() as group:
                if scans and self.publisher is not None:
                    group.create_task(store.lead("publisher", self.publisher.run, publisher_stop), name="publisher")
                if scans:
                    group.create_task(
                        store.lead("lifecycle", self._sweep_loop(store, recorder), self.stop), name="lifecycle"
                    )
                if scans and settings.discovery_sources:
                    discovery = discovery_from(settings, store, resolver)
                    group.create_task(
                        store.lead("discovery", self._discovery_loop(store, discovery), self.stop), name="discovery"
                    )
                if scans and reports is not None:
                    job = delivery_job(reports, ReportSchedule.parse(settings.report_schedule))
                    group.create_task(store.lead("reports", job, self.stop), name="reports")
                if self.role in ("all", "api"):
                    group.create_task(self.metrics.run(self.stop), name="metrics")
                if scans and vulndb is not None:
                    group.create_task(vulndb.run(self.stop, settings.vulndb_refresh_s), name="vulndb")
                if scans:
                    await self.scheduler.run(self.stop)
                    log.info("scheduler stopped: %d checks dispatched", self.scheduler.dispatched)
                else:
                    await self.stop.wait()
                publisher_stop.set()
        finally:
            if runner is not None:
                await runner.cleanup()
            executor.shutdown(wait=False, cancel_futures=True)
            await store.close()
            log.info("stopped")

    def _report_delivery(self, store: Store) -> ReportDelivery | None:
        """Weekly reports by mail when a mail server is configured; said once if not."""
        if self.role == "api":
            return None
        delivery = delivery_from(store, self.settings, self.report_maker)
        if delivery is None:
            log.warning("POSTURE_SMTP_HOST is not set: weekly reports are not sent")
        return delivery

    def _live_vulndb(self, store: Store, rejudging: Rejudging, resources: dict[str, Any]) -> LiveVulnDb | None:
        """The vulnerability database for checks that read one; a new one re-judges their stored facts."""
        toolkit = toolkit_of(self.registry)
        if toolkit is None:
            return None
        names = vulndb_checks(self.registry)

        async def rejudge(_database: Any) -> None:
            async def job() -> None:
                started = time.perf_counter()
                queued = sum([await rejudging.record(name) for name in names])
                log.info(
                    "vulnerability database changed: %s re-judged in %.1f s, %d alerts queued",
                    ", ".join(names), time.perf_counter() - started, queued,
                )  # fmt: skip

            await store.once_as_leader("rejudge", job)

        return LiveVulnDb(store.vulndb, toolkit, resources, on_change=rejudge)

    def _sweep_loop(self, store: Store, recorder: Recorder) -> Job:
        async def sweep(stop: asyncio.Event) -> None:
            outage = Outage(log, "sweeping the findings lifecycle", store.url)
            while not stop.is_set():
                try:
                    queued = await recorder.sweep()
                    if queued:
                        log.info("lifecycle: %d reminder/deadline/expiry events queued", queued)
                    keep = timedelta(days=self.settings.scan_history_days)
                    pruned = await store.history.prune(store.clock.now() - keep)
                    if pruned:
                        log.info("history: %d scan runs older than %d days deleted", pruned, keep.days)
                except (SQLAlchemyError, OSError) as err:
                    outage.report(err, "the next sweep catches up")
                else:
                    outage.recovered()
                await first_of(stop, wait_s=self.settings.sweep_interval_s)

        return sweep

    def _discovery_loop(self, store: Store, discovery: Discovery) -> Job:
        """Each agency's due discovery sources, one replica at a time (a sweep must not run twice)."""
        sources = [cast(SourceName, name) for name in self.settings.discovery_sources]
        intervals = intervals_of(self.settings)

        async def discover(stop: asyncio.Event) -> None:
            outage = Outage(log, "running discovery", store.url)
            while not stop.is_set():
                try:
                    new = await discovery.run_due(sources, intervals)
                    if new:
                        log.info("discovery: %d new candidates", new)
                except (SQLAlchemyError, OSError) as err:
                    outage.report(err, "discovery runs again at its next turn")
                else:
                    outage.recovered()
                await first_of(stop, wait_s=DISCOVERY_TICK_S)

        return discover

    async def _start_http(self, app: web.Application) -> web.AppRunner:
        host, port = self.settings.http_host_port
        runner = web.AppRunner(app, access_log=None, keepalive_timeout=HTTP_IDLE_S)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.http_port = int(runner.addresses[0][1])  # the real one when port 0 was asked for
        return runner
