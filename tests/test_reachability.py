"""The reference check against real loopback sockets: plain TCP, TLS, closed."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trustme

from checks.base import CheckContext
from checks.reachability import ReachabilityCheck, ReachabilityConfig
from monitor.models import CheckResult, CheckStatus, Target
from monitor.runner import execute
from tests.servers import answer_http


@pytest.fixture
async def plain_server() -> AsyncIterator[int]:
    server = await asyncio.start_server(answer_http, "127.0.0.2", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


@pytest.fixture
async def tls_server() -> AsyncIterator[int]:
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.3").configure_cert(context)
    server = await asyncio.start_server(answer_http, "127.0.0.3", 0, ssl=context)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def reach(host: str, port: int, **config: float) -> CheckResult[Any]:
    return await execute(ReachabilityCheck(), Target(host, port, 1), ReachabilityConfig(**config), CheckContext())


async def test_a_plain_listener_is_reachable_and_does_not_speak_tls(plain_server: int) -> None:
    result = await reach("127.0.0.2", plain_server)
    assert result.status is CheckStatus.OK
    assert result.details.speaks_tls is False
    assert result.details.connect_ms < 1000
    assert result.observations == ()


async def test_a_tls_listener_speaks_tls(tls_server: int) -> None:
    result = await reach("127.0.0.3", tls_server)
    assert result.details.speaks_tls is True
    assert result.details.tls_version in {"TLSv1.2", "TLSv1.3"}


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.4", 0))
        port = probe.getsockname()[1]
    result = await reach("127.0.0.4", port)
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error.startswith("TCP connect failed")


async def test_slow_connect_threshold_is_judged_in_evaluate(plain_server: int) -> None:
    result = await reach("127.0.0.2", plain_server, slow_connect_ms=0.000001)
    assert [o.key for o in result.observations] == ["reachability.slow_connect"]
