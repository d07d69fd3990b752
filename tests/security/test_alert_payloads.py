"""Attacker-controlled text (banners, certificate fields) in alerts: JSON-encoded data on a fixed topic."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.alerter import BrokerConfig, Publisher
from monitor.store.outbox_store import OutboxStore
from monitor.store.tables import OUTBOX
from tests.integration.test_alerts import running_publisher
from tests.mqtt_broker import Broker, start_broker, subscribed

__all__ = ["running_publisher"]

HOSTILE = '<script>alert(1)</script>"},{"x":1} \x1b]0;owned\x07\x1b[2J\x00 /#+ \u202e'
SLUG = "a" * 39 + "z"  # the longest slug there is


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_broker(tmp_path / "broker")
    yield broker
    broker.stop()


async def plant(engine: AsyncEngine) -> None:
    data = {
        "key": "patch.banner.outdated",
        "check": "patches",
        "host": "127.0.0.1",
        "port": 22,
        "title": f"Outdated SSH {HOSTILE}",
        "detail": {"banner": HOSTILE, "subject": f"CN={HOSTILE}"},
    }
    async with engine.begin() as conn:
        await conn.execute(
            insert(OUTBOX).values(
                event_id=str(uuid.uuid4()),
                type="finding.opened",
                agency=SLUG,
                endpoint_id=1,
                severity=3,
                data=data,
                created_at=datetime.now(UTC),
                attempts=0,
            )
        )


@pytest.mark.parametrize("payload_format", ["cloudevents", "intelmq"])
async def test_hostile_text_reaches_the_broker_as_json_data_on_the_expected_topic(
    engine: AsyncEngine, broker: Broker, running_publisher: Any, payload_format: str
) -> None:
    await plant(engine)
    config = BrokerConfig.from_url(broker.url)
    async with subscribed(broker, "#", v5=True) as subscriber:
        running_publisher(Publisher(OutboxStore(engine), config, "sec-1", payload_format=payload_format))
        await subscriber.wait_for(lambda s: any("/alerts/" in str(m.topic) for m in s.messages))
    alerts = [m for m in subscriber.messages if "/alerts/" in str(m.topic)]
    assert [str(m.topic) for m in alerts] == [f"posture/v1/alerts/{SLUG}/high"]
    raw = bytes(alerts[0].payload)  # type: ignore[arg-type]
    assert raw.isascii() and not any(byte < 0x20 for byte in raw)  # control characters travel escaped
    body = json.loads(raw)
    detail = body["data"]["detail"] if payload_format == "cloudevents" else body["extra.detail"]
    assert detail["banner"] == HOSTILE  # data, byte for byte: whoever displays it escapes it for their medium
