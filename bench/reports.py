"""All weekly PDFs of a state: 950 agencies with 20 assets each and their findings over twelve weeks, seeded straight
into a fresh SQLite store, then every agency's report of the last week built (use case), rendered to HTML and turned
into a PDF by WeasyPrint in worker processes (monitor.reports.render.PdfRenderer).

Prints `reports_total_s` (rendering all PDFs, seeding excluded), `reports_per_s`, `reports_rss_mb` (the peak RSS of
the parent or of the largest worker, whichever is higher), `reports_rss_parent_mb`, `reports_rss_worker_mb` and
`reports_rss_sum_mb` (parent plus every worker at the largest worker's peak: an upper bound of the machine's share).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from monitor.clock import FakeClock
from monitor.models import Severity
from monitor.reports.render import PdfRenderer, StoreReportMaker
from monitor.reports.week import IsoWeek
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.store.tables import AGENCY, ENDPOINT, FINDING, OUTBOX, SCAN_RUN

WEEK = IsoWeek(2026, 48)
# (check, key, severity, title, remediation, kev)
CATALOGUE = [
    ("tls", "tls.cert.expired", Severity.HIGH, "certificate expired", "Renew the certificate.", False),
    ("tls", "tls.cert.self_signed", Severity.MEDIUM, "self-signed certificate", "Use a trusted CA.", False),
    ("tls", "tls.cert.expiring", Severity.MEDIUM, "certificate expires soon", "Renew the certificate.", False),
    ("tls", "tls.cert.weak_signature", Severity.MEDIUM, "SHA-1 signature", "Reissue with SHA-256.", False),
    ("ports", "ports.exposed.redis", Severity.HIGH, "Redis reachable", "Firewall the port.", False),
    ("ports", "ports.exposed.memcached", Severity.MEDIUM, "memcached reachable", "Firewall the port.", False),
    ("patch", "patch.cve.CVE-2024-6387", Severity.CRITICAL, "OpenSSH regreSSHion", "Update OpenSSH.", True),
    ("patch", "patch.eol", Severity.HIGH, "end of life software", "Upgrade.", False),
    ("patch", "patch.version_disclosed", Severity.LOW, "version disclosed", "Hide the version.", False),
    ("web", "web.headers.csp_missing", Severity.LOW, "no CSP", "Add a Content-Security-Policy.", False),
    ("web", "web.https.no_redirect", Severity.MEDIUM, "no HTTPS redirect", "Redirect to HTTPS.", False),
    ("mail", "mail.dmarc.missing", Severity.MEDIUM, "no DMARC", "Publish a DMARC record.", False),
]
CHECKS = ["tls", "ports", "patch", "web", "mail"]


async def seed(store: Store, agencies: int, assets: int, rng: random.Random) -> int:
    """Agencies, endpoints, ~4 findings per asset over twelve weeks (some resolved, some reopened, some accepted,
    KEV among them), their opened/resolved events and a week of scan runs. Returns the number of findings."""
    end = WEEK.end
    first = WEEK.previous(11).start
    span = (end - first).total_seconds()
    now = end + timedelta(hours=8)
    agency_rows, endpoint_rows, finding_rows, event_rows, run_rows = [], [], [], [], []
    endpoint_id = 0
    for a in range(1, agencies + 1):
        agency_rows.append({"id": a, "slug": f"lk-{a:04d}", "name": f"Landkreis Nummer {a}", "created_at": first})
        for n in range(assets):
            endpoint_id += 1
            host = f"h{n}.lk-{a:04d}.example"
            endpoint_rows.append(
                {"id": endpoint_id, "agency_id": a, "host": host, "port": 443, "checks": CHECKS, "intervals": {},
                 "labels": {}, "expected_ports": [], "check_settings": {}, "created_at": first}
            )  # fmt: skip
            for check, key, severity, title, remediation, kev in rng.sample(CATALOGUE, rng.randint(2, 6)):
                seen = first + timedelta(seconds=rng.uniform(0, span))
                resolved = seen + timedelta(days=rng.uniform(1, 40)) if rng.random() < 0.35 else None
                if resolved is not None and resolved >= end:
                    resolved = None
                due = seen + timedelta(days=15 if severity is Severity.CRITICAL else 30)
                accepted = end + timedelta(days=rng.uniform(1, 60)) if rng.random() < 0.05 else None
                finding_rows.append(
                    {"endpoint_id": endpoint_id, "check": check, "key": key, "severity": int(severity),
                     "title": title, "detail": {"subject": f"CN={host}", "kev": kev}, "remediation": remediation,
                     "state": "resolved" if resolved else "open", "kev": kev, "first_seen": seen,
                     "last_seen": resolved or now, "resolved_at": resolved,
                     "resolution": ("fix_verified" if rng.random() < 0.3 else "not_seen") if resolved else None,
                     "due_at": due if severity >= Severity.HIGH else None, "accepted_until": accepted,
                     "transitions": [], "flapping": False, "overdue_notified": False}
                )  # fmt: skip
                for kind, at in (("finding.opened", seen), ("finding.resolved", resolved)):
                    if at is not None:
                        event_rows.append(
                            {"event_id": f"{endpoint_id}-{key}-{kind}", "type": kind, "agency": f"lk-{a:04d}",
                             "endpoint_id": endpoint_id, "severity": int(severity), "data": {"key": key},
                             "created_at": at, "sent_at": at, "attempts": 1}
                        )  # fmt: skip
            failed = rng.random() < 0.03
            run_rows.append(
                {"endpoint_id": endpoint_id, "check": "tls", "status": "unreachable" if failed else "ok",
                 "started_at": WEEK.start + timedelta(days=3), "duration_s": 1.0, "observation_count": 0,
                 "error": "timed out" if failed else None, "worker": "bench"}
            )  # fmt: skip
    async with store.engine.begin() as conn:
        for table, rows in ((AGENCY, agency_rows), (ENDPOINT, endpoint_rows), (FINDING, finding_rows),
                            (OUTBOX, event_rows), (SCAN_RUN, run_rows)):  # fmt: skip
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(table), rows[start : start + 5000])
    return len(finding_rows)


async def worker_peaks(renderer: PdfRenderer, peaks: dict[int, float], stop: asyncio.Event) -> None:
    """Each worker's peak RSS (VmHWM), read while it lives: a worker is replaced after 200 documents."""
    while not stop.is_set():
        for pid in renderer.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = max(peaks.get(pid, 0.0), int(line.split()[1]) / 1024)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def render_all(store: Store, workers: int, in_flight: int) -> tuple[float, int, int, float]:
    renderer = PdfRenderer(workers=workers)
    peaks: dict[int, float] = {}
    stop = asyncio.Event()
    maker = StoreReportMaker(store, renderer)
    slugs = await maker.reports.agency_names()
    gate = asyncio.Semaphore(in_flight)
    sizes: list[int] = []

    async def one(slug: str) -> None:
        async with gate:
            rendered = await maker(slug, WEEK, "de", "pdf")
            assert rendered.content.startswith(b"%PDF-")
            sizes.append(len(rendered.content))

    began = time.monotonic()
    sampler = asyncio.create_task(worker_peaks(renderer, peaks, stop))
    try:
        await asyncio.gather(*(one(slug) for slug in slugs))
    finally:
        stop.set()
        await sampler
        renderer.close()
    return time.monotonic() - began, len(sizes), sum(sizes), max(peaks.values(), default=0.0)


