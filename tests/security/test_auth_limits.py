"""Failed sign-ins are counted per client address and per presented token; past the limit, failures are answered
429. A valid token always signs in: behind a proxy or a NAT one address is many people. The client address is
taken from X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

from ipaddress import ip_network
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.api.throttle import FailedAuthLimiter
from monitor.clock import FakeClock
from monitor.store.store import Store
from tests.api.conftest import Api, FakeResolver, seed
from tests.api.test_web_ui import CSRF


async def call_from(api: Api, source: str, token: str) -> int:
    """GET /api/v1/endpoints with `token`, from another loopback address than the test client's 127.0.0.1."""
    async with (
        ClientSession(connector=TCPConnector(local_addr=(source, 0))) as session,
        session.get(api.client.make_url("/api/v1/endpoints"), headers={"Authorization": f"Bearer {token}"}) as reply,
    ):
        return reply.status


async def test_ten_wrong_tokens_from_one_address_get_429_but_a_valid_token_still_signs_in(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    for attempt in range(10):
        status, reply = await api.call("GET", "/api/v1/endpoints", f"guess-{attempt}")
        assert (status, reply["error"]["code"]) == (401, "unauthorized"), attempt
    async with api.client.get("/api/v1/endpoints", headers={"Authorization": "Bearer guess-10"}) as response:
        body = await response.json()
        assert (response.status, body["error"]["code"]) == (429, "too_many_failures")
        assert 1 <= int(response.headers["Retry-After"]) <= 60
    # someone else at the same address (a colleague behind the town hall's NAT) is not locked out
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.admin))[0] == 200
    assert (await api.call("GET", "/api/v1/endpoints", api.tokens.agency_a))[0] == 200
    # another client address is not affected
    assert await call_from(api, "127.0.0.2", "guess") == 401
    assert any("10 failed sign-ins from 127.0.0.1" in r.getMessage() for r in caplog.records)
    assert not any("guess" in r.getMessage() for r in caplog.records)


async def test_one_wrong_token_repeated_from_many_addresses_gets_429(api: Api) -> None:
    for attempt in range(10):
        assert await call_from(api, f"127.0.0.{2 + attempt}", "revoked-or-mistyped") == 401
    assert await call_from(api, "127.0.0.20", "revoked-or-mistyped") == 429
    assert await call_from(api, "127.0.0.20", "another-guess") == 401  # that address has failed once only
    assert await call_from(api, "127.0.0.20", api.tokens.analyst) == 200


async def test_calls_without_a_token_and_good_tokens_are_not_counted(api: Api) -> None:
    for _ in range(15):
        assert (await api.call("GET", "/api/v1/endpoints", None))[0] == 401
        assert (await api.call("GET", "/api/v1/endpoints", api.tokens.analyst))[0] == 200
    assert (await api.call("GET", "/api/v1/endpoints", "wrong"))[0] == 401


async def test_the_address_may_try_again_after_the_window(engine: AsyncEngine) -> None:
    tokens = await seed(engine)
    config = ApiConfig(check_names=("reachability",), auth_max_failures=3, auth_failure_window_s=0.5)
    clock = FakeClock()
    store = Store(engine, clock)
    async with TestClient(TestServer(build_app(store, config, FakeResolver()), host="127.0.0.1")) as client:
        api = Api(client, tokens, engine)
        for attempt in range(3):
            assert (await api.call("GET", "/api/v1/endpoints", f"wrong-{attempt}"))[0] == 401
        assert (await api.call("GET", "/api/v1/endpoints", "wrong-3"))[0] == 429
        clock.advance(0.4)
        assert (await api.call("GET", "/api/v1/endpoints", "wrong-4"))[0] == 429  # still within the window
        clock.advance(0.2)
        assert (await api.call("GET", "/api/v1/endpoints", "wrong-4"))[0] == 401


