"""Drain the outbox to MQTT: QoS 1, a row is sent only once the broker acknowledged it; reconnect forever."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy.exc import SQLAlchemyError

from monitor.aio import first_of
from monitor.alert_format import (
    CLOUDEVENTS_CONTENT_TYPE,
    OutboxEvent,
    alert_topic,
    cloudevent,
    intelmq_event,
    payload,
    state_topic,
    status_topic,
)
from monitor.store.availability import Outage, describe, unavailable
from monitor.store.outbox_store import OutboxStore

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH = 500
MAX_BACKOFF_S = 30.0


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # never logged, not even in a repr
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    protocol: str = "5"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        protocol: str = "5",
        password_file: Path | None = None,
        ca_file: Path | None = None,
        cert_file: Path | None = None,
        key_file: Path | None = None,
    ) -> BrokerConfig:
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        password = unquote(parts.password) if parts.password else None
        if password_file is not None:
            password = password_file.read_text().strip()
            if password_file.stat().st_mode & 0o077:
                log.warning("%s is readable by other users: chmod 600 it", password_file)
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=password,
            ca_file=ca_file,
            cert_file=cert_file,
            key_file=key_file,
            protocol=protocol,
        )

    @property
    def display(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file is not None:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


class Publisher:
    """Exactly one task drains the outbox; each row is marked sent after its PUBACK."""

    def __init__(
        self,
        outbox: OutboxStore,
        broker: BrokerConfig,
        instance_id: str,
        *,
        topic_prefix: str = "posture/v1",
        payload_format: str = "cloudevents",
    ) -> None:
        self.outbox = outbox
        self.broker = broker
        self.instance_id = instance_id
        self.prefix = topic_prefix
        self.payload_format = payload_format
        self.source = f"urn:posture-monitor:{instance_id}"
        self.wake = asyncio.Event()
        self._outage = Outage(log, "reading and marking the outbox", outbox.engine.url)
        self.connected = False
        # told True/False on every connect and disconnect, None once this process stops publishing
        self.on_connection: Callable[[bool | None], None] = lambda _connected: None
        self.published = 0

    def notify(self) -> None:
        """New rows were queued: drain now rather than at the next poll."""
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await self._publish_until(stop)
        finally:
            self.on_connection(None)  # this process publishes no more: stopping, or another replica leads now

    async def _publish_until(self, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            client: aiomqtt.Client | None = None
            try:
                client = self._client()
                async with client:
                    self._connection(True)
                    backoff = 0.5
                    log.info("connected to MQTT broker %s", self.broker.display)
                    await client.publish(self._status(), b"online", qos=1, retain=True)
                    await self._drain(client, stop)
                    # the broker sends the Last Will only on an unclean disconnect: say it ourselves
                    await client.publish(self._status(), b"offline", qos=1, retain=True)
                    return
            except (aiomqtt.MqttError, OSError) as err:
                log.warning("MQTT broker %s: %s; retrying in %.1f s", self.broker.display, err, backoff)
            except SQLAlchemyError as err:  # the database went away while stopping
                log.warning("outbox: %s; retrying in %.1f s", describe(err, self.outbox.engine.url), backoff)
            finally:
                self._connection(False)
                if client is not None:
                    _settle(client)
            await first_of(stop, wait_s=backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    def _connection(self, connected: bool) -> None:
        self.connected = connected
        self.on_connection(connected)

    def _client(self) -> aiomqtt.Client:
        v5 = self.broker.protocol == "5"
        client = aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            username=self.broker.username,
            password=self.broker.password,
            identifier=f"posture-{self.instance_id}",
            protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
            will=aiomqtt.Will(self._status(), b"offline", qos=1, retain=True),
            tls_context=self.broker.tls_context(),
            timeout=10,
            keepalive=15,
            max_inflight_messages=200,
        )
        client.pending_calls_threshold = 2 * BATCH  # a batch in flight is the plan, not a warning sign
        return client

    def _status(self) -> str:
        return status_topic(self.prefix, self.instance_id)

    async def _drain(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.wake.clear()
            batch = await self._stored(stop, partial(self.outbox.pending, BATCH))
            if not batch:
                await first_of(stop, self.wake, wait_s=1.0)
                _raise_if_lost(client)  # idle, nothing is published: notice a dead broker within a second anyway
                continue
            results = await asyncio.gather(*(self._publish(client, event) for event in batch), return_exceptions=True)
            sent, failed = _acknowledged(batch, results)
            # the broker has them: a database outage now must not make them all go out again
            await self._stored(stop, partial(self.outbox.mark_sent, sent, failed))
            self.published += len(sent)
            if failed:
                error = next(r for r in results if isinstance(r, BaseException))
                raise aiomqtt.MqttError(f"{len(failed)} of {len(batch)} alerts not acknowledged: {error}")
            await self._publish_states(client, sorted({event.endpoint_id for event in batch}), stop)

    async def _stored(self, stop: asyncio.Event, operation: Callable[[], Awaitable[T]]) -> T:
        """An outbox read or write that waits out an unavailable database, keeping the broker connection; once
        `stop` is set it gives up, raising the database's error (unmarked rows go out again at the next start)."""
        while True:
            try:
                result = await operation()
            except (SQLAlchemyError, OSError) as err:
                if not unavailable(err) or stop.is_set():
                    raise
                await first_of(stop, wait_s=self._outage.failed(err, "alerts wait in the outbox"))
                continue
            self._outage.recovered()
            return result

    async def _publish(self, client: aiomqtt.Client, event: OutboxEvent) -> None:
        if self.payload_format == "intelmq":
            body: dict[str, Any] = intelmq_event(event, feed="posture-monitor")
            properties = self._properties("application/json")
        else:
            body = cloudevent(event, self.source)
            properties = self._properties(CLOUDEVENTS_CONTENT_TYPE)
        await client.publish(
            alert_topic(self.prefix, event.agency, event.severity), payload(body), qos=1, properties=properties
        )

    async def _publish_states(self, client: aiomqtt.Client, endpoint_ids: Sequence[int], stop: asyncio.Event) -> None:
        for state in await self._stored(stop, partial(self.outbox.endpoint_states, endpoint_ids)):
            topic = state_topic(self.prefix, state["agency"], state["endpoint_id"])
            await client.publish(
                topic, payload(state), qos=1, retain=True, properties=self._properties("application/json")
            )

    def _properties(self, content_type: str) -> Properties | None:
        if self.broker.protocol != "5":
            return None
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        properties.ContentType = content_type
        return properties