def seed_database(path: Path, agencies: int, assets: int) -> int:
    """In its own process, so that the seeding's memory is not the renderer's peak."""

    async def run() -> int:
        store = Store.open(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(store.engine)
            return await seed(store, agencies, assets, random.Random(25))
        finally:
            await store.close()

    return asyncio.run(run())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agencies", type=int, default=950)
    parser.add_argument("--assets", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--in-flight", type=int, default=4, help="reports being built or rendered at once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="posture-bench-reports-") as folder:
        clock = FakeClock(WEEK.end + timedelta(hours=8))
        path = Path(folder) / "bench.db"
        began = time.monotonic()
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as seeder:
            findings = seeder.submit(seed_database, path, args.agencies, args.assets).result()
        store = Store.open(f"sqlite+aiosqlite:///{path}", clock)
        print(f"seeded {args.agencies} agencies, {args.agencies * args.assets} assets, {findings} findings "
              f"in {time.monotonic() - began:.1f}s")  # fmt: skip
        total_s, count, size, worker_mb = await render_all(store, args.workers, args.in_flight)
        await store.close()
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rendered {count} PDFs, {size / count / 1024:.0f} KiB on average, {args.workers} workers")
    print(f"reports_rss_parent_mb={parent_mb:.0f}")
    print(f"reports_rss_worker_mb={worker_mb:.0f}")
    print(f"reports_rss_sum_mb={parent_mb + args.workers * worker_mb:.0f}")
    print(f"reports_per_s={count / total_s:.2f}")
    print(f"reports_rss_mb={max(parent_mb, worker_mb):.0f}")
    print(f"reports_total_s={total_s:.1f}")


if __name__ == "__main__":
    print(f"started {datetime.now(UTC):%H:%M:%S}")
    asyncio.run(main())
