"""Registration through the API: the routes scripts rely on, scope enforcement, and one error body everywhere."""

from __future__ import annotations

from sqlalchemy import select

from monitor.store.tables import AUDIT_LOG
from tests.api.conftest import Api

BODY = {"host": "www.lk-a.example", "port": 443}


async def test_admin_sets_up_an_agency_and_its_staff_registers_an_endpoint(api: Api) -> None:
    admin = api.tokens.admin
    assert await api.call("POST", "/api/v1/agencies", admin, {"slug": "stadt-c", "name": "Stadt C"}) == (
        201,
        {"slug": "stadt-c", "name": "Stadt C", "endpoints": 0},
    )
    status, scope = await api.call("POST", "/api/v1/agencies/stadt-c/scopes", admin, {"value": "Stadt-C.example."})
    assert (status, scope["kind"], scope["value"]) == (201, "domain", "stadt-c.example")
    status, _ = await api.call("POST", "/api/v1/agencies/stadt-c/scopes", admin, {"value": "192.0.2.0/24"})
    assert status == 201
    status, issued = await api.call("POST", "/api/v1/tokens", admin, {"role": "agency", "agency": "stadt-c"})
    assert status == 201 and len(issued["token"]) >= 43 and issued["agency"] == "stadt-c"

    status, created = await api.call("POST", "/api/v1/endpoints", issued["token"], {"host": "192.0.2.10", "port": 443})
    assert status == 201, created
    assert (created["agency"], created["host"], created["port"]) == ("stadt-c", "192.0.2.10", 443)
    assert created["checks"] == ["reachability"] and created["open_findings"] == 0

    assert await api.call("GET", f"/api/v1/endpoints/{created['id']}", issued["token"]) == (200, created)
    async with api.engine.connect() as conn:
        actions = [row.action for row in await conn.execute(select(AUDIT_LOG).order_by(AUDIT_LOG.c.id))]
        [row] = (await conn.execute(select(AUDIT_LOG).where(AUDIT_LOG.c.action == "endpoint.add"))).all()
    assert actions[-4:] == ["scope.add", "scope.add", "token.create", "endpoint.add"]
    assert row.source == "127.0.0.1" and row.actor.startswith("token:")


async def test_a_name_inside_the_domain_scope_is_registered_in_canonical_form(api: Api) -> None:
    status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "WWW.lk-a.example.", "port": 8443}
    )
    assert status == 201 and created["host"] == "www.lk-a.example", created


async def test_out_of_scope_hosts_are_refused_with_the_field_named(api: Api) -> None:
    token = api.tokens.agency_a
    status, body = await api.call("POST", "/api/v1/endpoints", token, {"host": "www.lk-b.example", "port": 443})
    assert status == 400
    assert body["error"]["code"] == "out_of_scope" and body["error"]["field"] == "host"
    assert "lk-a.example" in body["error"]["message"]
    # an IP literal in no CIDR of the scope
    status, body = await api.call("POST", "/api/v1/endpoints", token, {"host": "81.169.0.10", "port": 443})
    assert (status, body["error"]["code"]) == (400, "out_of_scope")


async def test_names_resolving_to_private_addresses_are_refused_unless_a_cidr_holds_them(api: Api) -> None:
    token = api.tokens.agency_a
    status, body = await api.call("POST", "/api/v1/endpoints", token, {"host": "intranet.lk-a.example", "port": 443})
    assert (status, body["error"]["code"], body["error"]["field"]) == (400, "out_of_scope", "host")
    assert "10.0.0.5" in body["error"]["message"]
    # 127.0.0.0/8 is in lk-a's scope on purpose, so a name pointing there is allowed
    status, _ = await api.call("POST", "/api/v1/endpoints", token, {"host": "local.lk-a.example", "port": 443})
    assert status == 201
    status, _ = await api.call("POST", "/api/v1/endpoints", token, {"host": "127.0.0.1", "port": 443})
    assert status == 201


async def test_private_ip_literals_are_refused_without_an_explicit_cidr(api: Api) -> None:
    status, body = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_b, {"host": "127.0.0.1", "port": 80})
    assert (status, body["error"]["code"]) == (400, "out_of_scope")
    status, body = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_b, {"host": "[fe80::1]", "port": 80})
    assert (status, body["error"]["code"]) == (400, "out_of_scope")


async def test_a_name_that_does_not_resolve_is_refused(api: Api) -> None:
    status, body = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": "nx.lk-a.example", "port": 1}
    )
    assert (status, body["error"]["field"]) == (400, "host")
    assert "does not resolve" in body["error"]["message"]


async def test_registering_twice_is_a_conflict(api: Api) -> None:
    assert (await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, BODY))[0] == 201
    status, body = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, BODY)
    assert (status, body["error"]["code"]) == (409, "conflict")


async def test_bad_input_gets_the_error_body_and_never_a_500(api: Api) -> None:
    token = api.tokens.agency_a
    cases = [
        ({"data": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "malformed_json", None),
        ({"data": b"host=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415,
         "unsupported_media_type", None),
        ({"data": b"[" + b"1," * 40_000 + b"1]", "headers": {"Content-Type": "application/json"}}, 413, "too_large",
         None),
        ({"json": {**BODY, "admin": True}}, 400, "invalid_input", "admin"),
        ({"json": {**BODY, "port": 0}}, 400, "invalid_input", "port"),
        ({"json": {**BODY, "port": "443"}}, 400, "invalid_input", "port"),
        ({"json": {**BODY, "checks": ["nope"]}}, 400, "invalid_input", "checks"),
        ({"json": {**BODY, "host": "-oProxy=x"}}, 400, "invalid_input", "host"),
        ({"json": {**BODY, "host": "a b"}}, 400, "invalid_input", "host"),
        ({"json": {**BODY, "interval": "1s"}}, 400, "invalid_input", "interval"),
        ({"json": []}, 400, "invalid_input", None),
    ]  # fmt: skip
    for kwargs, status, code, field in cases:
        got_status, body = await api.call("POST", "/api/v1/endpoints", token, **kwargs)
        assert (got_status, body["error"]["code"], body["error"]["field"]) == (status, code, field), kwargs
        assert set(body["error"]) == {"code", "message", "field"} and body["error"]["message"]


async def test_unknown_ids_and_paths_are_404_with_the_error_body(api: Api) -> None:
    for path in ("/api/v1/endpoints/999", "/api/v1/endpoints/abc", "/api/v1/endpoints/99999999999", "/api/v1/nope"):
        status, body = await api.call("GET", path, api.tokens.admin)
        assert (status, body["error"]["code"]) == (404, "not_found"), path
    status, body = await api.call("PUT", "/api/v1/endpoints", api.tokens.admin)
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


async def test_unknown_query_parameters_are_refused(api: Api) -> None:
    status, body = await api.call("GET", "/api/v1/endpoints?limit=5&sort=host", api.tokens.admin)
    assert (status, body["error"]["field"]) == (400, "sort")
    status, body = await api.call("GET", "/api/v1/endpoints?limit=0", api.tokens.admin)
    assert (status, body["error"]["field"]) == (400, "limit")
