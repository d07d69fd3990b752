"""The daemon process with a real broker: a real check's alerts, Last Will on a kill, no loss across SIGKILL."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import POSTURE, Posture, free_port, posture_env
from tests.mqtt_broker import Broker, start_broker, subscribed


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_broker(tmp_path / "broker")
    yield broker
    broker.stop()


def register_closed_port(posture: Posture) -> int:
    """An endpoint on 127.0.0.5 whose port nothing listens on (yet)."""
    port = free_port("127.0.0.5")
    for args in (
        ["db", "upgrade"],
        ["agency", "add", "test-agency", "--name", "Test"],
        ["scope", "add", "test-agency", "127.0.0.0/8"],
        ["endpoint", "add", "test-agency", f"127.0.0.5:{port}", "--interval", "5s", "--checks", "reachability"],
    ):
        assert posture(*args).code == 0
    return port


def start_daemon(tmp_path: Path, sqlite_url: str, broker: Broker) -> subprocess.Popen[str]:
    env = posture_env(
        sqlite_url,
        POSTURE_MQTT_URL=broker.url,
        POSTURE_INSTANCE_ID="daemon-1",
        POSTURE_UNREACHABLE_AFTER="1",
        POSTURE_ALERT_MIN_SEVERITY="low",
        POSTURE_JITTER="0",
        POSTURE_CHECKS='{"reachability": {"connect_timeout_s": 1, "timeout_s": 3}}',
    )
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{free_port()}"
    return subprocess.Popen([*POSTURE, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)


def outbox(database: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(database) as conn:
        return conn.execute("SELECT event_id, sent_at FROM outbox ORDER BY id").fetchall()


def stop(daemon: subprocess.Popen[str], sig: int = signal.SIGTERM) -> str:
    if daemon.poll() is None:
        daemon.send_signal(sig)
    _, stderr = daemon.communicate(timeout=20)
    return stderr


async def test_a_real_check_alerts_unreachable_then_recovered_and_a_kill_sends_the_last_will(
    tmp_path: Path, sqlite_url: str, posture_subprocess: Posture, broker: Broker
) -> None:
    port = register_closed_port(posture_subprocess)
    async with subscribed(broker, "posture/v1/#") as subscriber:
        daemon = start_daemon(tmp_path, sqlite_url, broker)
        listener: socket.socket | None = None
        try:
            await subscriber.wait_for(
                lambda s: any(p.get("type") == "org.posture-monitor.endpoint.unreachable" for p in s.payloads()), 30
            )
            listener = socket.create_server(("127.0.0.5", port))  # the agency fixes its server
            await subscriber.wait_for(
                lambda s: any(p.get("type") == "org.posture-monitor.endpoint.recovered" for p in s.payloads()), 30
            )
            status = "posture/v1/status/daemon-1"
            assert [m.payload for m in subscriber.messages if str(m.topic) == status] == [b"online"]
            stop(daemon, signal.SIGKILL)
            await subscriber.wait_for(
                lambda s: [m.payload for m in s.messages if str(m.topic) == status][-1] == b"offline", 20
            )
        finally:
            stop(daemon, signal.SIGKILL)
            if listener is not None:
                listener.close()
    [unreachable] = [p for p in subscriber.payloads("posture/v1/alerts/") if p["type"].endswith("unreachable")]
    assert unreachable["data"]["endpoint"] == f"127.0.0.5:{port}"
    assert unreachable["data"]["detail"]["error"].startswith("TCP connect failed")


async def test_sigkill_with_unsent_alerts_loses_nothing(
    tmp_path: Path, sqlite_url: str, posture_subprocess: Posture, broker: Broker
) -> None:
    register_closed_port(posture_subprocess)
    database = tmp_path / "posture.db"
    async with subscribed(broker, "posture/v1/alerts/#") as subscriber:
        broker.stop()
        daemon = start_daemon(tmp_path, sqlite_url, broker)
        try:
            async with asyncio.timeout(30):
                while not outbox(database):
                    await asyncio.sleep(0.2)
            assert all(sent is None for _, sent in outbox(database))
        finally:
            stop(daemon, signal.SIGKILL)
        queued = {event_id for event_id, _ in outbox(database)}
        broker.start()
        daemon = start_daemon(tmp_path, sqlite_url, broker)
        try:
            await subscriber.wait_for(lambda s: queued <= {p["id"] for p in s.payloads()}, 30)
        finally:
            stderr = stop(daemon)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr
