"""The store: migrations match the models, on SQLite and on a real PostgreSQL, one code path."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, event, insert, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.base import CheckContext
from monitor.cadence import Cadence
from monitor.models import Target
from monitor.runner import execute
from monitor.store.audit import Actor
from monitor.store.columns import UtcDateTime
from monitor.store.engine import SQLITE_POOL_SIZE, make_engine
from monitor.store.history import History
from monitor.store.registry import Registry
from monitor.store.schema import SchemaOutdated, current_revision, ensure_current, head_revision, upgrade
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, LATEST, METADATA
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from tests.fake_checks import FakeConfig, FindingCheck

ACTOR = Actor("test")


async def schema_diff(engine: AsyncEngine) -> list[object]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), METADATA)
        )


async def round_trip(engine: AsyncEngine) -> None:
    """Register, claim, run, record, read back: the daemon's whole path through the store."""
    cadence = Cadence(3600, rng=random.Random(3))
    registry = Registry(engine)
    await registry.add_agency("lk-test", "Landkreis Test", ACTOR)
    await registry.add_scope("lk-test", "127.0.0.0/8", ACTOR)
    endpoint = await registry.add_endpoint("lk-test", "127.0.0.2", 443, ["finding"], cadence, ACTOR)
    agency = await registry.change_agency("lk-test", ACTOR, lambda _: {"finding": {"timeout_s": 5}}, "en")
    assert (await registry.agency("lk-test")).check_settings == agency.check_settings == {"finding": {"timeout_s": 5}}
    assert (await registry.agency("lk-test")).alert_language == agency.alert_language == "en"
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    queue = WorkQueue(engine, "replica-1", cadence, lease_s=60)
    claim = await queue.claim(datetime.now(UTC), 10)
    assert [(i.endpoint_id, i.check, i.agency) for i in claim.items] == [(endpoint.id, "finding", "lk-test")]
    assert (await queue.claim(datetime.now(UTC), 10)).items == []  # leased: nobody else gets it
    item = claim.items[0]
    assert item.agency_settings == {"timeout_s": 5}  # the agency's settings of this check reach the scheduler
    result = await execute(FindingCheck(), Target(item.host, item.port, item.endpoint_id), FakeConfig(), CheckContext())
    assert await Recorder(queue).record([(item, result)]) == 1
    assert await queue.latest_details([(endpoint.id, "finding")]) == {
        (endpoint.id, "finding"): {"host": "127.0.0.2", "port": 443}
    }
    history = History(engine)
    [run] = await history.runs_after(0)
    assert (run.status, run.endpoint) == ("ok", "127.0.0.2:443")
    [event] = await history.events_after(0)
    assert (event.type, event.data["key"], event.data["endpoint"]) == (
        "finding.opened",
        "fake.noticed",
        "127.0.0.2:443",
    )


async def test_sqlite_migrations_match_the_models_and_the_path_works(engine: AsyncEngine) -> None:
    assert await schema_diff(engine) == []
    await round_trip(engine)


async def test_postgresql_migrations_match_the_models_and_the_path_works(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with pytest.raises(SchemaOutdated):
            await ensure_current(engine)
        assert await upgrade(engine) == (None, head_revision())
        await ensure_current(engine)
        assert await schema_diff(engine) == []
        await round_trip(engine)
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        assert await current_revision(engine) is None
        await upgrade(engine)
        assert await upgrade(engine) == (head_revision(), head_revision())
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"


async def test_old_scan_runs_are_pruned_and_recent_ones_kept(engine: AsyncEngine) -> None:
    await round_trip(engine)  # one scan run, just now
    history = History(engine)
    assert await history.prune(datetime.now(UTC) - timedelta(days=90)) == 0
    assert len(await history.runs_after(0)) == 1
    assert await history.prune(datetime.now(UTC) + timedelta(seconds=1), batch=1) == 1
    assert await history.runs_after(0) == []


async def test_sqlite_keeps_its_connections_open_under_concurrent_reads(engine: AsyncEngine) -> None:
    """A burst of reads past the pool's size waits for a connection instead of opening and closing extra ones
    (each one a thread, a connect and the pragmas)."""
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))

    async def read() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT count(*) FROM endpoint"))
            await asyncio.sleep(0.01)  # held, so that the reads overlap

    for _ in range(3):
        await asyncio.gather(*(read() for _ in range(3 * SQLITE_POOL_SIZE)))
    assert 1 <= len(opened) <= SQLITE_POOL_SIZE


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


async def test_the_upgrade_to_0007_keeps_the_reason_of_each_failed_last_run(database_url: str) -> None:
    """check_state learns each failed last run's reason from its latest result, where that is the same run's: a
    re-judgement since (status ok over a failed run) has no reason to give."""
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    # check_state as revision 0006 has it
    old_state = table(
        "check_state",
        *(column(name) for name in ("endpoint_id", "check", "consecutive_failures", "last_status")),
        column("next_due", UtcDateTime),
    )
    # by endpoint: check_state's last status, latest_result's status and error
    runs = {1: ("unreachable", "unreachable", "refused"), 2: ("timed_out", "ok", None), 3: ("ok", "ok", None)}
    try:
        await upgrade(engine, "0006")
        async with engine.begin() as conn:
            await conn.execute(insert(AGENCY).values(id=1, slug="lk-old", name="Alt", created_at=now))
            for id_, (last_status, latest_status, error) in runs.items():
                await conn.execute(
                    insert(ENDPOINT).values(
                        id=id_, agency_id=1, host=f"127.0.0.{id_}", port=443, checks=["tls"], intervals={}, labels={},
                        expected_ports=[], check_settings={}, created_at=now,
                    )
                )  # fmt: skip
                await conn.execute(
                    insert(old_state).values(
                        endpoint_id=id_, check="tls", next_due=now, consecutive_failures=1, last_status=last_status
                    )
                )
                await conn.execute(
                    insert(LATEST).values(
                        endpoint_id=id_, check="tls", status=latest_status, started_at=now, duration_s=1.0,
                        observations=[], error=error,
                    )
                )  # fmt: skip
        await upgrade(engine)
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(CHECK_STATE.c.endpoint_id, CHECK_STATE.c.last_error, CHECK_STATE.c.last_untested)
            )
            assert sorted(tuple(row) for row in rows) == [(1, "refused", None), (2, None, None), (3, None, None)]
    finally:
        await engine.dispose()