def _raise_if_lost(client: aiomqtt.Client) -> None:
    """aiomqtt completes this future when paho sees the connection end; nothing else tells an idle publisher."""
    future = getattr(client, "_disconnected", None)
    if isinstance(future, asyncio.Future) and future.done():
        reason = None if future.cancelled() else future.exception()
        raise aiomqtt.MqttError(f"connection lost ({reason or 'closed'})")


def _settle(client: aiomqtt.Client) -> None:
    """aiomqtt keeps the reason of an unexpected disconnection in a future that nobody reads once the `async with`
    has ended; asyncio would then log it as a multi-line "Future exception was never retrieved". We told it."""
    future = getattr(client, "_disconnected", None)
    if isinstance(future, asyncio.Future) and future.done() and not future.cancelled():
        future.exception()


def _acknowledged(batch: Sequence[OutboxEvent], results: Sequence[object]) -> tuple[list[int], list[int]]:
    """Rows acknowledged, and rows to send again. After one failure for an endpoint, its later rows go again
    too, so its events keep their order (a consumer may see a duplicate, with the same id, never a reordering)."""
    broken: set[int] = set()
    sent, failed = [], []
    for event, result in zip(batch, results, strict=True):
        if isinstance(result, BaseException) or event.endpoint_id in broken:
            broken.add(event.endpoint_id)
            failed.append(event.row_id)
        else:
            sent.append(event.row_id)
    return sent, failed
