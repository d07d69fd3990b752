"""Through the real daemon: an endpoint registered while the daemon runs has its first result within 60 s,
whatever its interval; and a name resolves in the daemon as in `posture scan`: through the system resolver
(/etc/hosts, then DNS) by default, through POSTURE_DNS_SERVERS alone when that is set."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.dns_server import Zone, dns_server
from tests.conftest import POSTURE, Posture, free_port, posture_env

AGENCY = "lk-erstscan"


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    """A TCP listener on 127.0.0.1 (where `localhost` points) and, on the same port where possible, on ::1."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        with contextlib.ExitStack() as stack:
            with contextlib.suppress(OSError):
                v6 = stack.enter_context(socket.socket(socket.AF_INET6))
                v6.bind(("::1", port))
                v6.listen(16)
            yield "127.0.0.1", port


def first_result(tmp_path: Path, env: dict[str, str], target: str, scopes: tuple[str, ...]) -> tuple[str, str, float]:
    """Register `target` (interval 6 h, reachability) beside a running daemon; its first result and the wait."""
    database = tmp_path / "posture.db"
    posture = Posture(env, tmp_path)
    for args in (["db", "upgrade"], ["agency", "add", AGENCY, "--name", "Landkreis Erstscan"]):
        assert posture(*args).code == 0
    for scope in scopes:
        assert posture("scope", "add", AGENCY, scope).code == 0
    stderr = (tmp_path / "daemon.txt").open("w")
    daemon = subprocess.Popen([*POSTURE, "run"], env=env, cwd=tmp_path, stderr=stderr)
    row: tuple[str, str] | None = None
    try:
        time.sleep(2)  # the daemon is up and idle
        added = posture("endpoint", "add", AGENCY, target, "--interval", "6h", "--checks", "reachability")
        assert added.code == 0, added.stderr
        registered = time.monotonic()
        while row is None and time.monotonic() - registered < 60:
            with contextlib.closing(sqlite3.connect(database, timeout=10)) as conn:
                row = conn.execute("SELECT status, coalesce(error, '') FROM latest_result").fetchone()
            time.sleep(0.25)
        waited = time.monotonic() - registered
        assert daemon.poll() is None
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
        stderr.close()
    assert code == 0, (tmp_path / "daemon.txt").read_text()
    assert row is not None, f"no first result within 60 s of registering {target}"
    return row[0], row[1], waited


def daemon_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = posture_env(f"sqlite+aiosqlite:///{tmp_path}/posture.db", **extra)
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{free_port()}"
    return env


def scan(env: dict[str, str], target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POSTURE, "scan", target, "--checks", "reachability", "--json"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )


def test_a_registered_endpoint_is_scanned_within_a_minute_whatever_its_interval(
    tmp_path: Path, listener: tuple[str, int]
) -> None:
    host, port = listener
    status, error, waited = first_result(tmp_path, daemon_env(tmp_path), f"{host}:{port}", ("127.0.0.0/8",))
    assert (status, error) == ("ok", ""), error
    assert waited < 60


def test_localhost_resolves_in_the_daemon_as_in_posture_scan(tmp_path: Path, listener: tuple[str, int]) -> None:
    _, port = listener
    env = daemon_env(tmp_path)
    scanned = scan(env, f"localhost:{port}", tmp_path)
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert json.loads(scanned.stdout)["results"][0]["status"] == "ok"
    status, error, _ = first_result(tmp_path, env, f"localhost:{port}", ("localhost", "127.0.0.0/8", "::1/128"))
    assert (status, error) == ("ok", ""), error


def test_with_dns_servers_set_only_they_are_asked(tmp_path: Path, listener: tuple[str, int]) -> None:
    _, port = listener
    zone = Zone({"nur-hier.lk-erstscan.test": {"A": ["127.0.0.1"]}})
    with dns_server(zone) as server:
        env = daemon_env(tmp_path, POSTURE_DNS_SERVERS=json.dumps([server]))
        scanned = scan(env, f"nur-hier.lk-erstscan.test:{port}", tmp_path)
        assert scanned.returncode == 0, scanned.stdout + scanned.stderr
        # /etc/hosts is not read: `localhost` is unknown to these name servers
        refused = scan(env, f"localhost:{port}", tmp_path)
        assert refused.returncode == 1 and "localhost: the name does not exist (NXDOMAIN)" in refused.stderr
        status, error, _ = first_result(
            tmp_path, env, f"nur-hier.lk-erstscan.test:{port}", ("lk-erstscan.test", "127.0.0.0/8")
        )
    assert (status, error) == ("ok", ""), error


def test_one_family_refusing_is_reachable_with_a_low_finding_naming_the_address(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        port = server.getsockname()[1]
        with socket.socket(socket.AF_INET6) as probe:
            assert probe.connect_ex(("::1", port)) != 0, "::1 must refuse this port"
        zone = Zone({"dual.lk-erstscan.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]}})
        with dns_server(zone) as dns:
            env = daemon_env(tmp_path, POSTURE_DNS_SERVERS=json.dumps([dns]))
            scanned = scan(env, f"dual.lk-erstscan.test:{port}", tmp_path)
            assert scanned.returncode == 0, scanned.stdout + scanned.stderr
            [result] = json.loads(scanned.stdout)["results"]
            assert result["status"] == "ok"
            assert [(o["key"], o["severity"], o["detail"]["addresses"]) for o in result["observations"]] == [
                ("reachability.address_unreachable", "low", ["::1"])
            ]
            status, error, _ = first_result(
                tmp_path, env, f"dual.lk-erstscan.test:{port}", ("lk-erstscan.test", "127.0.0.0/8", "::1/128")
            )
        assert (status, error) == ("ok", ""), error
        with contextlib.closing(sqlite3.connect(tmp_path / "posture.db")) as conn:
            keys = [key for (key,) in conn.execute("SELECT key FROM finding")]
        assert keys == ["reachability.address_unreachable"]
