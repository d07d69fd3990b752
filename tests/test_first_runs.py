"""A newly registered endpoint, or a check newly enabled on one, is due at once whatever its interval; many
registered together are admitted at `first_runs_per_s`, one queue for every process that registers."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cadence import Cadence
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointStore
from monitor.store.registry import Registry
from monitor.store.tables import CHECK_STATE

ACTOR = Actor("test")
SIX_HOURS = 6 * 3600.0


async def _dues(engine: AsyncEngine) -> list[datetime]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(CHECK_STATE.c.next_due).order_by(CHECK_STATE.c.next_due))).scalars()
        return [due.replace(tzinfo=UTC) if due.tzinfo is None else due for due in rows]


async def _agency(engine: AsyncEngine) -> Registry:
    registry = Registry(engine)
    await registry.add_agency("lk-first", "Landkreis Erstlauf", ACTOR)
    await registry.add_scope("lk-first", "127.0.0.0/8", ACTOR)
    return registry


async def test_a_new_endpoint_with_a_six_hour_interval_is_due_now(engine: AsyncEngine) -> None:
    registry = await _agency(engine)
    before = datetime.now(UTC)
    intervals = {"reachability": SIX_HOURS, "tls": SIX_HOURS}
    await registry.add_endpoint(
        "lk-first", "127.0.0.2", 443, ["reachability", "tls"], Cadence(SIX_HOURS), ACTOR, intervals
    )
    dues = await _dues(engine)
    assert len(dues) == 2 and all(due - before < timedelta(seconds=1) for due in dues), dues


async def test_a_check_newly_enabled_on_an_endpoint_is_due_now(engine: AsyncEngine) -> None:
    registry = await _agency(engine)
    cadence = Cadence(SIX_HOURS)
    record = await registry.add_endpoint("lk-first", "127.0.0.2", 443, ["reachability"], cadence, ACTOR)
    async with engine.begin() as conn:  # it has run: its next run is six hours away
        await conn.execute(
            CHECK_STATE.update().values(next_due=datetime.now(UTC) + timedelta(hours=6), last_run_at=datetime.now(UTC))
        )
    before = datetime.now(UTC)
    await EndpointStore(engine).update(record.id, None, ACTOR, cadence, checks=["reachability", "tls"])
    async with engine.connect() as conn:
        due = (await conn.execute(select(CHECK_STATE.c.next_due).where(CHECK_STATE.c.check == "tls"))).scalar_one()
    assert due.replace(tzinfo=UTC) - before < timedelta(seconds=1)


@pytest.mark.timeout(600)
async def test_ten_thousand_registrations_are_admitted_at_the_first_run_rate(engine: AsyncEngine) -> None:
    registry = await _agency(engine)
    rate = 40.0
    cadence = Cadence(SIX_HOURS, first_runs_per_s=rate)
    started, began = datetime.now(UTC), time.monotonic()
    for n in range(10_000):
        await registry.add_endpoint(
            "lk-first", f"127.0.{n // 250}.{n % 250 + 2}", 443, ["reachability"], cadence, ACTOR
        )
    took = time.monotonic() - began
    dues = await _dues(engine)
    assert len(dues) == 10_000
    assert dues[0] - started < timedelta(seconds=1), "the first one runs at once"
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(dues)]
    assert min(gaps) >= 1 / rate - 1e-3, "never more than first_runs_per_s first runs in a second"
    # back to back: the queue is as long as the rate makes it, not a whole interval (plus the time spent registering)
    span = (dues[-1] - dues[0]).total_seconds()
    assert 9_999 / rate - 1 <= span <= 9_999 / rate + took + 1, span
