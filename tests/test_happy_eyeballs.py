"""Among a name's checked addresses, the one that answers is scanned: IPv6 first, then alternating families,
the next attempt 250 ms after the last (RFC 8305); none answering gives None."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest

from monitor.happy_eyeballs import first_answering, interleaved


def test_ipv6_first_then_alternating_families() -> None:
    order = interleaved(["127.0.0.1", "127.0.0.2", "::1", "127.0.0.3", "fe80::1"])
    assert order == ["::1", "127.0.0.1", "fe80::1", "127.0.0.2", "127.0.0.3"]


@pytest.fixture
async def v4_only_port() -> AsyncIterator[int]:
    """A listener on 127.0.0.1 whose port nobody serves on ::1 (refused there: one family broken)."""
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with socket.socket(socket.AF_INET6) as probe:
        assert probe.connect_ex(("::1", port)) != 0
    async with server:
        yield port


async def test_the_answering_family_is_chosen_when_the_other_refuses(v4_only_port: int) -> None:
    assert await first_answering(["::1", "127.0.0.1"], v4_only_port, timeout_s=5) == "127.0.0.1"


async def test_a_single_address_is_taken_without_a_connection() -> None:
    started = time.monotonic()
    assert await first_answering(["127.0.0.1"], 9, timeout_s=5) == "127.0.0.1"
    assert time.monotonic() - started < 0.1


async def test_none_answering_is_none(v4_only_port: int) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert await first_answering(["::1", "127.0.0.1"], port, timeout_s=2) is None
