"""Alerts end to end against a real Mosquitto: outbox → publisher → broker → a real subscriber."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.alerter import BrokerConfig, Publisher
from monitor.findings import Policy
from monitor.models import Severity
from monitor.scheduler import Limits, Scheduler
from monitor.store.outbox_store import OutboxStore
from monitor.store.registry import Registry
from monitor.store.tables import CHECK_STATE, OUTBOX
from monitor.store.work import WorkQueue
from monitor.usecases.alerting import AlertRouter
from monitor.usecases.recording import Recorder
from tests.fake_checks import FAKE_REGISTRY, FakeConfig, ToggleCheck
from tests.mqtt_broker import Broker, start_broker, subscribed
from tests.test_scheduler import ACTOR, CADENCE, seed

ROOT = Path(__file__).resolve().parents[2]


def data_schema() -> dict[str, Any]:
    text = (ROOT / "docs" / "alerts.md").read_text()
    block = text.split("### Schema of `data`", 1)[1]
    return json.loads(re.search(r"```json\n(.*?)```", block, re.S).group(1))  # type: ignore[union-attr]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_broker(tmp_path / "broker")
    yield broker
    broker.stop()


def recorder_for(engine: AsyncEngine) -> Recorder:
    """The findings lifecycle over a work queue, alerts linking to a test UI."""
    return Recorder(
        WorkQueue(engine, "test-1", CADENCE, 60), Policy(), AlertRouter("https://posture.test", Severity.LOW)
    )


def publisher_for(engine: AsyncEngine, broker: Broker, **kwargs: Any) -> Publisher:
    config = BrokerConfig.from_url(broker.url, ca_file=broker.directory / "ca.crt" if broker.ca else None)
    return Publisher(OutboxStore(engine), config, "test-instance", **kwargs)


async def scan_once(engine: AsyncEngine, recorder: Recorder) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    checks = {name: cls() for name, cls in FAKE_REGISTRY.items()}
    configs = dict.fromkeys(FAKE_REGISTRY, FakeConfig())
    scheduler = Scheduler(recorder.queue, checks, configs, Limits(concurrency=64), recorder=recorder)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    async with asyncio.timeout(30):
        while scheduler.recorded < await count_due_once(engine):
            await asyncio.sleep(0.05)
    stop.set()
    await task


async def count_due_once(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return len((await conn.execute(select(CHECK_STATE.c.endpoint_id))).all())


@pytest.fixture
async def running_publisher() -> AsyncIterator[Any]:
    tasks: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(publisher: Publisher) -> Publisher:
        stop = asyncio.Event()
        tasks.append((stop, asyncio.create_task(publisher.run(stop))))
        return publisher

    yield start
    for stop, task in tasks:
        stop.set()
        await asyncio.wait_for(task, 15)


async def test_opened_then_resolved_reach_the_subscriber_as_cloudevents(
    engine: AsyncEngine, broker: Broker, running_publisher: Any
) -> None:
    await seed(engine, [("127.0.0.2", 443)], ["toggle"], interval=3600)
    recorder = recorder_for(engine)
    async with subscribed(broker, "posture/v1/#", v5=True) as subscriber:
        publisher = running_publisher(publisher_for(engine, broker))
        recorder.on_outbox = publisher.notify
        ToggleCheck.present = True
        await scan_once(engine, recorder)
        await subscriber.wait_for(lambda s: len(s.payloads("posture/v1/alerts/")) == 1)
        ToggleCheck.present = False
        await scan_once(engine, recorder)
        await subscriber.wait_for(lambda s: len(s.payloads("posture/v1/alerts/")) == 2)
        # the state after the fix: the one after the opened alert may still be the last to have arrived
        await subscriber.wait_for(
            lambda s: any(p.get("open_findings", {}).get("high") == 0 for p in s.payloads("posture/v1/state/"))
        )
    opened, resolved = subscriber.payloads("posture/v1/alerts/")
    assert [opened["type"], resolved["type"]] == [
        "org.posture-monitor.finding.opened",
        "org.posture-monitor.finding.resolved",
    ]
    assert opened["specversion"] == "1.0" and opened["subject"] == "test-agency/1"
    assert opened["source"] == "urn:posture-monitor:test-instance"
    for event in (opened, resolved):
        jsonschema.validate(event["data"], data_schema())
    # the agency's alert language, German by default; the fixed finding says so in title and summary
    assert opened["data"]["language"] == resolved["data"]["language"] == "de"
    assert opened["data"]["summary"] == "Hoch: noticed – 127.0.0.2:443"
    assert (resolved["data"]["title"], resolved["data"]["summary"]) == (
        "Behoben: noticed",
        "Behoben (hoch): noticed – 127.0.0.2:443",
    )
    assert opened["data"]["detail"]["banner"] == "<script>alert(1)</script>"  # data, untouched; escaped on display
    assert opened["data"]["link"].startswith("https://posture.test/findings/")
    alert = next(m for m in subscriber.messages if str(m.topic) == "posture/v1/alerts/test-agency/high")
    assert alert.properties is not None and alert.properties.ContentType == "application/cloudevents+json"
    status = [m.payload for m in subscriber.messages if str(m.topic) == "posture/v1/status/test-instance"]
    assert status[0] == b"online"
    states = [m.payload for m in subscriber.messages if str(m.topic) == "posture/v1/state/test-agency/1"]
    state = json.loads(states[-1])  # type: ignore[arg-type]
    assert state["open_findings"]["high"] == 0 and state["endpoint"] == "127.0.0.2:443"  # after the fix


async def test_an_english_agency_gets_its_alerts_in_english_on_every_path(engine: AsyncEngine) -> None:
    await seed(engine, [("127.0.0.2", 443)], ["toggle"], interval=3600)
    await Registry(engine).change_agency("test-agency", ACTOR, alert_language="en")
    recorder = recorder_for(engine)
    ToggleCheck.present = True
    await scan_once(engine, recorder)  # the scheduler's claim
    async with engine.connect() as conn:
        [data] = [row.data for row in await conn.execute(select(OUTBOX.c.data))]
    assert (data["language"], data["summary"]) == ("en", "High: noticed – 127.0.0.2:443")
    jsonschema.validate(data, data_schema())
    async with recorder.queue.recording() as tx:  # re-judging and the time-driven sweep
        assert (await tx.alert_targets([1]))[1][1].language == "en"
        [(_, _, target, _)] = await tx.sweep_candidates(datetime.now(UTC), {Severity.HIGH: timedelta(0)})
        assert target.language == "en"


async def test_password_and_tls_brokers(engine: AsyncEngine, tmp_path: Path, running_publisher: Any) -> None:
    await seed(engine, [("127.0.0.2", 443)], ["toggle"], interval=3600)
    ToggleCheck.present = True
    await scan_once(engine, recorder_for(engine))
    for name, options in (("auth", {"password": True}), ("tls", {"tls": True, "password": True})):
        broker = start_broker(tmp_path / name, **options)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(OUTBOX).values(sent_at=None))
            async with subscribed(broker, "posture/v1/alerts/#") as subscriber:
                running_publisher(publisher_for(engine, broker))
                await subscriber.wait_for(lambda s: len(s.messages) >= 1)
        finally:
            broker.stop()


async def test_wrong_password_is_retried_and_never_logged(
    engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broker = start_broker(tmp_path / "auth", password=True)
    try:
        config = BrokerConfig.from_url(f"mqtt://posture:wrong-pw@127.0.0.1:{broker.port}")
        publisher = Publisher(OutboxStore(engine), config, "test-instance")
        stop = asyncio.Event()
        task = asyncio.create_task(publisher.run(stop))
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.wait_for(task, 10)
    finally:
        broker.stop()
    assert "retrying" in caplog.text and "wrong-pw" not in caplog.text and not publisher.connected


async def test_broker_down_then_back_every_event_arrives(
    engine: AsyncEngine, broker: Broker, running_publisher: Any
) -> None:
    await seed(engine, [(f"127.0.{i // 200}.{i % 200 + 2}", 443) for i in range(500)], ["toggle"], interval=3600)
    ToggleCheck.present = True
    async with subscribed(broker, "posture/v1/alerts/#") as subscriber:
        broker.stop()  # the subscriber's persistent session survives in the broker's persistence file
        recorder = recorder_for(engine)
        publisher = running_publisher(publisher_for(engine, broker))
        recorder.on_outbox = publisher.notify
        await scan_once(engine, recorder)  # 500 findings open while the broker is down
        await asyncio.sleep(1.0)
        assert await OutboxStore(engine).count_pending() == 500
        broker.start()
        await subscriber.wait_for(lambda s: len({p["id"] for p in s.payloads()}) == 500, timeout=60)
    async with engine.connect() as conn:
        expected = {row.event_id for row in await conn.execute(select(OUTBOX.c.event_id))}
    received = [p["id"] for p in subscriber.payloads()]
    assert set(received) == expected and len(expected) == 500
    async with asyncio.timeout(10):  # the PUBACKs are in: every row gets marked sent
        while await OutboxStore(engine).count_pending():
            await asyncio.sleep(0.05)


async def test_intelmq_payload_is_a_valid_intelmq_event(
    engine: AsyncEngine, broker: Broker, running_publisher: Any
) -> None:
    import intelmq
    from intelmq.lib.message import Event

    await seed(engine, [("127.0.0.2", 443)], ["toggle"], interval=3600)
    ToggleCheck.present = True
    await scan_once(engine, recorder_for(engine))
    async with subscribed(broker, "posture/v1/alerts/#") as subscriber:
        running_publisher(publisher_for(engine, broker, payload_format="intelmq"))
        await subscriber.wait_for(lambda s: len(s.messages) >= 1)
    [payload] = subscriber.payloads()
    harmonization = json.loads((Path(intelmq.__file__).parent / "etc" / "harmonization.conf").read_text())
    event = Event(payload, harmonization=harmonization)  # raises on any field outside the harmonization
    assert event["source.ip"] == "127.0.0.2" and event["source.port"] == 443
    assert event["classification.identifier"] == "fake.noticed" and event["severity"] == "high"
    assert event["extra.status"] == "new" and event["extra.summary"] == "Hoch: noticed – 127.0.0.2:443"
