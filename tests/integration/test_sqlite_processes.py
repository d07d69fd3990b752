"""One SQLite database, several processes: `posture demo` (what `make run` starts) keeps serving while an operator
runs `posture` commands beside it. No error on either side, no row lost, the file intact.

A process that opened and closed the database file a second time while its SQLite connections held locks lost
those POSIX locks; another process then took itself for the last user and deleted the WAL index under it
(every request answered 500, "disk I/O error")."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import POSTURE
from tests.integration.test_demo import start_demo

RUN_S = 60.0


def _api_read(base: str, token: str) -> int:
    """The HTTP status of one API read; 0 when nothing answered."""
    request = urllib.request.Request(f"{base}/api/v1/endpoints", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            json.load(reply)
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return 0


def _api_reads(base: str, token: str, stop: threading.Event, statuses: list[int]) -> None:
    while not stop.is_set():
        statuses.append(_api_read(base, token))
        time.sleep(0.1)


def test_cli_commands_beside_the_demo_break_nothing(tmp_path: Path) -> None:
    database = tmp_path / "posture.db"
    started = start_demo(tmp_path)
    demo, output, http_port, env, stderr = (
        started.process, started.output, started.http_port, started.env, started.stderr
    )  # fmt: skip
    assert demo.stdout is not None
    token: str | None = None
    seen: list[str] = []
    statuses: list[int] = []
    stop = threading.Event()
    created: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while token is None and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                line = output.get(timeout=1)
                if seen and seen[-1].startswith("web UI: "):
                    token = line.strip()
                seen.append(line)
            assert demo.poll() is None, "\n".join(seen)
        assert token and re.fullmatch(r"[A-Za-z0-9_-]{40,}", token), "\n".join(seen)
        base = f"http://127.0.0.1:{http_port}"
        while _api_read(base, token) != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        reader = threading.Thread(target=_api_reads, args=(base, token, stop, statuses), daemon=True)
        reader.start()
        finish = time.monotonic() + RUN_S
        round_ = 0
        while time.monotonic() < finish:
            round_ += 1
            slug = f"lk-parallel-{round_}"
            for command in (
                ["token", "create", "--role", "admin"],
                ["agency", "add", slug, "--name", f"Landkreis {round_}"],
                ["endpoint", "list"],
            ):
                done = subprocess.run([*POSTURE, *command], env=env, cwd=tmp_path, capture_output=True, text=True)
                assert done.returncode == 0, (command, done.stdout, done.stderr)
                # the CLI's last connection must see the daemon's: it checkpoints and deletes the WAL index only
                # when it takes itself for the database's last user
                assert Path(f"{database}-shm").exists(), f"the WAL index was deleted after {command}"
            created.append(slug)
            assert demo.poll() is None
        stop.set()
        reader.join(timeout=15)
    finally:
        stop.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=40)
        stderr.close()
        demo.stdout.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert code == 0, log
    assert "Traceback" not in log and " ERROR " not in log and "disk I/O" not in log, log
    assert statuses and set(statuses) == {200}, f"API answers while CLI commands ran: {sorted(set(statuses))}"
    assert len(created) >= 3
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        slugs = {slug for (slug,) in conn.execute("SELECT slug FROM agency")}
        admins = conn.execute("SELECT count(*) FROM api_token WHERE role = 'admin'").fetchone()[0]
    assert set(created) <= slugs, "an agency written by the CLI was lost"
    assert admins == len(created)
