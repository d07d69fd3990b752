"""SQLite under the daemon's feet: the disk fills up, the file turns read-only. One clear line, no corruption,
nothing lost or recorded twice, and recording resumes on its own once the operator has fixed the disk."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.faults.harness import (
    SLOW_CHECKS,
    endpoints_scanned_since,
    fill,
    frozen,
    integrity,
    leased,
    read_only,
    scan_runs,
    seed,
    tarpits,
)
from tests.integration.test_scale import Replicas, gaps, runs_by_endpoint
from tests.waiting import until

ENDPOINTS = 20
INTERVAL_S = 1.0  # shorter than a check (1.5 s): each endpoint's check runs back to back, always in flight
# A long lease: a result thrown away during the fault would leave its endpoint unscanned for a minute.
DAEMON = {"POSTURE_CHECKS": SLOW_CHECKS, "POSTURE_LEASE_S": "60"}


def lines_with(log: str, needle: str) -> list[str]:
    return [line for line in log.splitlines() if needle in line]


def outage_lines(log: str, doing: str) -> list[str]:
    """The ERROR lines telling that `doing` stopped; one per outage (it starts, it ends), not one per retry."""
    started = lines_with(log, f"database unavailable while {doing}: ")
    ended = lines_with(log, f"database available again for {doing} after ")
    assert started and len(started) == len(ended), (started, ended)
    return started


async def test_a_full_disk_pauses_recording_and_it_resumes_when_space_is_back(
    small_fs: Path, daemons: Callable[[str], Replicas]
) -> None:
    url = f"sqlite+aiosqlite:///{small_fs}/posture.db"
    database = small_fs / "posture.db"
    group = daemons(url)
    with tarpits(ENDPOINTS) as targets:
        await seed(url, targets, INTERVAL_S)
        group.start("daemon-1", "all", **DAEMON)
        await until(lambda: len(scan_runs(database)) >= ENDPOINTS and leased(database) > 0, 30, "checks running")
        filler = fill(small_fs)
        await until(lambda: bool(lines_with(group.log("daemon-1"), "disk is full")), 30, "the full disk is reported")
        await asyncio.sleep(2.0)  # the disk stays full a while: the daemon waits, it does not die
        assert group.processes["daemon-1"].poll() is None, group.log("daemon-1")[-3000:]
        recorded_before = scan_runs(database)
        filler.unlink()
        freed = datetime.now(UTC)
        every = set(range(1, ENDPOINTS + 1))
        await until(lambda: endpoints_scanned_since(database, freed) == every, 20, "every endpoint scanned again")
        codes = group.stop_all()
    log = group.log("daemon-1")
    assert codes == {"daemon-1": 0}, log[-3000:]
    assert "Traceback" not in log
    recording = outage_lines(log, "recording results")
    assert all("database or disk is full (0 bytes free in " in line and "results held" in line for line in recording)
    assert integrity(database) == "ok"
    after = scan_runs(database)
    assert set(recorded_before) <= set(after), "a scan run recorded before the fault was lost"
    held = [run for run in after if run not in recorded_before and run[2] < freed]
    assert held, "the results of checks that finished while the disk was full were not recorded afterwards"
    runs = await runs_by_endpoint(url)
    assert min(gap for times in runs.values() for gap in gaps(times)) > INTERVAL_S - 0.5, "a check ran twice"


async def test_a_read_only_database_refuses_the_start_then_freezing_it_mid_run_pauses_recording(
    tmp_path: Path, daemons: Callable[[str], Replicas]
) -> None:
    directory = tmp_path / "db"
    directory.mkdir()
    database = directory / "posture.db"
    url = f"sqlite+aiosqlite:///{database}"
    group = daemons(url)
    with tarpits(ENDPOINTS) as targets:
        await seed(url, targets, INTERVAL_S)
        with read_only(directory):  # Given a database the daemon may not write
            group.start("daemon-1", "all", **DAEMON)
            # Then it exits at once, with one line saying what is wrong
            code = await asyncio.to_thread(group.processes["daemon-1"].wait, 60)
        assert code == 2
        first_start = group.log("daemon-1")
        assert "Traceback" not in first_start
        [line] = lines_with(first_start, "error")
        assert line.startswith("posture: error: database: ") and f"({directory} is not writable)" in line
        # When the operator fixes it and starts the daemon again, Then it scans
        group.start("daemon-1", "all", **DAEMON)
        await until(lambda: len(scan_runs(database)) >= ENDPOINTS and leased(database) > 0, 30, "checks running")
        # When the files turn read-only under the running daemon
        with frozen(database, directory / "posture.db-wal"):
            await until(lambda: bool(lines_with(group.log("daemon-1"), "while recording")), 30, "the fault is told")
            await asyncio.sleep(2.0)
            assert group.processes["daemon-1"].poll() is None, group.log("daemon-1")[-3000:]
            recorded_before = scan_runs(database)
        thawed = datetime.now(UTC)
        # Then it records again once they are writable, without a restart
        every = set(range(1, ENDPOINTS + 1))
        await until(lambda: endpoints_scanned_since(database, thawed) == every, 20, "every endpoint scanned again")
        codes = group.stop_all()
    log = group.log("daemon-1")
    assert codes == {"daemon-1": 0}, log[-3000:]
    assert "Traceback" not in log
    recording = outage_lines(log, "recording results")
    assert all(f"disk I/O error ({database} is not writable)" in line for line in recording)
    assert integrity(database) == "ok"
    after = scan_runs(database)
    assert set(recorded_before) <= set(after)
    assert [run for run in after if run not in recorded_before and run[2] < thawed], "held results were lost"
    runs = await runs_by_endpoint(url)
    assert min(gap for times in runs.values() for gap in gaps(times)) > INTERVAL_S - 0.5, "a check ran twice"
