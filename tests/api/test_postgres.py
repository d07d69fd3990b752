"""The same API on a real PostgreSQL: one code path, so one walk through the main routes is enough here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from tests.api.conftest import Api, FakeResolver, add_finding, seed


@pytest.fixture
async def pg_api(postgres_url: str, resolver: FakeResolver) -> AsyncIterator[Api]:
    engine = make_engine(postgres_url)
    try:
        await upgrade(engine)
        tokens = await seed(engine)
        server = TestServer(
            build_app(Store(engine), ApiConfig(check_names=("reachability",)), resolver), host="127.0.0.1"
        )
        async with TestClient(server) as client:
            yield Api(client, tokens, engine)
    finally:
        await engine.dispose()


async def test_registration_isolation_findings_and_rescan_on_postgresql(pg_api: Api) -> None:
    api, a, b = pg_api, pg_api.tokens.agency_a, pg_api.tokens.agency_b
    status, created = await api.call("POST", "/api/v1/endpoints", a, {"host": "www.lk-a.example", "port": 443})
    assert status == 201, created
    path = f"/api/v1/endpoints/{created['id']}"
    assert (await api.call("GET", path, b))[0] == 404
    assert (await api.call("DELETE", path, b))[0] == 404
    assert (await api.call("GET", "/api/v1/endpoints/2147483647", a))[0] == 404
    finding_id = await add_finding(api.engine, created["id"])
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    status, accepted = await api.call(
        "POST", f"/api/v1/findings/{finding_id}/acceptance", a, {"reason": "planned", "until": until}
    )
    assert (status, accepted["state"]) == (200, "accepted")
    status, page = await api.call("GET", "/api/v1/findings?state=accepted&severity=medium", a)
    assert [item["id"] for item in page["items"]] == [finding_id]
    assert (await api.call("POST", f"{path}/scans", a))[0] == 202
    assert (await api.call("POST", f"{path}/scans", a))[0] == 429
    status, request = await api.call("POST", "/api/v1/agencies/lk-a/scope-requests", a, {"value": "neu.example"})
    assert status == 201
    decision = {"approve": True}
    assert (await api.call("POST", f"/api/v1/scope-requests/{request['id']}/decision", api.tokens.admin, decision))[
        0
    ] == 200
    assert (await api.call("DELETE", path, a))[0] == 204
