"""The dispatch loop: claim due checks, run them within global and per-host limits, record in batches."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from checks.base import Check, CheckConfig
from monitor.aio import first_of
from monitor.happy_eyeballs import CONNECT_PROBE_S, first_answering
from monitor.models import DOMAIN_PORT, CheckResult, CheckStatus, Observation, Target, asset_kind, asset_name
from monitor.runner import execute
from monitor.scope import ScopeEntry, in_scope
from monitor.scope_resolution import (
    AgencyScope,
    DnsResolver,
    HostUnresolvable,
    Resolver,
    ScopeViolation,
    resolve_and_check,
)
from monitor.store.availability import Outage, describe, unavailable
from monitor.store.work import DueItem, WorkQueue
from monitor.usecases.preparation import AssetSettings, SettingsRefused, prepare
from monitor.usecases.recording import Recorder

log = logging.getLogger(__name__)

OUT_OF_SCOPE = "host is outside its agency's scope: not scanned"


@dataclass(frozen=True, slots=True)
class Limits:
    concurrency: int = 32
    per_host: int = 1
    grace_period_s: float = 10.0
    claim_batch: int = 500
    flush_every_s: float = 0.05
    flush_size: int = 500
    idle_poll_s: float = 1.0
    connect_probe_s: float = CONNECT_PROBE_S  # happy eyeballs among a name's addresses before a check starts


class Scheduler:
    def __init__(
        self,
        queue: WorkQueue,
        checks: Mapping[str, Check[Any, Any]],
        configs: Mapping[str, CheckConfig],
        limits: Limits,
        executor: Executor | None = None,
        on_result: Callable[[CheckResult[Any]], None] | None = None,
        resolver: Resolver | None = None,
        resources: Mapping[str, Any] | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.queue = queue
        self.recorder = recorder or Recorder(queue)  # the findings lifecycle of the results
        self.resources = resources if resources is not None else {}  # shared services checks read (vulndb)
        self.resolver: Resolver = resolver or DnsResolver()
        self.on_result = on_result
        self.checks = checks
        self.configs = configs
        self.limits = limits
        self.executor = executor
        self._running: dict[asyncio.Task[None], DueItem] = {}
        self._waiting: dict[str, deque[tuple[DueItem, list[ScopeEntry]]]] = {}  # claimed, not started
        self._waiting_count = 0
        self._ready_hosts: deque[str] = deque()  # hosts with waiting items and a free per-host slot
        self._stopping = False
        self._active_per_host: Counter[str] = Counter()
        self._done: list[tuple[DueItem, CheckResult[Any]]] = []
        self._recording_now: list[tuple[DueItem, CheckResult[Any]]] = []  # the batch being written
        self._slot_freed = asyncio.Event()
        self._flush_now = asyncio.Event()
        url = queue.engine.url
        # While results cannot be recorded they are held (at most `concurrency` of them) and nothing new is claimed.
        self._claiming = Outage(log, "claiming due checks", url)
        self._recording = Outage(log, "recording results", url)
        self._retry_record_s: float | None = None
        self.dispatched = 0
        self.recorded = 0

    @property
    def backlog(self) -> int:
        return self._waiting_count + len(self._running)

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set, then shut down in phases (grace, cancel, flush)."""
        retaken = await self.queue.release_all()
        if retaken:
            log.info("retook %d leases left by this instance's previous run", retaken)
        flusher = asyncio.create_task(self._flush_loop(), name="result-flusher")
        try:
            await self._dispatch_loop(stop)
        finally:
            await self._shutdown()
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            await self._flush()
            if self._done:
                log.warning("%d results not recorded: their checks run again at the next start", len(self._done))

    async def _dispatch_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            timeout: float | None = self.limits.idle_poll_s
            if not self._recording.down:  # no new work while finished work cannot be recorded
                try:
                    timeout = await self._dispatch_once()
                except Exception as err:
                    if not unavailable(err):
                        raise
                    timeout = self._claiming.failed(err, "no new checks start")
                else:
                    self._claiming.recovered()
            if timeout is None:
                continue  # more may be due right now
            await first_of(stop, self._slot_freed, wait_s=timeout)
            self._slot_freed.clear()

    async def _dispatch_once(self) -> float | None:
        """Claim and start what is due; returns how long to wait, None to claim again at once."""
        free = self.limits.concurrency - len(self._running)
        # Items waiting for a busy host do not hold a global slot, but at most `concurrency` of them wait.
        asked = min(free, self.limits.claim_batch, self.limits.concurrency - self._waiting_count)
        # Claim in chunks, not one item per finished check: a claim is a transaction.
        if not (asked >= max(1, self.limits.concurrency // 4) or (asked > 0 and not self._running)):
            return self.limits.idle_poll_s
        claim = await self.queue.claim(self.queue.clock.now(), asked)
        held = self._held_keys() if claim.items else set()
        for item in claim.items:
            # Ours already (a lease that expired while its check ran or its result waited for the database):
            # the claim renewed the lease; running it a second time would record it twice.
            if item.key not in held:
                self._admit(item, claim.scopes.get(item.agency_id, []))
        self._pump()
        if len(claim.items) == asked:
            return None
        return await self._idle_wait()

    def _held_keys(self) -> set[tuple[int, str]]:
        keys = {item.key for item in self._running.values()}
        keys.update(item.key for queue in self._waiting.values() for item, _ in queue)
        keys.update(item.key for item, _ in (*self._done, *self._recording_now))
        return keys

    async def _idle_wait(self) -> float:
        next_due = await self.queue.next_due()
        if next_due is None:
            return self.limits.idle_poll_s
        wait = (next_due - self.queue.clock.now()).total_seconds()
        return min(max(wait, 0.01), self.limits.idle_poll_s)

    def _admit(self, item: DueItem, scopes: list[ScopeEntry]) -> None:
        self._waiting.setdefault(item.host, deque()).append((item, scopes))
        self._waiting_count += 1
        if self._active_per_host[item.host] < self.limits.per_host:
            self._ready_hosts.append(item.host)

    def _pump(self) -> None:
        """Start waiting items while a global slot is free, from hosts below their own limit."""
        while self._ready_hosts and len(self._running) < self.limits.concurrency and not self._stopping:
            host = self._ready_hosts.popleft()
            queue = self._waiting.get(host)
            if not queue or self._active_per_host[host] >= self.limits.per_host:
                continue  # a stale entry
            item, scopes = queue.popleft()
            self._waiting_count -= 1
            if not queue:
                del self._waiting[host]
            self._start(item, scopes)
            if queue and self._active_per_host[host] < self.limits.per_host:
                self._ready_hosts.append(host)

    def _start(self, item: DueItem, scopes: list[ScopeEntry]) -> None:
        self._active_per_host[item.host] += 1
        task = asyncio.create_task(self._run_one(item, scopes), name=f"check:{item.check}:{item.endpoint_id}")
        self._running[task] = item
        task.add_done_callback(self._finished)
        self.dispatched += 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        host = self._running.pop(task).host
        self._active_per_host[host] -= 1
        if not self._active_per_host[host]:
            del self._active_per_host[host]
        if host in self._waiting:
            self._ready_hosts.append(host)
        self._pump()
        self._slot_freed.set()

    async def _run_one(self, item: DueItem, scopes: list[ScopeEntry]) -> None:
        try:
            result = await self._execute(item, scopes)
        except Exception as err:
            # Our side failed before the runner could (reading peer details); the lease expires and it runs again.
            if not unavailable(err):
                log.exception("could not dispatch %s on endpoint %d", item.check, item.endpoint_id)
                return
            reason = describe(err, self.queue.engine.url)
            log.warning("could not dispatch %s on endpoint %d: %s", item.check, item.endpoint_id, reason)
            return
        self._done.append((item, result))
        if self.on_result is not None:
            self.on_result(result)
        if len(self._done) >= self.limits.flush_size and not self._recording.down:
            self._flush_now.set()

    async def _execute(self, item: DueItem, scopes: list[ScopeEntry]) -> CheckResult[Any]:
        check = self.checks.get(item.check)
        if check is None:
            return self._refused(item, f"unknown check {item.check!r}: not in this version's registry")
        if not in_scope(item.host, scopes):
            # The scanner is also a weapon: nothing outside the agency's registered scope is ever touched.
            log.warning("refused %s on %s: %s", item.check, asset_name(item.host, item.port), OUT_OF_SCOPE)
            return self._refused(item, OUT_OF_SCOPE)
        kind = asset_kind(item.port)
        if type(check).asset_kind != kind:  # registration refuses this; a hand-edited row must not slip through
            return self._refused(item, f"{item.check} runs on {type(check).asset_kind}s, not on {kind}s")
        if kind == "domain":
            # a domain's checks ask DNS (the configured resolvers) about the name: no address of its own is touched
            target = Target(item.host, DOMAIN_PORT, item.endpoint_id, item.agency, scope=AgencyScope(tuple(scopes)))
        else:
            resolved = await self._endpoint_target(item, scopes)
            if isinstance(resolved, CheckResult):
                return resolved
            target = resolved
        asset = AssetSettings(item.check_settings, item.agency_settings, item.expected_ports)
        stored = await self._peer_details(check, item)
        now = self.queue.clock.now()
        try:
            prepared = prepare(check, self.configs[item.check], asset, stored, now, self.executor, self.resources)
        except SettingsRefused as err:
            return self._refused(item, str(err))
        return await execute(check, target, prepared.config, prepared.context)

    async def _endpoint_target(self, item: DueItem, scopes: list[ScopeEntry]) -> Target | CheckResult[Any]:
        """The endpoint with the addresses its name resolves to now, all inside the scope; or the refusal."""
        try:
            # the name is resolved again at every scan: a DNS change must not turn the scanner on someone else
            addresses = await resolve_and_check(item.host, scopes, self.resolver)
        except ScopeViolation as err:
            log.warning("refused %s on %s:%s: %s", item.check, item.host, item.port, err.reason)
            return self._refused(item, f"scope violation: {err.reason}", (err.observation(),))
        except HostUnresolvable as err:
            return self._refused(item, err.reason, status=CheckStatus.UNREACHABLE)
        checked = tuple(address.compressed for address in addresses)
        # dual stack: scan an address that answers (a family that refuses is the reachability check's finding)
        address = await first_answering(checked, item.port, self.limits.connect_probe_s) or checked[0]
        scope = AgencyScope(tuple(scopes))
        return Target(
            item.host, item.port, item.endpoint_id, item.agency, address=address, addresses=checked, scope=scope
        )

    async def _peer_details(self, check: Check[Any, Any], item: DueItem) -> dict[str, Any]:
        """The stored details the check reads, as stored: each check reads them as its peer's model
        (`checks.base.read_peer`), and a shape that no longer parses is that check's crash, not "no facts"."""
        names = type(check).peer_names()
        if not names:
            return {}
        stored = await self.queue.latest_details([(item.endpoint_id, name) for name in names])
        return {name: raw for (_, name), raw in stored.items()}

    async def _flush_loop(self) -> None:
        while True:
            await first_of(self._flush_now, wait_s=self._retry_record_s or self.limits.flush_every_s)
            self._flush_now.clear()
            await self._flush()

    async def _flush(self) -> None:
        if not self._done:
            return
        batch, self._done = self._done, []
        self._recording_now = batch
        try:
            self.recorded += await self.recorder.record(batch)
        except Exception as err:
            if unavailable(err):  # disk full, read-only, server restarting: keep them, in order, and try again
                self._done[:0] = batch
                self._retry_record_s = self._recording.failed(err, f"{len(batch)} results held, no new checks start")
                return
            # A bug: the leases stay, these checks run again once they expire. Losing a run beats losing the daemon.
            log.exception("could not record %d results", len(batch))
        finally:
            self._recording_now = []
        self._retry_record_s = None
        self._recording.recovered()

    async def _shutdown(self) -> None:
        self._stopping = True
        waiting = [item for queue in self._waiting.values() for item, _ in queue]
        self._waiting.clear()
        self._ready_hosts.clear()
        self._waiting_count = 0
        running = list(self._running)
        if running:
            log.info("waiting up to %g s for %d running checks", self.limits.grace_period_s, len(running))
            _, late = await asyncio.wait(running, timeout=self.limits.grace_period_s)
            for task in late:
                waiting.append(self._running[task])
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self.queue.release(waiting)
        except Exception as err:
            if not unavailable(err):
                raise
            log.warning("could not give back %d leases: %s; this instance retakes them at its next start",
                        len(waiting), describe(err, self.queue.engine.url))  # fmt: skip

    def _refused(
        self,
        item: DueItem,
        reason: str,
        observations: tuple[Observation, ...] = (),
        status: CheckStatus = CheckStatus.MISCONFIGURED,
    ) -> CheckResult[Any]:
        return CheckResult(
            check=item.check,
            endpoint_id=item.endpoint_id,
            status=status,
            started_at=self.queue.clock.now(),
            duration_s=0.0,
            observations=observations,
            error=reason,
        )
