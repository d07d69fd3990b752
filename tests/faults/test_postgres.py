"""PostgreSQL restarted under a running daemon (a cluster of the test's own, never the machine's): the daemon
says so in one line per task, holds the results it could not record, reconnects and goes on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from tests.conftest import throwaway_cluster
from tests.faults.harness import SLOW_CHECKS, seed, stored_leases, stored_runs, tarpits
from tests.integration.test_scale import Replicas, gaps, runs_by_endpoint
from tests.waiting import until

ENDPOINTS = 20
INTERVAL_S = 1.0  # shorter than a check (1.5 s): checks are in flight when the server goes away
DAEMON = {"POSTURE_CHECKS": SLOW_CHECKS, "POSTURE_LEASE_S": "60"}


async def test_a_restarted_postgresql_is_reconnected_and_no_result_is_lost(
    daemons: Callable[[str], Replicas],
) -> None:
    with throwaway_cluster() as cluster, tarpits(ENDPOINTS) as targets:
        url = cluster.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
        await seed(url, targets, INTERVAL_S)
        group = daemons(url)
        group.start("scanner-1", "all", **DAEMON)

        async def scanning() -> bool:
            return len(await stored_runs(url)) >= ENDPOINTS and await stored_leases(url) > 0

        await until(scanning, 30, "checks running")
        recorded_before = await stored_runs(url)
        await asyncio.to_thread(cluster.stop, "fast")  # every connection is terminated
        stopped = datetime.now(UTC)
        await until(lambda: "database unavailable while recording" in group.log("scanner-1"), 30, "the outage told")
        await asyncio.sleep(2.0)
        assert group.processes["scanner-1"].poll() is None, group.log("scanner-1")[-3000:]
        await asyncio.to_thread(cluster.start)
        back = datetime.now(UTC)

        async def every_endpoint_scanned() -> bool:
            return {endpoint for _, endpoint, started in await stored_runs(url) if started > back} == set(
                range(1, ENDPOINTS + 1)
            )

        await until(every_endpoint_scanned, 30, "every endpoint scanned after the restart")
        codes = await asyncio.to_thread(group.stop_all)
        after = await stored_runs(url)
        runs = await runs_by_endpoint(url)
    log = group.log("scanner-1")
    assert codes == {"scanner-1": 0}, log[-3000:]
    assert "Traceback" not in log, log[-5000:]
    assert set(recorded_before) <= set(after)
    held = [run for run in after if run not in recorded_before and run[2] < stopped]
    assert held, "the results of checks that finished while the server was down were not recorded afterwards"
    assert min(gap for times in runs.values() for gap in gaps(times)) > INTERVAL_S - 0.5, "a check ran twice"
