"""The scanner reaches only what the scope allows: the scope-checked address, never a redirect elsewhere.

Listeners on 127.0.0.1, 127.0.0.2 and 127.0.0.3, free ports; one plays the target, the others the place an
attacker would like the scanner to go (a second DNS answer, a redirect).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.base import CheckContext
from checks.patches.banners import read_banners
from checks.reachability import ReachabilityCheck, ReachabilityConfig
from checks.tls import TlsCheck, TlsConfig
from monitor.cadence import Cadence
from monitor.models import CheckStatus, Target
from monitor.runner import execute
from monitor.scheduler import Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.tables import CHECK_STATE, SCAN_RUN
from monitor.store.work import WorkQueue
from tests.test_scheduler import _FixedResolver, run_until

ACTOR = Actor("test")
Seen = list[bytes]


@contextlib.asynccontextmanager
async def listener(
    host: str, answer: Callable[[bytes], bytes], port: int = 0, tls: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[int, Seen]]:
    """A server that records the first bytes of every connection and answers with answer(request)."""
    seen: Seen = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.read(4096), 5)
            seen.append(request)
            writer.write(answer(request))
            await writer.drain()
        except (OSError, TimeoutError, ssl.SSLError):
            seen.append(b"")
        finally:
            writer.close()

    server = await asyncio.start_server(serve, host, port, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        await server.wait_closed()


def redirect_to(location: str) -> Callable[[bytes], bytes]:
    return lambda _request: (
        f"HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )


def apache(_request: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.49 (Unix)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def same_port_on(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


async def test_a_check_connects_to_the_checked_address_not_to_a_second_dns_answer(engine: AsyncEngine) -> None:
    """`localhost` is in scope and the scheduler's resolver says 127.0.0.3; the system's resolver (the second
    answer, as a rebinding DNS server would give it) says 127.0.0.1. The check must only ever touch 127.0.0.3."""
    for _attempt in range(20):
        async with listener("127.0.0.3", apache) as (port, checked):
            if not same_port_on("127.0.0.1", port):
                continue
            async with listener("127.0.0.1", apache, port) as (_same, elsewhere):
                registry = Registry(engine)
                await registry.add_agency("lk-a", "A", ACTOR)
                await registry.add_scope("lk-a", "localhost", ACTOR)
                await registry.add_scope("lk-a", "127.0.0.3/32", ACTOR)
                await registry.add_endpoint("lk-a", "localhost", port, ["reachability"], Cadence(3600), ACTOR)
                async with engine.begin() as conn:
                    await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
                queue = WorkQueue(engine, "sec-1", Cadence(3600, rng=random.Random(1)), lease_s=60)
                config = ReachabilityConfig(probe_tls=False)
                sched = Scheduler(queue, {"reachability": ReachabilityCheck()}, {"reachability": config}, Limits())
                sched.resolver = _FixedResolver("127.0.0.3")
                await run_until(sched, lambda: _runs(engine))
                async with engine.connect() as conn:
                    status = (await conn.execute(select(SCAN_RUN.c.status))).scalar_one()
                assert status == CheckStatus.OK.value
                assert len(checked) == 1 and elsewhere == []
                return
    raise AssertionError("no free port on both 127.0.0.3 and 127.0.0.1")


async def _runs(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return len((await conn.execute(select(SCAN_RUN.c.id))).all()) == 1


async def test_the_http_banner_read_follows_no_redirect_and_sends_the_name_to_the_pinned_address() -> None:
    async with listener("127.0.0.2", apache) as (other_port, elsewhere):
        redirect = redirect_to(f"http://127.0.0.2:{other_port}/")
        async with listener("127.0.0.1", redirect) as (port, seen):
            target = Target("localhost", port, address="127.0.0.1")
            assert await read_banners(target, [(port, "http")], timeout_s=3, max_ports=5) == []
    assert elsewhere == []  # the redirect's target was never contacted
    assert len(seen) == 1 and seen[0].startswith(b"HEAD / HTTP/1.1\r\n")
    assert f"\r\nHost: localhost:{port}\r\n".encode() in seen[0]


async def test_the_tls_checks_header_fetch_follows_no_redirect_to_another_host(tmp_path: Path) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1", "127.0.0.2").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    async with listener("127.0.0.2", apache, tls=server_context) as (other_port, elsewhere):
        hsts_elsewhere = f"https://127.0.0.2:{other_port}/"
        async with listener("127.0.0.1", redirect_to(hsts_elsewhere), tls=server_context) as (port, seen):
            cfg = TlsConfig(address="127.0.0.1", ca_file=tmp_path / "ca.pem", network_timeout_s=2, timeout_s=60)
            result: Any = await execute(TlsCheck(), Target("localhost", port), cfg, CheckContext())
    assert result.status == CheckStatus.OK, result.error
    assert result.details.http is not None and result.details.http.answered
    assert any(request.startswith(b"GET / HTTP/1.1") for request in seen)  # the header fetch happened …
    assert elsewhere == []  # … and its redirect to another host was not followed