async def _behind_proxy(engine: AsyncEngine, proxies: tuple[str, ...]) -> TestClient[Any, Any]:
    config = ApiConfig(
        check_names=("reachability",), auth_max_failures=3, trusted_proxies=tuple(ip_network(p) for p in proxies)
    )
    return TestClient(TestServer(build_app(Store(engine), config, FakeResolver()), host="127.0.0.1"))


async def _status(client: TestClient[Any, Any], token: str, forwarded_for: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    async with client.get("/api/v1/endpoints", headers=headers) as response:
        return response.status


async def test_behind_a_trusted_proxy_failures_count_per_forwarded_client(engine: AsyncEngine) -> None:
    tokens = await seed(engine)
    async with await _behind_proxy(engine, ("127.0.0.1/32",)) as client:
        for attempt in range(3):  # 198.51.100.7 mistypes, through the proxy at 127.0.0.1
            assert await _status(client, f"typo-{attempt}", "198.51.100.7") == 401
        assert await _status(client, "typo-3", "198.51.100.7") == 429
        # another citizen behind the same proxy is not affected; the client cannot hide behind a prepended entry
        assert await _status(client, "typo-4", "198.51.100.8") == 401
        assert await _status(client, "typo-5", "203.0.113.1, 198.51.100.7") == 429
        assert await _status(client, tokens.analyst, "198.51.100.7") == 200


async def test_an_untrusted_peer_cannot_choose_its_address_with_x_forwarded_for(engine: AsyncEngine) -> None:
    await seed(engine)
    async with await _behind_proxy(engine, ("192.0.2.0/24",)) as client:  # the peer 127.0.0.1 is no proxy
        for attempt in range(3):
            assert await _status(client, f"guess-{attempt}", f"198.51.100.{attempt}") == 401
        assert await _status(client, "guess-3", "198.51.100.99") == 429  # counted by peer: the header was ignored


async def test_web_sign_in_shares_the_count(api: Api) -> None:
    async with api.client.get("/ui/login") as page:
        csrf = CSRF.search(await page.text()).group(1)  # type: ignore[union-attr]
    for attempt in range(10):
        async with api.client.post("/ui/login", data={"csrf": csrf, "token": f"guess-{attempt}"}) as response:
            assert response.status == 401
    async with api.client.post("/ui/login", data={"csrf": csrf, "token": "guess-10"}) as response:
        text = await response.text()
        assert response.status == 429 and "Zu viele fehlgeschlagene Anmeldungen" in text
        assert "Retry-After" in response.headers and "posture_session" not in response.cookies
    assert (await api.call("GET", "/api/v1/endpoints", "guess-11"))[0] == 429  # the API counts the same
    data = {"csrf": csrf, "token": api.tokens.agency_a}  # a colleague at the same address signs in
    async with api.client.post("/ui/login", data=data, allow_redirects=False) as response:
        assert response.status == 303 and "posture_session" in response.cookies


def test_ipv6_clients_are_counted_per_64_and_mapped_ipv4_as_ipv4() -> None:
    limiter = FailedAuthLimiter(max_failures=2, window_s=60)
    limiter.failed("2001:db8:1:2::1", "a")
    limiter.failed("2001:db8:1:2:ffff::9", "b")  # same /64: one subscriber
    assert limiter.retry_after("2001:db8:1:2::77", "c") > 0
    assert limiter.retry_after("2001:db8:1:3::1", "c") == 0
    limiter.failed("::ffff:192.0.2.1", "d")
    limiter.failed("192.0.2.1", "e")
    assert limiter.retry_after("192.0.2.1", "f") > 0


def test_tokens_are_counted_by_a_hash_never_kept() -> None:
    limiter = FailedAuthLimiter(max_failures=2, window_s=60)
    limiter.failed("192.0.2.1", "secret-looking-token")
    limiter.failed("192.0.2.2", "secret-looking-token")
    assert limiter.retry_after("192.0.2.3", "secret-looking-token") > 0
    assert not any("secret" in key for key in limiter._failures)


def test_tracked_addresses_stay_bounded() -> None:
    limiter = FailedAuthLimiter(max_failures=5, window_s=60, max_clients=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", "same")
    assert len(limiter._failures) <= 100
