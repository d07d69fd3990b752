"""Every agency-scoped query filters by the caller's agency: another agency's ids are 404, never 200."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import Api, add_finding


async def _endpoint_of_b(api: Api) -> int:
    status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_b, {"host": "www.lk-b.example", "port": 443}
    )
    assert status == 201, created
    return int(created["id"])


async def test_another_agencys_endpoint_cannot_be_read_changed_or_deleted(api: Api) -> None:
    endpoint_id = await _endpoint_of_b(api)
    a = api.tokens.agency_a
    for method, body in (("GET", None), ("PATCH", {"labels": {"x": "y"}}), ("DELETE", None)):
        status, reply = await api.call(method, f"/api/v1/endpoints/{endpoint_id}", a, body)
        assert (status, reply["error"]["code"]) == (404, "not_found"), method
    status, reply = await api.call("POST", f"/api/v1/endpoints/{endpoint_id}/scans", a)
    assert status == 404
    status, page = await api.call("GET", "/api/v1/endpoints", a)
    assert (status, page["items"]) == (200, [])
    # still there, unchanged, for its own agency
    status, reply = await api.call("GET", f"/api/v1/endpoints/{endpoint_id}", api.tokens.agency_b)
    assert (status, reply["labels"]) == (200, {})


async def test_another_agencys_finding_cannot_be_read_or_accepted(api: Api) -> None:
    finding_id = await add_finding(api.engine, await _endpoint_of_b(api))
    a = api.tokens.agency_a
    assert (await api.call("GET", f"/api/v1/findings/{finding_id}", a))[0] == 404
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    status, _ = await api.call("POST", f"/api/v1/findings/{finding_id}/acceptance", a, {"reason": "x", "until": until})
    assert status == 404
    status, page = await api.call("GET", "/api/v1/findings", a)
    assert (status, page["items"]) == (200, [])
    status, csv_text = await api.call("GET", "/api/v1/exports/findings.csv", a)
    assert status == 200 and csv_text.count("\n") == 1  # the header only
    assert (await api.call("GET", f"/api/v1/findings/{finding_id}", api.tokens.agency_b))[0] == 200
    assert (await api.call("GET", f"/api/v1/findings/{finding_id}", api.tokens.analyst))[0] == 200


async def test_an_agency_token_cannot_register_for_another_agency_or_see_its_scope(api: Api) -> None:
    body = {"host": "www.lk-b.example", "port": 443, "agency": "lk-b"}
    status, reply = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, body)
    assert (status, reply["error"]["field"]) == (404, "agency")
    assert (await api.call("GET", "/api/v1/agencies/lk-b/scopes", api.tokens.agency_a))[0] == 404
    assert (await api.call("GET", "/api/v1/agencies/lk-a/scopes", api.tokens.agency_a))[0] == 200


async def test_roles_limit_what_a_token_may_do(api: Api) -> None:
    status, reply = await api.call("POST", "/api/v1/agencies", api.tokens.agency_a, {"slug": "x-y", "name": "X"})
    assert (status, reply["error"]["code"]) == (403, "forbidden")
    status, _ = await api.call("POST", "/api/v1/endpoints", api.tokens.analyst, {"host": "www.lk-a.example", "port": 1})
    assert status == 403
    status, _ = await api.call("POST", "/api/v1/tokens", api.tokens.analyst, {"role": "admin"})
    assert status == 403
    assert (await api.call("GET", "/api/v1/agencies", api.tokens.analyst))[0] == 200
    status, reply = await api.call("GET", "/api/v1/endpoints", None)
    assert (status, reply["error"]["code"]) == (401, "unauthorized")
    status, _ = await api.call("GET", "/api/v1/endpoints", "not-a-token")
    assert status == 401
