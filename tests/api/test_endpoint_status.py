"""An endpoint's status, from real scan runs (the scheduler, the runner, recording) read back through the API:
pending before the first run, ok after a good one, failing with the reason, unreachable exactly when the
endpoint.unreachable alert is sent, incomplete when a run could not test every part. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update

from checks.base import Check, CheckConfig
from checks.reachability import ReachabilityCheck, ReachabilityConfig
from monitor.api import schemas as s
from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.cadence import Cadence
from monitor.findings import Policy
from monitor.models import CheckHealth, CheckResult, CheckStatus, EndpointStatus
from monitor.scheduler import Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.registry import Registry
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE, LATEST, OUTBOX, SCAN_RUN
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from tests.api.conftest import Api, FakeResolver, seed
from tests.fake_checks import FakeConfig, HangingCheck, MisconfiguredCheck, NoopCheck, PartialCheck
from tests.servers import answer_http
from tests.waiting import until

ACTOR = Actor("test")
UNREACHABLE_AFTER = 2
CADENCE = Cadence(default_interval_s=3600, jitter=0.0, rng=random.Random(1))
CHECKS: dict[str, Check[Any, Any]] = {
    "reachability": ReachabilityCheck(),
    "noop": NoopCheck(),
    "hang": HangingCheck(),
    "misconfigured": MisconfiguredCheck(),
    "partial": PartialCheck(),
}
CONFIGS: dict[str, CheckConfig] = {
    "reachability": ReachabilityConfig(timeout_s=5, connect_timeout_s=2, probe_tls=False),
    **dict.fromkeys(("noop", "hang", "misconfigured", "partial"), FakeConfig(timeout_s=0.5)),
}


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def api(database_url: str, resolver: FakeResolver) -> AsyncIterator[Api]:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        tokens = await seed(engine)  # lk-a's scope holds 127.0.0.0/8
        store = Store(engine, unreachable_after=UNREACHABLE_AFTER)
        server = TestServer(build_app(store, ApiConfig(check_names=("reachability",)), resolver), host="127.0.0.1")
        async with TestClient(server) as client:
            yield Api(client, tokens, engine)
    finally:
        await engine.dispose()


def closed_port(host: str) -> int:
    """A port on `host` that nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def register(api: Api, host: str, port: int, checks: Sequence[str]) -> int:
    record = await Registry(api.engine).add_endpoint("lk-a", host, port, checks, CADENCE, ACTOR)
    return record.id


async def scan(api: Api) -> None:
    """Make every check due and run them all once, as the daemon does: the scheduler, the runner, recording."""
    async with api.engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
        before = (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one()
        due = (await conn.execute(select(func.count()).select_from(CHECK_STATE))).scalar_one()
    queue = WorkQueue(api.engine, "test-1", CADENCE, lease_s=60)
    recorder = Recorder(queue, Policy(unreachable_after=UNREACHABLE_AFTER))
    scheduler = Scheduler(queue, CHECKS, CONFIGS, Limits(concurrency=8), recorder=recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))

    async def all_recorded() -> bool:
        async with api.engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one() == before + due

    try:
        await until(all_recorded, 15, "every due check recorded")
    finally:
        stop.set()
        await task


async def endpoint(api: Api, endpoint_id: int) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/endpoints/{endpoint_id}", api.tokens.agency_a)
    assert status == 200, body
    return dict(body)


async def listed(api: Api, query: str = "") -> dict[int, str]:
    status, body = await api.call("GET", f"/api/v1/endpoints{query}", api.tokens.agency_a)
    assert status == 200, body
    assert all(item["checks_status"] == [] for item in body["items"]), "the list loads no per-check details"
    return {item["id"]: item["status"] for item in body["items"]}


async def alerts(api: Api, kind: str) -> int:
    async with api.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.type == kind))).scalar())


async def test_a_dead_endpoint_is_failing_at_once_and_unreachable_when_the_alert_is_sent(api: Api) -> None:
    port = closed_port("127.0.0.5")
    dead = await register(api, "127.0.0.5", port, ["reachability"])
    before = await endpoint(api, dead)
    assert before["status"] == "pending"
    assert before["checks_status"] == [
        {"name": "reachability", "status": "pending", "consecutive_failures": 0, "last_run_at": None,
         "next_due": before["checks_status"][0]["next_due"], "reason": None, "untested": []}
    ]  # fmt: skip

    await scan(api)  # one failed run: not yet unreachable by the alerting rule, but visibly failing, with the reason
    once = await endpoint(api, dead)
    check = once["checks_status"][0]
    assert (once["status"], check["status"], check["consecutive_failures"]) == ("failing", "unreachable", 1)
    assert check["reason"].startswith("TCP connect failed"), check
    assert check["last_run_at"] is not None and check["next_due"] > check["last_run_at"]
    assert await alerts(api, "endpoint.unreachable") == 0
    assert await listed(api, "?status=unreachable") == {}

    await scan(api)  # the second: the endpoint.unreachable alert goes out, and the endpoint reads unreachable
    assert await alerts(api, "endpoint.unreachable") == 1
    twice = await endpoint(api, dead)
    assert (twice["status"], twice["checks_status"][0]["consecutive_failures"]) == ("unreachable", 2)
    assert await listed(api) == {dead: "unreachable"}
    assert await listed(api, "?status=unreachable") == {dead: "unreachable"}

    # a re-judgement of stored facts (a new vulnerability database) is no scan: it reaches nothing
    rejudged = CheckResult("reachability", dead, CheckStatus.OK, datetime.now(UTC), 0.0)
    last_run = select(LATEST.c.status, LATEST.c.started_at, LATEST.c.error).where(LATEST.c.endpoint_id == dead)
    async with api.engine.connect() as conn:
        scanned = (await conn.execute(last_run)).one()
    await Recorder(WorkQueue(api.engine, "test-1", CADENCE, lease_s=60)).record_rejudged([rejudged])
    assert await endpoint(api, dead) == twice
    async with api.engine.connect() as conn:  # what /metrics reads (posture_check_success) stays the scan's too
        assert (await conn.execute(last_run)).one() == scanned and scanned.status == "unreachable"

    server = await asyncio.start_server(answer_http, "127.0.0.5", port)  # it comes back
    try:
        await scan(api)
    finally:
        server.close()
        await server.wait_closed()
    assert await alerts(api, "endpoint.recovered") == 1
    back = await endpoint(api, dead)
    assert back["status"] == "ok"
    assert back["checks_status"][0] | {"last_run_at": None, "next_due": None} == {
        "name": "reachability", "status": "ok", "consecutive_failures": 0, "last_run_at": None, "next_due": None,
        "reason": None, "untested": [],
    }  # fmt: skip
    assert await listed(api, "?status=unreachable") == {}


