"""The daemon as operators run it: a real process, a real listener, a real signal."""

from __future__ import annotations

import itertools
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import POSTURE, Posture, free_port, posture_env


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.2", 0), backlog=64)
    yield server
    server.close()


def scan_times(database: Path) -> list[float]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT started_at FROM scan_run ORDER BY id").fetchall()
    return [time.mktime(time.strptime(row[0][:19], "%Y-%m-%d %H:%M:%S")) + float("0" + row[0][19:]) for row in rows]


def test_daemon_scans_at_the_interval_and_stops_cleanly_on_sigterm(
    tmp_path: Path, sqlite_url: str, posture_subprocess: Posture, listener: socket.socket
) -> None:
    port = listener.getsockname()[1]
    for args in (
        ["db", "upgrade"],
        ["agency", "add", "test-agency", "--name", "Test"],
        ["scope", "add", "test-agency", "127.0.0.0/8"],
        ["endpoint", "add", "test-agency", f"127.0.0.2:{port}", "--interval", "5s", "--checks", "reachability"],
    ):
        assert posture_subprocess(*args).code == 0
    http_port = free_port()
    env = posture_env(sqlite_url, POSTURE_JITTER="0", POSTURE_GRACE_PERIOD_S="3")
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
    daemon = subprocess.Popen([*POSTURE, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    database = tmp_path / "posture.db"
    try:
        deadline = time.monotonic() + 30
        while len(scan_times(database)) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            assert daemon.poll() is None, "daemon died"
        times = scan_times(database)
        assert len(times) >= 3, "fewer than three scan runs in 30 s"
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(4.5 < gap < 6.5 for gap in gaps), gaps
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/healthz", timeout=5) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/readyz", timeout=5) as response:
            assert response.status == 200
        sent = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=10) == 0
        assert time.monotonic() - sent < 3 + 2
    finally:
        if daemon.poll() is None:
            daemon.kill()
        _, stderr = daemon.communicate(timeout=10)
    assert "Traceback" not in stderr
    assert "stopped" in stderr


def test_daemon_refuses_an_outdated_schema(tmp_path: Path, sqlite_url: str) -> None:
    done = subprocess.run(
        [*POSTURE, "run"], env=posture_env(sqlite_url), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().endswith("run `posture db upgrade`")
