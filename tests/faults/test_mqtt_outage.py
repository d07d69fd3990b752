"""The broker goes away for a long while during live scanning (tests/integration/test_alerts.py covers a queue
built before the first connection, tests/integration/test_daemon_alerts.py a SIGKILL with unsent alerts):
the outbox grows while the publisher backs off, nothing is lost, and it drains in each endpoint's order."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from monitor.app import Daemon
from monitor.settings import Settings
from tests.conftest import free_port
from tests.faults.harness import seed
from tests.mqtt_broker import Broker, start_broker, subscribed
from tests.waiting import until

ENDPOINTS = 8
OUTAGE_S = 14.0  # "minutes" compressed: long enough for five reconnect attempts with growing pauses
TOGGLE_S = 2.0


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_broker(tmp_path / "broker")
    yield broker
    broker.stop()


class Flapping:
    """Loopback ports that listen for `TOGGLE_S`, then refuse for `TOGGLE_S`: every endpoint alternates
    endpoint.unreachable / endpoint.recovered, so each endpoint's events have an order to keep."""

    def __init__(self) -> None:
        self.targets = [(f"127.0.2.{n + 1}", free_port(f"127.0.2.{n + 1}")) for n in range(ENDPOINTS)]
        self.listeners: list[socket.socket] = []

    async def run(self) -> None:
        while True:
            self.listeners = [socket.create_server(target) for target in self.targets]
            await asyncio.sleep(TOGGLE_S)
            self.close()
            await asyncio.sleep(TOGGLE_S)

    def close(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners = []


@contextlib.asynccontextmanager
async def running(daemon: Daemon) -> AsyncIterator[Daemon]:
    task = asyncio.create_task(daemon.run(handle_signals=False))
    try:
        yield daemon
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)


def outbox(database: Path) -> list[tuple[str, int, str, str | None]]:
    """(event id, endpoint, type, sent_at) of every queued alert, in the order they were written."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as conn:
        return conn.execute("SELECT event_id, endpoint_id, type, sent_at FROM outbox ORDER BY id").fetchall()


def pending(database: Path) -> int:
    return sum(1 for *_, sent in outbox(database) if sent is None)


async def test_a_long_broker_outage_during_scanning_queues_everything_and_drains_it_in_order(
    tmp_path: Path, broker: Broker
) -> None:
    database = tmp_path / "posture.db"
    url = f"sqlite+aiosqlite:///{database}"
    flapping = Flapping()
    await seed(url, flapping.targets, interval_s=1.0)
    settings = Settings(
        database_url=url,
        mqtt_url=broker.url,
        instance_id="daemon-1",
        http_addr="127.0.0.1:0",
        unreachable_after=1,
        jitter=0.0,
        grace_period_s=1.0,
        checks={"reachability": {"connect_timeout_s": 1, "timeout_s": 3, "probe_tls": False}},
    )
    toggler = asyncio.create_task(flapping.run())
    try:
        async with subscribed(broker, "posture/v1/alerts/#") as subscriber, running(Daemon(settings)) as daemon:
            await until(lambda: len(subscriber.payloads()) >= ENDPOINTS, 30, "alerts flow while the broker is up")
            await asyncio.to_thread(broker.stop)
            down = time.monotonic()
            queued = []  # the outbox keeps growing while the broker is away
            while time.monotonic() - down < OUTAGE_S:
                await asyncio.sleep(OUTAGE_S / 4)
                queued.append(pending(database))
            assert daemon.publisher is not None and not daemon.publisher.connected
            await asyncio.to_thread(broker.start)
            back = time.monotonic()
            await until(lambda: pending(database) == 0, 40, "the outbox drains once the broker is back")
            drained_s = time.monotonic() - back
            written = outbox(database)
            expected = {event_id for event_id, *_ in written}
            await subscriber.wait_for(lambda s: expected <= {p["id"] for p in s.payloads()}, timeout=20)
    finally:
        toggler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await toggler
        flapping.close()
    assert queued == sorted(queued) and queued[-1] > queued[0] > 0, queued
    received: dict[str, dict[str, object]] = {}
    for payload in subscriber.payloads():  # a retry may deliver an event twice, with the same id: the first counts
        received.setdefault(payload["id"], payload)
    for endpoint in range(1, ENDPOINTS + 1):
        stored = [event_id for event_id, owner, *_ in written if owner == endpoint]
        arrived = [event_id for event_id, payload in received.items() if payload["subject"] == f"lk-faults/{endpoint}"]
        assert arrived == stored, f"endpoint {endpoint}: alerts arrived out of order"
        types = [received[event_id]["type"] for event_id in arrived]
        assert all(a != b for a, b in itertools.pairwise(types)), types  # unreachable, recovered, …
    print(f"outbox during a {OUTAGE_S:g} s outage: {queued} pending; drained {drained_s:.1f} s after it ended")
