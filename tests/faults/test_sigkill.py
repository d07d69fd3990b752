"""SIGKILL in the middle of a scan, on SQLite (tests/integration/test_scale.py kills a PostgreSQL replica):
the restarted daemon retakes its own leases at once, keeps the stored schedule of the rest, and every
endpoint gets its result; no lease gives two scan runs."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.faults.harness import SLOW_CHECKS, integrity, leased, scan_runs, seed, tarpits
from tests.integration.test_scale import Replicas, gaps, runs_by_endpoint
from tests.waiting import until

ENDPOINTS = 20
INTERVAL_S = 6.0
# A lease far longer than the test: what runs again soon after the restart was retaken, not expired.
DAEMON = {"POSTURE_CHECKS": SLOW_CHECKS, "POSTURE_LEASE_S": "600"}


def schedule(database: Path) -> dict[int, tuple[datetime, str | None]]:
    """endpoint → (next due, lease owner), as the killed daemon left it."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        rows = conn.execute("SELECT endpoint_id, next_due, lease_owner FROM check_state").fetchall()
    return {row[0]: (datetime.fromisoformat(row[1]).replace(tzinfo=UTC), row[2]) for row in rows}


async def test_a_daemon_killed_mid_scan_resumes_from_the_stored_schedule(
    tmp_path: Path, daemons: Callable[[str], Replicas]
) -> None:
    database = tmp_path / "posture.db"
    url = f"sqlite+aiosqlite:///{database}"
    group = daemons(url)
    with tarpits(ENDPOINTS) as targets:
        await seed(url, targets, INTERVAL_S)
        group.start("daemon-1", "all", **DAEMON)
        await until(lambda: len(scan_runs(database)) >= 5 and leased(database) >= 3, 40, "checks running")
        group.kill("daemon-1")  # kill -9: no grace, no release, no flush
        killed_at = datetime.now(UTC)
        left = schedule(database)
        in_flight = {endpoint for endpoint, (_, owner) in left.items() if owner == "daemon-1"}
        assert in_flight, "nothing was running at the kill"
        group.start("daemon-1", "all", **DAEMON)
        every = set(range(1, ENDPOINTS + 1))

        def all_scanned_again() -> bool:
            return {endpoint for _, endpoint, started in scan_runs(database) if started > killed_at} == every

        await until(all_scanned_again, 60, "every endpoint scanned after the restart")
        codes = await asyncio.to_thread(group.stop_all)
    log = group.log("daemon-1")
    assert codes == {"daemon-1": 0}, log[-3000:]
    assert f"retook {len(in_flight)} leases left by this instance's previous run" in log
    assert integrity(database) == "ok"
    restarted_at = min(started for _, _, started in scan_runs(database) if started > killed_at)
    first_after: dict[int, datetime] = {}
    for _, endpoint, started in scan_runs(database):
        if started > killed_at:
            first_after.setdefault(endpoint, started)
    for endpoint in in_flight:  # retaken at the start, not 600 s later when the lease would expire
        assert first_after[endpoint] - restarted_at < timedelta(seconds=2), endpoint
    for endpoint, (due, owner) in left.items():  # the others kept their stored due time
        if owner is None:
            assert first_after[endpoint] >= due - timedelta(seconds=0.1), (endpoint, due, first_after[endpoint])
    runs = await runs_by_endpoint(url)
    assert min(gap for times in runs.values() for gap in gaps(times)) > INTERVAL_S - 0.5, "a check ran twice"
