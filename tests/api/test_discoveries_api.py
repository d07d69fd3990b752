"""The inbox of discovered assets through the API and the web UI: each agency sees and decides only its own; a
confirmed candidate is registered by registration's rules; evidence from the network is shown as text."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.models import Severity
from monitor.store.discovery_store import CandidateView, DiscoveryStore, Seen
from monitor.store.tables import ENDPOINT
from tests.api.conftest import Api
from tests.api.test_web_ui import sign_in

HOSTILE = '<script>alert("ct")</script>'


async def _seed(engine: AsyncEngine) -> dict[str, CandidateView]:
    store = DiscoveryStore(engine)

    def no_alerts(*_: object) -> list[None]:
        return []

    found = await store.record(
        "lk-a",
        [
            Seen("127.0.0.9", 3389, ("sweep",), {"sweep": [{"service": "ms-wbt-server"}]}, Severity.HIGH),
            Seen("local.lk-a.example", None, ("ct",), {"ct": [{"issuer": HOSTILE}]}, Severity.LOW),
        ],
        no_alerts,
    )
    found += await store.record(
        "lk-b", [Seen("www.lk-b.example", None, ("dns",), {"dns": [{"record": "A"}]}, Severity.LOW)], no_alerts
    )
    return {c.host: c for c in found}


async def test_each_agency_sees_and_decides_only_its_own(api: Api, engine: AsyncEngine) -> None:
    seeded = await _seed(engine)
    rdp, _name, other = seeded["127.0.0.9"], seeded["local.lk-a.example"], seeded["www.lk-b.example"]
    status, page = await api.call("GET", "/api/v1/discoveries", api.tokens.agency_a)
    assert status == 200
    assert sorted(item["host"] for item in page["items"]) == ["127.0.0.9", "local.lk-a.example"]
    assert next(i for i in page["items"] if i["port"] == 3389)["exposure"] == "high"
    status, page = await api.call("GET", "/api/v1/discoveries?state=candidate", api.tokens.admin)
    assert status == 200 and len(page["items"]) == 3
    status, _ = await api.call("GET", "/api/v1/discoveries?agency=lk-b", api.tokens.agency_a)
    assert status == 404
    for method, path, body in (
        ("GET", f"/api/v1/discoveries/{other.id}", None),
        ("POST", f"/api/v1/discoveries/{other.id}/confirm", {}),
        ("POST", f"/api/v1/discoveries/{other.id}/dismiss", {"reason": "nicht unseres"}),
    ):
        status, reply = await api.call(method, path, api.tokens.agency_a, json=body)
        assert status == 404, (path, reply)
    status, _ = await api.call("POST", f"/api/v1/discoveries/{rdp.id}/confirm", api.tokens.analyst, json={})
    assert status == 403  # analysts read


async def test_confirm_registers_and_dismiss_needs_a_reason(api: Api, engine: AsyncEngine) -> None:
    seeded = await _seed(engine)
    rdp, name = seeded["127.0.0.9"], seeded["local.lk-a.example"]
    status, reply = await api.call("POST", f"/api/v1/discoveries/{rdp.id}/confirm", api.tokens.agency_a, json={})
    assert status == 200, reply
    assert reply["discovery"]["state"] == "registered" and reply["asset_kind"] == "endpoint"
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(ENDPOINT.c.host, ENDPOINT.c.port).where(ENDPOINT.c.id == reply["asset_id"]))
        ).one()
    assert tuple(row) == ("127.0.0.9", 3389)
    status, reply = await api.call("POST", f"/api/v1/discoveries/{name.id}/confirm", api.tokens.agency_a, json={})
    assert status == 400 and reply["error"]["field"] == "as"
    status, reply = await api.call(
        "POST", f"/api/v1/discoveries/{name.id}/confirm", api.tokens.agency_a, json={"as": "endpoint", "port": 0}
    )
    assert status == 400 and reply["error"]["field"] == "port"
    status, reply = await api.call(
        "POST", f"/api/v1/discoveries/{name.id}/dismiss", api.tokens.agency_a, json={"reason": "   "}
    )
    assert status == 400 and reply["error"]["field"] == "reason"
    status, reply = await api.call(
        "POST", f"/api/v1/discoveries/{name.id}/dismiss", api.tokens.agency_a, json={"reason": "Altsystem"}
    )
    assert status == 200 and reply["state"] == "dismissed" and reply["reason"] == "Altsystem"


async def test_auto_register_is_the_agency_s_switch(api: Api) -> None:
    status, reply = await api.call("GET", "/api/v1/agencies/lk-a/discovery", api.tokens.agency_a)
    assert (status, reply) == (200, {"agency": "lk-a", "auto_register": False})
    status, reply = await api.call(
        "PUT", "/api/v1/agencies/lk-a/discovery", api.tokens.agency_a, json={"auto_register": True}
    )
    assert (status, reply["auto_register"]) == (200, True)
    status, _ = await api.call(
        "PUT", "/api/v1/agencies/lk-b/discovery", api.tokens.agency_a, json={"auto_register": True}
    )
    assert status == 404
    status, reply = await api.call(
        "PUT", "/api/v1/agencies/lk-a/discovery", api.tokens.agency_a, json={"auto_register": "ja"}
    )
    assert status == 400 and reply["error"]["field"] == "auto_register"


@pytest.mark.parametrize("language", ["de", "en"])
async def test_the_inbox_page_shows_evidence_as_text_and_confirms(api: Api, engine: AsyncEngine, language: str) -> None:
    seeded = await _seed(engine)
    csrf = await sign_in(api, api.tokens.agency_a)
    if language == "en":
        async with api.client.get("/ui/lang/en?next=/ui/discoveries", allow_redirects=False):
            pass
    async with api.client.get("/ui/discoveries") as page:
        text = await page.text()
    assert page.status == 200
    assert ("Entdeckte Systeme" if language == "de" else "Discovered assets") in text
    assert "127.0.0.9:3389" in text and "www.lk-b.example" not in text
    name = seeded["local.lk-a.example"]
    async with api.client.get(f"/ui/discoveries/{name.id}") as page:
        text = await page.text()
    assert HOSTILE not in text and "&lt;script&gt;" in text
    async with api.client.post(
        f"/ui/discoveries/{name.id}/confirm", data={"csrf": csrf, "as": "endpoint", "port": "99999"}
    ) as response:
        assert response.status == 400
        assert re.search(r'id="port-error"', await response.text())
    async with api.client.post(
        f"/ui/discoveries/{name.id}/confirm",
        data={"csrf": csrf, "as": "endpoint", "port": "8443"},
        allow_redirects=False,
    ) as response:
        assert response.status == 303 and "discovery_confirmed" in response.headers["Location"]
    other = seeded["www.lk-b.example"]
    async with api.client.get(f"/ui/discoveries/{other.id}") as page:
        assert page.status == 404
    async with api.client.get(f"/discoveries/{name.id}", allow_redirects=False) as link:  # the alert's link
        assert link.status == 303 and link.headers["Location"] == f"/ui/discoveries/{name.id}"
