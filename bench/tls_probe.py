"""Benchmark: a quick TLS probe (one handshake) against a full TLS scan of the same unchanged local server.

Both through the TLS check itself (TlsConfig.full_scan_every_s): the full scan as on the first run, the probe as
on every run in between. Last line: `probe_ratio=R` (median probe time / median full scan time).
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trustme

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig
from monitor.models import CheckStatus, Target
from monitor.runner import execute
from tests.servers import answer_http

HOST = "127.0.0.32"


async def main() -> None:
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(HOST).configure_cert(context)
    server = await asyncio.start_server(answer_http, HOST, 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as workdir:
        ca_file = Path(workdir) / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_file))
        cfg = TlsConfig(ca_file=ca_file, full_scan_every_s=86_400)
        check, target = TlsCheck(), Target(HOST, port)
        full_times, probe_times = [], []
        details = None
        for _ in range(5):
            started = time.perf_counter()
            full = await execute(check, target, cfg, CheckContext())
            full_times.append(time.perf_counter() - started)
            assert full.status is CheckStatus.OK, full.error
            details = full.details
        for _ in range(20):
            started = time.perf_counter()
            quick = await execute(check, target, cfg, CheckContext(peer_details={"tls": details}))
            probe_times.append(time.perf_counter() - started)
            assert details is not None and quick.details is not None
            assert quick.details.scanned_at == details.scanned_at, "the probe ran a full scan"
    server.close()
    await server.wait_closed()
    full_s, probe_s = statistics.median(full_times), statistics.median(probe_times)
    print(f"full_scan_ms={full_s * 1000:.1f}")
    print(f"quick_probe_ms={probe_s * 1000:.1f}")
    print(f"probe_ratio={probe_s / full_s:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
