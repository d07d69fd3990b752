"""Benchmark: Certificate Transparency ingestion from the loopback CT log (tests/ct_log.py).

The log runs in its own process on 127.0.40.2 and holds N entries (half certificates, half precertificates,
each naming two hosts; one in ten inside the wanted suffixes). `read_log` reads them all from entry 0, through
RFC 6962 get-entries (256 per request, as real logs cap them) and through the static API's data tiles (four at
a time). A ticker in the reading process measures the longest stretch the event loop was held.

Last lines: `ct_entries=N`, `ct_sightings=S`, `ct_entries_per_s=R` (RFC 6962), `ct_static_entries_per_s=R`,
`ct_loop_max_lag_ms=M`. Target: ct_entries_per_s ≥ 5,000 (issue #24).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.discovery.ct import CtCursor, CtLog, read_log

ROOT = Path(__file__).resolve().parent.parent

HOST = "127.0.40.2"
SUFFIXES = ("bund.de", "berlin.de", "agency.de")
RFC6962_BATCH = 256
STATIC_BATCH = 1024  # four data tiles at a time


def wanted(host: str) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in SUFFIXES)


@contextmanager
def loop_lag() -> Iterator[list[float]]:
    """The longest gap between ticks of a 5 ms ticker beyond its 5 ms, in seconds: how long the loop was held."""
    worst = [0.0]

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            worst[0] = max(worst[0], now - last - 0.005)
            last = now

    ticker = asyncio.get_running_loop().create_task(tick())
    try:
        yield worst
    finally:
        ticker.cancel()


async def _read_all(session: aiohttp.ClientSession, log: CtLog, batch: int, entries: int) -> tuple[float, int]:
    started = time.perf_counter()
    result = await read_log(session, log, CtCursor.start(log), wanted, max_entries=entries, batch=batch)
    elapsed = time.perf_counter() - started
    assert result.entries_read == entries and result.entries_skipped == 0, result
    return elapsed, len(result.sightings)


async def measure_ct(entries: int = 50_000) -> dict[str, float]:
    log_process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.ct_log", HOST, str(entries), *SUFFIXES,
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert log_process.stdin is not None and log_process.stdout is not None
    try:
        url = (await log_process.stdout.readline()).decode().strip()
        assert url.startswith(f"http://{HOST}:"), f"the loopback log did not start: {url!r}"
        async with aiohttp.ClientSession() as session:
            with loop_lag() as lag:
                rfc_s, sightings = await _read_all(session, CtLog(url, "rfc6962"), RFC6962_BATCH, entries)
                static_s, static_sightings = await _read_all(session, CtLog(url, "static"), STATIC_BATCH, entries)
    finally:
        log_process.stdin.close()
        await log_process.wait()
    assert sightings == static_sightings == 2 * len(range(0, entries, 10)), (sightings, static_sightings)
    return {
        "ct_entries": float(entries),
        "ct_sightings": float(sightings),
        "ct_entries_per_s": entries / rfc_s,
        "ct_static_entries_per_s": entries / static_s,
        "ct_loop_max_lag_ms": lag[0] * 1000,
    }


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    figures = asyncio.run(measure_ct(entries))
    for name, value in figures.items():
        print(f"{name}={value:.0f}" if name in ("ct_entries", "ct_sightings") else f"{name}={value:.1f}")


if __name__ == "__main__":
    main()
