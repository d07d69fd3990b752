"""A real Mosquitto on a free loopback port, with a config the test writes, and a real subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import trustme

from tests.conftest import free_port


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if found is None:
        raise RuntimeError("mosquitto not found: install the Debian package mosquitto (`make deps`)")
    return found


@dataclass
class Broker:
    directory: Path
    port: int
    username: str | None = None
    password: str | None = None
    ca: trustme.CA | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        scheme = "mqtts" if self.ca else "mqtt"
        credentials = f"{self.username}:{self.password}@" if self.username else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 1",
            f"log_dest file {self.directory}/mosquitto.log",
            # as root, mosquitto would drop to its own user, who cannot read pytest's private temp directory
            f"user {getpass.getuser()}",
        ]
        if self.username:
            passwords = self.directory / "passwords"
            subprocess.run(
                ["mosquitto_passwd", "-b", "-c", str(passwords), self.username, self.password or ""],
                check=True,
                capture_output=True,
            )
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.ca:
            server = self.ca.issue_cert("127.0.0.1")
            server.cert_chain_pems[0].write_to_path(str(self.directory / "server.crt"))
            server.private_key_pem.write_to_path(str(self.directory / "server.key"))
            self.ca.cert_pem.write_to_path(str(self.directory / "ca.crt"))
            lines += [
                f"cafile {self.directory}/ca.crt",
                f"certfile {self.directory}/server.crt",
                f"keyfile {self.directory}/server.key",
            ]
        config = self.directory / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen([mosquitto_binary(), "-c", str(config)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not start; see {self.directory}/mosquitto.log")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def start_broker(directory: Path, *, password: bool = False, tls: bool = False) -> Broker:
    directory.mkdir(parents=True, exist_ok=True)
    broker = Broker(
        directory,
        free_port(),
        username="posture" if password else None,
        password="s3cret-pw" if password else None,
        ca=trustme.CA() if tls else None,
    )
    broker.start()
    return broker


@dataclass
class Subscriber:
    """Collects every message on its topics, with a persistent session so nothing is missed across restarts."""

    broker: Broker
    topics: list[str]
    identifier: str = "test-subscriber"
    v5: bool = False  # MQTT 5 shows message properties; 3.1.1 keeps a persistent session simply
    messages: list[aiomqtt.Message] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)  # time.perf_counter() of each message, for latency
    _task: asyncio.Task[None] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client(
                    "127.0.0.1",
                    self.broker.port,
                    identifier=self.identifier,
                    username=self.broker.username,
                    password=self.broker.password,
                    clean_session=None if self.v5 else False,
                    protocol=aiomqtt.ProtocolVersion.V5 if self.v5 else aiomqtt.ProtocolVersion.V311,
                    tls_context=self._tls(),
                ) as client:
                    for topic in self.topics:
                        await client.subscribe(topic, qos=1)
                    self.ready.set()
                    async for message in client.messages:
                        self.arrivals.append(time.perf_counter())
                        self.messages.append(message)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)

    def _tls(self) -> ssl.SSLContext | None:
        if self.broker.ca is None:
            return None
        context = ssl.create_default_context()
        self.broker.ca.configure_trust(context)
        return context

    async def __aenter__(self) -> Subscriber:
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(10):
            await self.ready.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def payloads(self, topic_prefix: str = "") -> list[dict[str, Any]]:
        return [
            json.loads(bytes(m.payload))  # type: ignore[arg-type]
            for m in self.messages
            if str(m.topic).startswith(topic_prefix) and m.payload not in (b"online", b"offline")
        ]

    async def wait_for(self, predicate: Any, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self):
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def subscribed(broker: Broker, *topics: str, v5: bool = False) -> AsyncIterator[Subscriber]:
    async with Subscriber(broker, list(topics), v5=v5) as subscriber:
        yield subscriber
