"""Findings: filters, detail with remediation and history, accepted risks, re-scans, CSV export, pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.clock import FakeClock
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE
from tests.api.conftest import Api, FakeResolver, add_finding, seed


async def _endpoint(api: Api, host: str = "www.lk-a.example", port: int = 443) -> int:
    status, created = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_a, {"host": host, "port": port})
    assert status == 201, created
    return int(created["id"])


async def test_findings_are_filtered_by_severity_check_and_state(api: Api) -> None:
    endpoint_id = await _endpoint(api)
    high = await add_finding(api.engine, endpoint_id)
    low = await add_finding(api.engine, endpoint_id, key="tls.hsts.missing", severity=1, title="No HSTS")
    await add_finding(api.engine, endpoint_id, key="tls.old", severity=2, state="resolved", resolution="fix_verified")
    token = api.tokens.agency_a

    async def ids(query: str) -> list[int]:
        status, page = await api.call("GET", f"/api/v1/findings?{query}", token)
        assert status == 200, page
        return [item["id"] for item in page["items"]]

    assert await ids("state=open") == [high, low]
    assert await ids("severity=high") == [high]
    assert await ids("severity=low&state=open") == [high, low]
    assert await ids("check=reachability&key=tls.hsts.missing") == [low]
    assert len(await ids("state=resolved")) == 1
    status, body = await api.call("GET", "/api/v1/findings?severity=urgent", token)
    assert (status, body["error"]["field"]) == (400, "severity")

    status, endpoint = await api.call("GET", f"/api/v1/endpoints/{endpoint_id}", token)
    assert (endpoint["open_findings"], endpoint["worst_severity"]) == (2, "high")


async def test_accepting_a_risk_needs_a_reason_and_a_future_date(api: Api) -> None:
    finding_id = await add_finding(api.engine, await _endpoint(api))
    token = api.tokens.agency_a
    path = f"/api/v1/findings/{finding_id}/acceptance"
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    status, body = await api.call("POST", path, token, {"reason": "", "until": until.isoformat()})
    assert (status, body["error"]["field"]) == (400, "reason")
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    status, body = await api.call("POST", path, token, {"reason": "legacy", "until": past})
    assert (status, body["error"]["field"]) == (400, "until")
    status, body = await api.call("POST", path, token, {"reason": "legacy", "until": "2030-01-01T00:00:00"})
    assert (status, body["error"]["field"]) == (400, "until")  # no time zone

    status, accepted = await api.call("POST", path, token, {"reason": "replaced in March", "until": until.isoformat()})
    assert status == 200, accepted
    assert accepted["state"] == "accepted" and accepted["accepted_reason"] == "replaced in March"
    assert datetime.fromisoformat(accepted["accepted_until"]) == until
    assert accepted["accepted_by"].startswith("token:")
    status, page = await api.call("GET", "/api/v1/findings?state=accepted", token)
    assert [item["id"] for item in page["items"]] == [finding_id]
    status, withdrawn = await api.call("DELETE", path, token)
    assert (status, withdrawn["state"], withdrawn["accepted_until"]) == (200, "open", None)


async def test_finding_detail_has_remediation_and_history(api: Api) -> None:
    finding_id = await add_finding(api.engine, await _endpoint(api))
    status, detail = await api.call("GET", f"/api/v1/findings/{finding_id}", api.tokens.agency_a)
    assert status == 200
    assert detail["remediation"] == "Renew the certificate." and detail["history"] == []
    assert detail["endpoint"] == "www.lk-a.example:443"


async def test_a_rescan_makes_the_checks_due_now_and_is_rate_limited(api: Api) -> None:
    endpoint_id = await _endpoint(api)
    token = api.tokens.agency_a
    before = datetime.now(UTC)
    status, scan = await api.call("POST", f"/api/v1/endpoints/{endpoint_id}/scans", token)
    assert status == 202 and scan["checks"] == ["reachability"]
    async with api.engine.connect() as conn:
        due = (
            await conn.execute(select(CHECK_STATE.c.next_due).where(CHECK_STATE.c.endpoint_id == endpoint_id))
        ).scalar()
    assert before <= due <= datetime.now(UTC)
    async with api.client.post(
        f"/api/v1/endpoints/{endpoint_id}/scans", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 429 and int(response.headers["Retry-After"]) > 200
        assert (await response.json())["error"]["code"] == "rate_limited"


async def test_a_rescan_is_granted_again_once_the_interval_has_passed(
    engine: AsyncEngine, resolver: FakeResolver
) -> None:
    tokens = await seed(engine)
    clock = FakeClock(datetime.now(UTC))
    config = ApiConfig(check_names=("reachability",), rescan_min_interval=timedelta(minutes=5))
    async with TestClient(TestServer(build_app(Store(engine, clock), config, resolver), host="127.0.0.1")) as client:
        api = Api(client, tokens, engine)
        path = f"/api/v1/endpoints/{await _endpoint(api)}/scans"
        assert (await api.call("POST", path, api.tokens.agency_a))[0] == 202
        clock.advance(299)
        assert (await api.call("POST", path, api.tokens.agency_a))[0] == 429
        clock.advance(2)
        status, scan = await api.call("POST", path, api.tokens.agency_a)
        assert status == 202 and datetime.fromisoformat(scan["requested_at"]) == clock.now()


async def test_endpoints_come_in_pages(api: Api) -> None:
    ids = [await _endpoint(api, "127.0.0.1", port) for port in range(1, 6)]
    token = api.tokens.agency_a
    _, first = await api.call("GET", "/api/v1/endpoints?limit=2", token)
    assert [item["id"] for item in first["items"]] == ids[:2] and first["next_after"] == ids[1]
    _, rest = await api.call("GET", f"/api/v1/endpoints?limit=3&after={ids[1]}", token)
    assert [item["id"] for item in rest["items"]] == ids[2:]
    _, tail = await api.call("GET", f"/api/v1/endpoints?limit=3&after={ids[4]}", token)
    assert (tail["items"], tail["next_after"]) == ([], None)


async def test_endpoints_are_filtered_by_agency_and_host(api: Api) -> None:
    www_a = await _endpoint(api)
    loopback_a = await _endpoint(api, "127.0.0.1", 8080)
    body = {"host": "www.lk-b.example", "port": 443}
    status, created = await api.call("POST", "/api/v1/endpoints", api.tokens.agency_b, body)
    assert status == 201, created
    www_b = created["id"]

    async def ids(query: str, token: str = api.tokens.admin) -> list[int]:
        status, page = await api.call("GET", f"/api/v1/endpoints?{query}", token)
        assert status == 200, page
        return [item["id"] for item in page["items"]]

    assert await ids("limit=10") == [www_a, loopback_a, www_b]
    assert await ids("agency=lk-a") == [www_a, loopback_a]
    assert await ids("host=lk-a.example") == [www_a]  # the name and the names below it
    assert await ids("host=www.lk-b.example") == [www_b]
    assert await ids("host=ww.lk-b.example") == []  # not a label boundary
    assert await ids("agency=lk-b&host=lk-a.example") == []
    assert await ids("after=" + str(www_a)) == [loopback_a, www_b]
    assert await ids("host=lk-b.example", api.tokens.agency_a) == []  # staff see their own agency's only
    assert await ids("", api.tokens.agency_b) == [www_b]


async def test_an_endpoint_is_changed_and_removed(api: Api) -> None:
    endpoint_id = await _endpoint(api)
    token = api.tokens.agency_a
    path = f"/api/v1/endpoints/{endpoint_id}"
    status, changed = await api.call("PATCH", path, token, {"labels": {"owner": "IT"}, "interval": "15m"})
    assert status == 200 and changed["labels"] == {"owner": "IT"} and changed["intervals"] == {"reachability": 900.0}
    status, body = await api.call("PATCH", path, token, {"host": "elsewhere.example"})
    assert (status, body["error"]["field"]) == (400, "host")
    assert (await api.call("DELETE", path, token))[0] == 204
    assert (await api.call("GET", path, token))[0] == 404


async def test_the_csv_export_is_safe_for_spreadsheets(api: Api) -> None:
    endpoint_id = await _endpoint(api)
    await add_finding(api.engine, endpoint_id, title='=HYPERLINK("http://evil")')
    path = "/api/v1/exports/findings.csv?dialect=rfc4180&lang=en"  # en: the title as the check stored it
    status, text = await api.call("GET", path, api.tokens.agency_a)
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 and rows[0]["title"].startswith("'=") and rows[0]["severity"] == "high"
    assert rows[0]["endpoint"] == "www.lk-a.example:443"


async def test_the_csv_export_opens_in_german_excel_by_default(api: Api) -> None:
    """UTF-8 with a byte order mark and `;` between cells: German Excel shows umlauts and one column per field."""
    status, created = await api.call(
        "POST", "/api/v1/endpoints", api.tokens.agency_a,
        {"host": "www.lk-a.example", "port": 443, "labels": {"team": "IT-Süd", "ort": "Rathaus; Keller"}},
    )  # fmt: skip
    assert status == 201, created
    await add_finding(api.engine, created["id"], accepted_reason="Ersatz im März bestellt")
    async with api.client.get(
        "/api/v1/exports/findings.csv", headers={"Authorization": f"Bearer {api.tokens.agency_a}"}
    ) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/csv")
        raw = await response.read()
    assert raw.startswith("\ufeff".encode())
    text = raw.decode("utf-8").removeprefix("\ufeff")
    assert text.splitlines()[0].startswith("id;agency;endpoint;")
    (row,) = csv.DictReader(io.StringIO(text), delimiter=";")
    assert row["accepted_reason"] == "Ersatz im März bestellt"
    assert row["labels"] == "ort=Rathaus; Keller, team=IT-Süd"  # quoted where it holds the separator
    assert row["title"] == "Das Zertifikat des Servers ist abgelaufen"  # the catalogue's German by default
