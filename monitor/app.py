"""Wiring and lifecycle of the daemon: start in order, stop in phases, in reverse order."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from checks import REGISTRY, Registry
from checks.base import Check
from monitor.api.health import build_app
from monitor.cadence import Cadence
from monitor.scheduler import Limits, Scheduler
from monitor.settings import Settings, check_configs
from monitor.store.engine import make_engine
from monitor.store.schema import ensure_current
from monitor.store.work import WorkQueue

log = logging.getLogger(__name__)


def cadence_from(settings: Settings) -> Cadence:
    return Cadence(settings.default_interval_s, settings.jitter, settings.risk_interval_factor)


class Daemon:
    def __init__(self, settings: Settings, registry: Registry = REGISTRY) -> None:
        self.settings = settings
        self.registry = registry
        self.stop = asyncio.Event()
        self.scheduler: Scheduler | None = None
        self.http_port: int | None = None

    def request_stop(self) -> None:
        self.stop.set()

    async def run(self, *, handle_signals: bool = True) -> None:
        settings = self.settings
        configs = check_configs(settings, self.registry)
        engine = make_engine(settings.database_url)
        executor = ThreadPoolExecutor(max_workers=min(32, settings.concurrency), thread_name_prefix="check")
        runner: web.AppRunner | None = None
        try:
            await ensure_current(engine)
            queue = WorkQueue(
                engine, settings.instance_id, cadence_from(settings), settings.unreachable_after, settings.lease_s
            )
            checks: dict[str, Check[Any, Any]] = {name: cls() for name, cls in self.registry.items()}
            limits = Limits(
                concurrency=settings.concurrency,
                per_host=settings.per_host_concurrency,
                grace_period_s=settings.grace_period_s,
            )
            self.scheduler = Scheduler(queue, checks, configs, limits, executor)
            runner = await self._start_http(build_app(engine))
            if settings.mqtt_url is None:
                log.warning("POSTURE_MQTT_URL is not set: alerts stay queued in the outbox")
            if handle_signals:
                loop = asyncio.get_running_loop()
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.add_signal_handler(signum, self.request_stop)
            log.info("posture-monitor %s running; http on %s", settings.instance_id, settings.http_addr)
            async with asyncio.TaskGroup() as group:
                group.create_task(self.scheduler.run(self.stop), name="scheduler")
            log.info("scheduler stopped: %d checks dispatched", self.scheduler.dispatched)
        finally:
            if runner is not None:
                await runner.cleanup()
            executor.shutdown(wait=False, cancel_futures=True)
            await engine.dispose()
            log.info("stopped")

    async def _start_http(self, app: web.Application) -> web.AppRunner:
        host, port = self.settings.http_host_port
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self.http_port = int(runner.addresses[0][1])  # the real one when port 0 was asked for
        return runner
