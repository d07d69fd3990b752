"""Domains through the JSON API: the same roles, tenant isolation, audit rows, scope rules and errors as endpoints;
and an id of the other kind is not found on either path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api, FakeResolver
from tests.api.test_web_domains import DOMAIN_CHECK, config, serving


@pytest.fixture
async def api(engine: AsyncEngine, resolver: FakeResolver) -> AsyncIterator[Api]:
    async with serving(engine, resolver, config()) as running:
        yield running


async def test_staff_register_change_rescan_and_remove_a_domain(api: Api) -> None:
    token = api.tokens.agency_a
    status, created = await api.call(
        "POST", "/api/v1/domains", token, {"name": "Rathaus.LK-A.example.", "interval": "1d"}
    )
    assert status == 201, created
    assert (created["name"], created["agency"], created["checks"]) == ("rathaus.lk-a.example", "lk-a", [DOMAIN_CHECK])
    assert created["intervals"] == {DOMAIN_CHECK: 86400.0} and created["status"] == "pending"
    assert [run["name"] for run in created["checks_status"]] == [DOMAIN_CHECK]
    domain_id = created["id"]
    assert await api.call("GET", f"/api/v1/domains/{domain_id}", token) == (200, created)

    status, page = await api.call("GET", "/api/v1/domains", token)
    assert status == 200 and [item["id"] for item in page["items"]] == [domain_id]
    status, page = await api.call("GET", "/api/v1/endpoints", token)
    assert domain_id not in [item["id"] for item in page["items"]]  # endpoints and domains are listed apart

    status, changed = await api.call("PATCH", f"/api/v1/domains/{domain_id}", token, {"labels": {"owner": "IT"}})
    assert (status, changed["labels"]) == (200, {"owner": "IT"})
    status, body = await api.call("PATCH", f"/api/v1/domains/{domain_id}", token, {"expected_ports": [443]})
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "invalid_input", "expected_ports")

    status, scan = await api.call("POST", f"/api/v1/domains/{domain_id}/scans", token)
    assert (status, scan["checks"]) == (202, [DOMAIN_CHECK])
    status, body = await api.call("POST", f"/api/v1/domains/{domain_id}/scans", token)
    assert (status, body["error"]["code"]) == (429, "rate_limited") and "domain" in body["error"]["message"]

    assert (await api.call("DELETE", f"/api/v1/domains/{domain_id}", token))[0] == 204
    assert (await api.call("GET", f"/api/v1/domains/{domain_id}", token))[0] == 404
    async with api.engine.connect() as conn:
        rows = (await conn.execute(select(AUDIT_LOG.c.action, AUDIT_LOG.c.detail).order_by(AUDIT_LOG.c.id))).all()
    assert [row.action for row in rows][-4:] == ["domain.add", "domain.update", "domain.rescan", "domain.remove"]
    assert ("domain.add", {"name": "rathaus.lk-a.example"}) in [(row.action, row.detail) for row in rows]


async def test_a_domain_is_refused_outside_the_domain_scope_as_an_address_or_for_an_endpoint_check(api: Api) -> None:
    token = api.tokens.agency_a

    async def refusal(body: dict[str, object]) -> tuple[int, str, str | None, str]:
        status, reply = await api.call("POST", "/api/v1/domains", token, body)
        error = reply["error"]
        return status, error["code"], error["field"], error["message"]

    status, code, field, message = await refusal({"name": "lk-b.example"})
    assert (status, code, field) == (400, "out_of_scope", "name") and "lk-a.example" in message
    status, code, field, message = await refusal({"name": "127.0.0.1"})  # inside a CIDR of the scope: still no name
    assert (status, code, field) == (400, "invalid_input", "name") and "IP address" in message
    status, code, field, message = await refusal({"name": "lk-a.example", "checks": ["reachability"]})
    assert (status, code, field) == (400, "invalid_input", "checks")
    assert message.startswith("reachability runs on endpoints, not on domains")
    status, code, field, _ = await refusal({"name": "lk-a.example", "port": 53})
    assert (status, code, field) == (400, "invalid_input", "port")
    # and the other way round: a domain check is no endpoint check
    status, reply = await api.call(
        "POST", "/api/v1/endpoints", token, {"host": "www.lk-a.example", "port": 443, "checks": [DOMAIN_CHECK]}
    )
    assert (status, reply["error"]["field"]) == (400, "checks")
    assert reply["error"]["message"].startswith(f"{DOMAIN_CHECK} runs on domains, not on endpoints")
    status, _ = await api.call("POST", "/api/v1/domains", token, {"name": "lk-a.example"})
    status_again, reply = await api.call("POST", "/api/v1/domains", token, {"name": "LK-A.example"})
    assert (status, status_again, reply["error"]["code"]) == (201, 409, "conflict")
    status, page = await api.call("GET", "/api/v1/domains", token)
    assert [item["name"] for item in page["items"]] == ["lk-a.example"]  # nothing else was written


async def test_another_agencys_domain_and_an_id_of_the_other_kind_are_not_found(api: Api) -> None:
    status, domain = await api.call("POST", "/api/v1/domains", api.tokens.agency_a, {"name": "lk-a.example"})
    assert status == 201
    status, endpoint = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "www.lk-a.example", "port": 443}
    )
    assert status == 201
    other = api.tokens.agency_b
    for method in ("GET", "DELETE"):
        assert (await api.call(method, f"/api/v1/domains/{domain['id']}", other))[0] == 404
    assert (await api.call("PATCH", f"/api/v1/domains/{domain['id']}", other, {"labels": {}}))[0] == 404
    assert (await api.call("POST", f"/api/v1/domains/{domain['id']}/scans", other))[0] == 404
    own = api.tokens.agency_a
    status, body = await api.call("GET", f"/api/v1/endpoints/{domain['id']}", own)
    assert (status, body["error"]["message"]) == (404, f"no endpoint with id {domain['id']}")
    assert (await api.call("DELETE", f"/api/v1/endpoints/{domain['id']}", own))[0] == 404
    status, body = await api.call("GET", f"/api/v1/domains/{endpoint['id']}", own)
    assert (status, body["error"]["message"]) == (404, f"no domain with id {endpoint['id']}")
    assert (await api.call("GET", f"/api/v1/domains/{domain['id']}", own))[0] == 200  # all still there
    # the CERT sees every agency's domains; an analyst may not write
    status, page = await api.call("GET", "/api/v1/domains?agency=lk-a", api.tokens.analyst)
    assert status == 200 and [item["id"] for item in page["items"]] == [domain["id"]]
    assert (await api.call("POST", "/api/v1/domains", api.tokens.analyst, {"name": "x.lk-a.example"}))[0] == 403
    status, created = await api.call(
        "POST", "/api/v1/domains", api.tokens.admin, {"name": "amt.lk-b.example", "agency": "lk-b"}
    )
    assert (status, created["agency"]) == (201, "lk-b")
