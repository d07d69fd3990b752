"""Batch writes (monitor/store/bulk.py) and `one_of`: the same rows on SQLite and on a real PostgreSQL, where
they travel as arrays and are unnested by the server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.bulk import insert_rows, update_rows
from monitor.store.columns import one_of
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, LATEST, SCAN_RUN

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(store_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(insert(AGENCY).values(id=1, slug="lk-test", name="Landkreis Test", created_at=NOW))
        await conn.execute(
            insert(ENDPOINT),
            [{"id": i, "agency_id": 1, "host": f"127.0.0.{i}", "port": 443, "checks": ["tls"], "intervals": {},
              "labels": {}, "expected_ports": [], "check_settings": {}, "created_at": NOW} for i in (1, 2, 3)],
        )  # fmt: skip
    yield engine
    await engine.dispose()


def latest(endpoint_id: int, status: str, details: object, observations: list[object]) -> dict[str, object]:
    error = None if status == "ok" else "timed out"
    return {"endpoint_id": endpoint_id, "check": "tls", "status": status, "started_at": NOW, "duration_s": 1.5,
            "error": error, "details": details, "observations": observations}  # fmt: skip


async def test_insert_and_upsert_keep_json_values_and_update_only_the_named_columns(store: AsyncEngine) -> None:
    nested = {"chain": [{"subject": "CN=<script>"}], "ports": [443, 8443]}
    async with store.begin() as conn:
        await insert_rows(conn, LATEST, [latest(1, "ok", nested, [{"key": "a"}]), latest(2, "ok", {"n": 1}, [])])
    async with store.begin() as conn:  # a failed run on 1 keeps the last good facts; 3 is new
        await insert_rows(
            conn,
            LATEST,
            [latest(1, "timeout", {"lost": True}, []), latest(3, "ok", [1, [2, 3]], [[]])],
            conflict=["endpoint_id", "check"],
            update_columns=["status", "error"],
        )
        await insert_rows(conn, LATEST, [])  # nothing to do
    async with store.connect() as conn:
        rows = (await conn.execute(select(LATEST).order_by(LATEST.c.endpoint_id))).all()
    assert [(r.endpoint_id, r.status, r.error, r.details, r.observations, r.started_at) for r in rows] == [
        (1, "timeout", "timed out", nested, [{"key": "a"}], NOW),
        (2, "ok", None, {"n": 1}, [], NOW),
        (3, "ok", None, [1, [2, 3]], [[]], NOW),
    ]


async def test_update_rows_changes_the_matched_rows_and_sets_the_constants(store: AsyncEngine) -> None:
    async with store.begin() as conn:
        await conn.execute(
            insert(CHECK_STATE),
            [{"endpoint_id": i, "check": "tls", "next_due": NOW, "consecutive_failures": 0, "lease_owner": "r1",
              "lease_expires": NOW} for i in (1, 2, 3)],
        )  # fmt: skip
        await update_rows(
            conn,
            CHECK_STATE,
            ["endpoint_id", "check"],
            [
                {"endpoint_id": 1, "check": "tls", "next_due": NOW + timedelta(hours=1), "consecutive_failures": 2},
                {"endpoint_id": 3, "check": "tls", "next_due": NOW + timedelta(hours=3), "consecutive_failures": 0},
                {"endpoint_id": 3, "check": "ports", "next_due": NOW, "consecutive_failures": 9},  # no such row
            ],
            constants={"lease_owner": None, "lease_expires": None},
        )
    async with store.connect() as conn:
        rows = (await conn.execute(select(CHECK_STATE).order_by(CHECK_STATE.c.endpoint_id))).all()
    assert [(r.endpoint_id, r.next_due, r.consecutive_failures, r.lease_owner, r.lease_expires) for r in rows] == [
        (1, NOW + timedelta(hours=1), 2, None, None),
        (2, NOW, 0, "r1", NOW),  # not in the batch: untouched
        (3, NOW + timedelta(hours=3), 0, None, None),
    ]


async def test_plain_inserts_and_one_of_find_exactly_the_given_ids(store: AsyncEngine) -> None:
    runs = [{"endpoint_id": i, "check": "tls", "status": "ok", "started_at": NOW, "duration_s": 0.5,
             "observation_count": i, "error": None, "worker": "r1"} for i in (1, 2, 3)]  # fmt: skip
    async with store.begin() as conn:
        await insert_rows(conn, SCAN_RUN, runs)
    async with store.connect() as conn:
        for wanted in ([2], [1, 3], [], [1, 2, 3, 99]):
            found = await conn.execute(
                select(SCAN_RUN.c.endpoint_id).where(one_of(conn.dialect, SCAN_RUN.c.endpoint_id, wanted))
            )
            assert sorted(found.scalars()) == [i for i in (1, 2, 3) if i in wanted]
