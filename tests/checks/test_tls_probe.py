"""Quick probes between full TLS scans: one handshake, and a full scan only when the server changed."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig, TlsDetails
from monitor.models import CheckResult, CheckStatus, Target
from monitor.runner import execute
from tests.servers import answer_http

HOST = "127.0.0.31"


class Server:
    """A TLS server on 127.0.0.31 whose certificate can be swapped (a renewal) between scans."""

    def __init__(self, authority: trustme.CA) -> None:
        self.authority = authority
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.authority.issue_cert(HOST).configure_cert(context)
        self.server = await asyncio.start_server(answer_http, HOST, self.port, ssl=context, reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[Server, Path]]:
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    running = Server(authority)
    await running.start()
    yield running, ca_file
    await running.stop()


async def scan(port: int, cfg: TlsConfig, previous: TlsDetails | None, later: timedelta) -> CheckResult[Any]:
    context = CheckContext(peer_details={"tls": previous} if previous else {}, now=datetime.now(UTC) + later)
    return await execute(TlsCheck(), Target(HOST, port), cfg, context)


async def test_an_unchanged_server_costs_one_handshake_and_a_renewed_certificate_a_full_scan(
    server: tuple[Server, Path],
) -> None:
    running, ca_file = server
    cfg = TlsConfig(ca_file=ca_file, full_scan_every_s=86_400)
    full = await scan(running.port, cfg, None, timedelta(0))
    assert full.status is CheckStatus.OK and full.details.scanned_at is not None
    assert full.details.handshake is not None

    quick = await scan(running.port, cfg, full.details, timedelta(hours=1))
    assert quick.details.scanned_at == full.details.scanned_at  # no new full scan
    assert quick.duration_s < full.duration_s / 5
    assert [o.key for o in quick.observations] == [o.key for o in full.observations]

    stale = await scan(running.port, cfg, full.details, timedelta(days=2))  # the full scan is too old
    assert stale.details.scanned_at != full.details.scanned_at

    await running.stop()
    await running.start()  # same port, a new certificate: a renewal or a replaced server
    renewed = await scan(running.port, cfg, full.details, timedelta(hours=1))
    assert renewed.details.handshake != full.details.handshake
    assert renewed.details.scanned_at != full.details.scanned_at


async def test_probes_are_off_by_default(server: tuple[Server, Path]) -> None:
    running, ca_file = server
    cfg = TlsConfig(ca_file=ca_file)
    full = await scan(running.port, cfg, None, timedelta(0))
    again = await scan(running.port, cfg, full.details, timedelta(minutes=1))
    assert again.details.scanned_at != full.details.scanned_at
