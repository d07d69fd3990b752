"""Guessing tokens: failed sign-ins are counted per client address and the address is then refused (429)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.api.throttle import FailedAuthLimiter
from tests.api.conftest import Api, FakeResolver, seed
from tests.api.test_web_ui import CSRF


async def call_from(api: Api, source: str, token: str) -> int:
    """GET /api/v1/endpoints with `token`, from another loopback address than the test client's 127.0.0.1."""
    async with (
        ClientSession(connector=TCPConnector(local_addr=(source, 0))) as session,
        session.get(api.client.make_url("/api/v1/endpoints"), headers={"Authorization": f"Bearer {token}"}) as reply,
    ):
        return reply.status


async def test_ten_wrong_tokens_block_the_address_even_for_a_good_token(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    for attempt in range(10):
        status, reply = await api.call("GET", "/api/v1/endpoints", f"guess-{attempt}")
        assert (status, reply["error"]["code"]) == (401, "unauthorized"), attempt
    async with api.client.get("/api/v1/endpoints", headers={"Authorization": "Bearer guess-10"}) as response:
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (429, "too_many_failures")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    # the right token does not help from a refused address: otherwise a 200 would reveal the hit
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.admin))[0] == 429
    # another client address is not affected
    assert await call_from(api, "127.0.0.2", api.tokens.admin) == 200
    assert await call_from(api, "127.0.0.2", "guess") == 401
    assert any("10 failed sign-ins from 127.0.0.1" in r.getMessage() for r in caplog.records)
    assert not any("guess" in r.getMessage() for r in caplog.records)


async def test_calls_without_a_token_and_good_tokens_are_not_counted(api: Api) -> None:
    for _ in range(15):
        assert (await api.call("GET", "/api/v1/endpoints", None))[0] == 401
        assert (await api.call("GET", "/api/v1/endpoints", api.tokens.analyst))[0] == 200
    assert (await api.call("GET", "/api/v1/endpoints", "wrong"))[0] == 401


async def test_the_address_may_try_again_after_the_window(engine: AsyncEngine) -> None:
    tokens = await seed(engine)
    config = ApiConfig(check_names=("reachability",), auth_max_failures=3, auth_failure_window_s=0.5)
    async with TestClient(TestServer(build_app(engine, config, FakeResolver()), host="127.0.0.1")) as client:
        api = Api(client, tokens, engine)
        for _ in range(3):
            assert (await api.call("GET", "/api/v1/endpoints", "wrong"))[0] == 401
        assert (await api.call("GET", "/api/v1/endpoints", tokens.admin))[0] == 429
        await asyncio.sleep(0.6)
        assert (await api.call("GET", "/api/v1/endpoints", tokens.admin))[0] == 200


async def test_web_sign_in_shares_the_count(api: Api) -> None:
    async with api.client.get("/ui/login") as page:
        csrf = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    for attempt in range(10):
        async with api.client.post("/ui/login", data={"csrf": csrf, "token": f"guess-{attempt}"}) as response:
            assert response.status == 401
    data = {"csrf": csrf, "token": api.tokens.agency_a}
    async with api.client.post("/ui/login", data=data, allow_redirects=False) as response:
        text = await response.text()
        assert response.status == 429 and "Zu viele fehlgeschlagene Anmeldungen" in text
        assert "Retry-After" in response.headers and "posture_session" not in response.cookies
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.agency_a))[0] == 429


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    limiter = FailedAuthLimiter(max_failures=2, window_s=60)
    limiter.failed("2001:db8:1:2::1")
    limiter.failed("2001:db8:1:2:ffff::9")  # same /64: one subscriber
    assert limiter.retry_after("2001:db8:1:2::77") > 0
    assert limiter.retry_after("2001:db8:1:3::1") == 0
    limiter.failed("::ffff:192.0.2.1")
    limiter.failed("192.0.2.1")
    assert limiter.retry_after("192.0.2.1") > 0


def test_tracked_addresses_stay_bounded() -> None:
    limiter = FailedAuthLimiter(max_failures=5, window_s=60, max_clients=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter._failures) <= 100