async def test_failed_and_incomplete_checks_show_with_their_reason_and_the_worst_wins(api: Api) -> None:
    hanging = await register(api, "127.0.0.6", 80, ["noop", "hang"])
    misconfigured = await register(api, "127.0.0.7", 80, ["misconfigured", "noop"])
    partial = await register(api, "127.0.0.8", 80, ["partial", "noop"])
    fine = await register(api, "127.0.0.9", 80, ["noop"])
    assert await listed(api) == dict.fromkeys((hanging, misconfigured, partial, fine), "pending")

    await scan(api)
    assert await listed(api) == {hanging: "failing", misconfigured: "failing", partial: "incomplete", fine: "ok"}
    assert await listed(api, "?status=failing") == {hanging: "failing", misconfigured: "failing"}
    assert await listed(api, "?status=incomplete&limit=1") == {partial: "incomplete"}
    assert await listed(api, "?status=ok") == {fine: "ok"}
    assert await listed(api, "?status=pending") == {}

    def by_name(body: dict[str, Any]) -> dict[str, tuple[str, int, str | None, list[str]]]:
        checks = body["checks_status"]
        assert [c["name"] for c in checks] == body["checks"], "in the order of `checks`"
        return {c["name"]: (c["status"], c["consecutive_failures"], c["reason"], c["untested"]) for c in checks}

    assert by_name(await endpoint(api, hanging)) == {
        "noop": ("ok", 0, None, []),
        "hang": ("timed_out", 1, "no result within 0.5 s", []),
    }
    assert by_name(await endpoint(api, misconfigured)) == {  # our side failed: says nothing of the target
        "misconfigured": ("misconfigured", 0, "thing binary not found", []),
        "noop": ("ok", 0, None, []),
    }
    assert by_name(await endpoint(api, partial)) == {
        "partial": ("incomplete", 0, "not tested: fake.noticed", ["fake.noticed"]),
        "noop": ("ok", 0, None, []),
    }


async def test_a_new_check_on_a_scanned_endpoint_is_pending_until_it_runs(api: Api) -> None:
    endpoint_id = await register(api, "127.0.0.10", 80, ["noop"])
    await scan(api)
    await Store(api.engine).endpoints.update(endpoint_id, None, ACTOR, CADENCE, checks=["noop", "reachability"])
    body = await endpoint(api, endpoint_id)
    assert body["status"] == "pending"
    assert [(c["name"], c["status"]) for c in body["checks_status"]] == [("noop", "ok"), ("reachability", "pending")]


def test_the_api_labels_are_the_domain_statuses() -> None:
    assert get_args(s.EndpointStatusLabel) == tuple(EndpointStatus)
    assert get_args(s.CheckHealthLabel) == tuple(CheckHealth)


async def test_the_web_ui_shows_a_dead_endpoint_as_dead_with_the_reason_in_german(api: Api) -> None:
    from tests.api.test_web_ui import sign_in

    dead = await register(api, "127.0.0.5", closed_port("127.0.0.5"), ["reachability"])
    port = closed_port("127.0.0.6")
    alive = await register(api, "127.0.0.6", port, ["reachability"])
    server = await asyncio.start_server(answer_http, "127.0.0.6", port)
    try:
        await scan(api)
        await scan(api)
    finally:
        server.close()
        await server.wait_closed()
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/endpoints") as page:
        listing = await page.text()
    row = listing[listing.index(f'/ui/endpoints/{dead}"') :].split("</tr>")[0]
    assert "nicht erreichbar" in row and '<td data-label="Offene Befunde">0</td>' in row
    async with api.client.get("/ui/endpoints", params={"status": "unreachable"}) as page:
        only_dead = await page.text()
    assert f"/ui/endpoints/{dead}" in only_dead and f"/ui/endpoints/{alive}" not in only_dead
    assert "Endpunkte insgesamt: 1" in only_dead
    async with api.client.get(f"/ui/endpoints/{dead}") as page:
        text = await page.text()
    assert 'id="endpoint-status"' in text and "Der Server hat nicht geantwortet" in text
    assert "Keine Befunde bedeutet hier nicht „in Ordnung“" in text
    assert "Technische Angabe: <code>TCP connect failed" in text  # the scanner's own words, marked as such
