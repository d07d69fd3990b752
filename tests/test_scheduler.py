"""The scheduler: due work from the store, global and per-host limits, timeouts, scope, shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.base import Check, CheckContext
from monitor.cadence import Cadence
from monitor.findings import Policy
from monitor.models import Target
from monitor.runner import execute
from monitor.scheduler import OUT_OF_SCOPE, Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.tables import CHECK_STATE, ENDPOINT, FINDING, OUTBOX, SCAN_RUN, SCOPE
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from tests.fake_checks import FAKE_REGISTRY, FakeConfig, SlowCheck, ToggleCheck

ACTOR = Actor("test")
CADENCE = Cadence(default_interval_s=3600, jitter=0.0, rng=random.Random(1))


async def seed(
    engine: AsyncEngine, endpoints: Sequence[tuple[str, int]], checks: Sequence[str], interval: float
) -> None:
    registry = Registry(engine)
    await registry.add_agency("test-agency", "Test", ACTOR)
    await registry.add_scope("test-agency", "127.0.0.0/8", ACTOR)
    for host, port in endpoints:
        await registry.add_endpoint(
            "test-agency", host, port, checks, CADENCE, ACTOR, intervals=dict.fromkeys(checks, interval)
        )
    async with engine.begin() as conn:  # everything due now
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))


def scheduler(engine: AsyncEngine, limits: Limits, owner: str = "test-1") -> Scheduler:
    queue = WorkQueue(engine, owner, CADENCE, lease_s=60)
    checks: dict[str, Check[Any, Any]] = {name: cls() for name, cls in FAKE_REGISTRY.items()}
    configs = dict.fromkeys(FAKE_REGISTRY, FakeConfig(timeout_s=0.5))
    return Scheduler(queue, checks, configs, limits, recorder=Recorder(queue, Policy(unreachable_after=2)))


async def run_until(sched: Scheduler, condition: Any, timeout: float = 10) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    try:
        async with asyncio.timeout(timeout):
            while not await condition():
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one())


async def test_every_due_check_runs_once_and_is_rescheduled(engine: AsyncEngine) -> None:
    await seed(engine, [(f"127.0.0.{i}", 80) for i in range(2, 22)], ["noop", "finding"], interval=3600)
    sched = scheduler(engine, Limits(concurrency=8))
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 40))
    await asyncio.sleep(0.2)
    assert await count(engine, SCAN_RUN) == 40  # nothing ran twice
    assert await count(engine, CHECK_STATE, CHECK_STATE.c.next_due < datetime.now(UTC) + timedelta(minutes=59)) == 0
    assert await count(engine, CHECK_STATE, CHECK_STATE.c.lease_owner.is_not(None)) == 0


async def test_findings_and_outbox_rows_are_written_with_the_result(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 81), ("127.0.0.3", 80)], ["finding"], interval=3600)
    sched = scheduler(engine, Limits())
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 2))
    assert await count(engine, FINDING, FINDING.c.key == "fake.noticed", FINDING.c.state == "open") == 1
    assert await count(engine, OUTBOX, OUTBOX.c.type == "finding.opened") == 1
    # an open high finding makes the next run come sooner (risk-based cadence: factor 0.5 of 1 h)
    async with engine.connect() as conn:
        dues = dict((await conn.execute(select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.next_due))).all())
    risky, calm = dues[1] - datetime.now(UTC), dues[2] - datetime.now(UTC)
    assert timedelta(minutes=25) < risky < timedelta(minutes=31) < calm


async def test_per_host_and_global_limits_hold(engine: AsyncEngine) -> None:
    SlowCheck.active.clear()
    SlowCheck.peak.clear()
    SlowCheck.peak_total[0] = 0
    hosts = [f"127.0.0.{i}" for i in range(2, 8)]
    await seed(engine, [(h, p) for h in hosts for p in (80, 443, 8080)], ["slow"], interval=3600)
    sched = scheduler(engine, Limits(concurrency=4, per_host=1))
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 18))
    assert max(SlowCheck.peak.values()) == 1
    assert SlowCheck.peak_total[0] == 4


async def test_hanging_and_raising_checks_are_recorded_and_the_loop_goes_on(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 80), ("127.0.0.3", 80)], ["hang", "raise", "noop"], interval=3600)
    sched = scheduler(engine, Limits(concurrency=10, per_host=3))
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 6))
    async with engine.connect() as conn:
        statuses = dict((await conn.execute(select(SCAN_RUN.c.check, SCAN_RUN.c.status))).all())
    assert statuses == {"hang": "timed_out", "raise": "crashed", "noop": "ok"}


async def test_an_endpoint_outside_its_scope_is_never_run(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 80)], ["slow"], interval=3600)
    async with engine.begin() as conn:  # the scope shrank after registration
        await conn.execute(update(SCOPE).values(value="127.0.1.0/24"))
    SlowCheck.peak.clear()
    sched = scheduler(engine, Limits())
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 1))
    assert SlowCheck.peak == {}
    async with engine.connect() as conn:
        row = (await conn.execute(select(SCAN_RUN.c.status, SCAN_RUN.c.error))).one()
    assert tuple(row) == ("misconfigured", OUT_OF_SCOPE)


async def test_unreachable_after_n_runs_goes_to_the_outbox_once(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 80)], ["unreachable"], interval=5)
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(consecutive_failures=1))
    sched = scheduler(engine, Limits())
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 1))
    assert await count(engine, OUTBOX, OUTBOX.c.type == "endpoint.unreachable") == 1


async def test_shutdown_cancels_after_the_grace_period_and_releases_leases(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 80)], ["hang"], interval=3600)
    sched = scheduler(engine, Limits(grace_period_s=0.1))
    sched.configs = {"hang": FakeConfig(timeout_s=30)}
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    await asyncio.sleep(0.3)
    assert sched.dispatched == 1
    started = asyncio.get_running_loop().time()
    stop.set()
    await task
    assert asyncio.get_running_loop().time() - started < 1.0
    assert await count(engine, CHECK_STATE, CHECK_STATE.c.lease_owner.is_not(None)) == 0
    assert await count(engine, SCAN_RUN) == 0  # a cancelled check leaves no result; it stays due


async def test_results_of_a_lease_lost_to_another_replica_are_dropped(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 80)], ["noop"], interval=3600)
    mine = WorkQueue(engine, "replica-a", CADENCE, lease_s=60)
    claim = await mine.claim(datetime.now(UTC), 10)
    async with engine.begin() as conn:  # our lease expired and replica-b took the item over
        await conn.execute(update(CHECK_STATE).values(lease_owner="replica-b"))
    item = claim.items[0]
    result = await execute(
        FAKE_REGISTRY["noop"](), Target(item.host, item.port, item.endpoint_id), FakeConfig(), CheckContext()
    )
    assert await Recorder(mine).record([(item, result)]) == 0
    assert await count(engine, SCAN_RUN) == 0


async def _equals(awaitable: Any, expected: int) -> bool:
    return bool(await awaitable == expected)


class _FixedResolver:
    """DNS as a test wants it: every name resolves to the given addresses."""

    def __init__(self, *addresses: str) -> None:
        self.found = [ipaddress.ip_address(a) for a in addresses]

    async def addresses(self, host: str) -> list[Any]:
        return self.found

    async def txt(self, name: str) -> list[str]:
        return []


async def test_a_name_that_now_resolves_outside_the_scope_is_refused_and_alerted(engine: AsyncEngine) -> None:
    registry = Registry(engine)
    await registry.add_agency("test-agency", "Test", ACTOR)
    await registry.add_scope("test-agency", "stadt.example", ACTOR)
    await registry.add_endpoint("test-agency", "www.stadt.example", 443, ["slow"], CADENCE, ACTOR)
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    SlowCheck.peak.clear()
    sched = scheduler(engine, Limits())
    sched.resolver = _FixedResolver("192.0.2.40")  # a non-public address no CIDR of the scope contains: never contacted
    await run_until(sched, lambda: _equals(count(engine, SCAN_RUN), 1))
    assert SlowCheck.peak == {}
    assert await count(engine, FINDING, FINDING.c.key == "scope.violation", FINDING.c.state == "open") == 1
    assert await count(engine, OUTBOX, OUTBOX.c.type == "finding.opened") == 1


async def test_a_finding_gone_after_a_requested_rescan_is_resolved_as_verified(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 443)], ["toggle"], interval=3600)
    ToggleCheck.present = True
    await run_until(scheduler(engine, Limits()), lambda: _equals(count(engine, SCAN_RUN), 1))
    ToggleCheck.present = False  # the agency fixed it and asks for a re-scan
    async with engine.begin() as conn:
        await conn.execute(update(ENDPOINT).values(rescan_requested_at=datetime.now(UTC)))
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC)))
    await run_until(scheduler(engine, Limits()), lambda: _equals(count(engine, SCAN_RUN), 2))
    async with engine.connect() as conn:
        row = (await conn.execute(select(FINDING.c.state, FINDING.c.resolution))).one()
    assert tuple(row) == ("resolved", "fix_verified")
