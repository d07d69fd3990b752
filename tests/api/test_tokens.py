"""Tokens: shown once, stored hashed, revocable, rotated by their holder; last use recorded."""

from __future__ import annotations

from sqlalchemy import select

from monitor.api.context import SERVICES
from monitor.store.registry import hash_token
from monitor.store.tables import API_TOKEN
from tests.api.conftest import Api
from tests.api.test_web_ui import CSRF


async def test_a_token_is_stored_only_as_its_hash(api: Api) -> None:
    status, issued = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "analyst", "label": "soc"})
    assert status == 201
    async with api.engine.connect() as conn:
        stored = (await conn.execute(select(API_TOKEN).where(API_TOKEN.c.id == issued["id"]))).one()
    assert stored.token_hash == hash_token(issued["token"]) and issued["token"] not in str(stored._mapping)
    status, listed = await api.call("GET", "/api/v1/tokens", api.tokens.admin)
    assert all("token" not in item for item in listed["items"])


async def test_token_rules_are_checked(api: Api) -> None:
    admin = api.tokens.admin
    status, reply = await api.call("POST", "/api/v1/tokens", admin, {"role": "agency"})
    assert (status, reply["error"]["field"]) == (400, "agency")
    status, reply = await api.call("POST", "/api/v1/tokens", admin, {"role": "agency", "agency": "lk-zz"})
    assert (status, reply["error"]["code"]) == (404, "not_found")
    status, reply = await api.call("POST", "/api/v1/tokens", admin, {"role": "root"})
    assert (status, reply["error"]["field"]) == (400, "role")


async def test_a_revoked_token_no_longer_works(api: Api) -> None:
    status, issued = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "agency", "agency": "lk-a"})
    assert (await api.call("GET", "/api/v1/endpoints", issued["token"]))[0] == 200
    status, revoked = await api.call("DELETE", f"/api/v1/tokens/{issued['id']}", api.tokens.admin)
    assert status == 200 and revoked["revoked_at"] is not None
    assert (await api.call("GET", "/api/v1/endpoints", issued["token"]))[0] == 401


async def test_an_agency_rotates_its_own_token_and_sees_only_its_own(api: Api) -> None:
    old = api.tokens.agency_a
    status, rotated = await api.call("POST", "/api/v1/tokens/rotate", old)
    assert status == 201 and rotated["agency"] == "lk-a" and rotated["role"] == "agency"
    assert (await api.call("GET", "/api/v1/endpoints", old))[0] == 401
    status, listed = await api.call("GET", "/api/v1/tokens", rotated["token"])
    assert status == 200 and {item["agency"] for item in listed["items"]} == {"lk-a"}
    # another agency's token id is not the caller's to revoke
    other = next(item["id"] for item in (await api.call("GET", "/api/v1/tokens", api.tokens.admin))[1]["items"]
                 if item["agency"] == "lk-b")  # fmt: skip
    assert (await api.call("DELETE", f"/api/v1/tokens/{other}", rotated["token"]))[0] == 404


async def test_last_use_is_recorded(api: Api) -> None:
    await api.call("GET", "/api/v1/endpoints", api.tokens.analyst)
    await api.client.app[SERVICES].access.settle()  # written in the background, after the reply
    async with api.engine.connect() as conn:
        used = (
            await conn.execute(
                select(API_TOKEN.c.last_used_at).where(API_TOKEN.c.token_hash == hash_token(api.tokens.analyst))
            )
        ).scalar()
    assert used is not None


async def test_a_metrics_token_reads_nothing_of_the_api_and_cannot_sign_in(api: Api) -> None:
    """The role for Prometheus: /metrics only (tested on the daemon in tests/integration/test_metrics.py)."""
    status, issued = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "metrics", "label": "prom"})
    assert status == 201 and issued["role"] == "metrics"
    status, reply = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "metrics", "agency": "lk-a"})
    assert (status, reply["error"]["field"]) == (400, "agency")
    for path in ("/api/v1/endpoints", "/api/v1/findings", "/api/v1/agencies", "/api/v1/tokens"):
        assert (await api.call("GET", path, issued["token"]))[0] == 403, path
    async with api.client.get("/ui/login") as page:
        csrf = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf, "token": issued["token"]}
    async with api.client.post("/ui/login", data=form, allow_redirects=False) as response:
        assert response.status == 403 and "posture_session" not in response.cookies
        assert "nur Metriken" in await response.text()
