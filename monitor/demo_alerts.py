"""The demo's alerts end to end: its own throwaway Mosquitto on a free loopback port, and a subscriber that prints
every alert the broker delivered, as the state CERT's consumer would receive it."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import shutil
import socket
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt

from monitor.alert_format import TYPE_PREFIX
from monitor.display import printable

LOOPBACK = "127.0.0.1"
START_S = 10.0


def mosquitto_binary() -> str | None:
    """Debian installs the broker in /usr/sbin, which is not on every user's PATH."""
    return shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(path).is_file()), None
    )


class DemoBroker:
    """Mosquitto listening on 127.0.0.1 only, anonymous, without persistence; gone when the demo ends."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None
        self._tempdir = tempfile.TemporaryDirectory(prefix="posture-demo-broker-")

    @property
    def url(self) -> str:
        return f"mqtt://{LOOPBACK}:{self.port}"

    async def start(self) -> None:
        """Start it and wait until it accepts connections; raises OSError naming its log when it does not."""
        directory = Path(self._tempdir.name)
        self.port = _free_port()
        config = directory / "mosquitto.conf"
        log = directory / "mosquitto.log"
        config.write_text(
            f"listener {self.port} {LOOPBACK}\n"
            "allow_anonymous true\n"
            "persistence false\n"
            f"log_dest file {log}\n"
            # started by root, mosquitto would switch to its own user, who cannot read this private directory
            f"user {getpass.getuser()}\n"
        )
        # its own session: Ctrl-C reaches the demo only, whose publisher still hands the last alerts to the broker
        self._process = await asyncio.create_subprocess_exec(
            self.binary,
            "-c",
            str(config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_S
        while loop.time() < deadline:
            if self._process.returncode is not None:
                break
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(LOOPBACK, self.port)
                writer.close()
                return
            await asyncio.sleep(0.05)
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        await self.stop()
        raise OSError(f"mosquitto did not start on {LOOPBACK}:{self.port}" + (f": {tail[0]}" if tail else ""))

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        self._tempdir.cleanup()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def delivered_line(topic: str, payload: bytes, now: datetime) -> str:
    """One printed line for one delivered alert (CloudEvents or IntelMQ); its text came from scanned servers."""
    severity = topic.rsplit("/", 1)[-1]
    try:
        body: Mapping[str, Any] = json.loads(payload)
    except ValueError:
        body = {}
    if not isinstance(body, dict) or not body:
        return f"{now:%H:%M:%S}  ALERT  on {printable(topic)}: not a JSON object ({len(payload)} bytes)"
    if isinstance(body.get("data"), dict):  # CloudEvents
        data = body["data"]
        kind = str(body.get("type", "")).removeprefix(TYPE_PREFIX)
        what = f"{data.get('endpoint')} {data.get('key')}: {data.get('title')}"
        link = data.get("link")
    else:  # IntelMQ
        kind = str(body.get("extra.event_type"))
        what = f"{body.get('source.ip') or body.get('source.fqdn')}:{body.get('source.port')} "
        what += f"{body.get('classification.identifier')}: {body.get('event_description.text')}"
        link = body.get("extra.link")
    return printable(f"{now:%H:%M:%S}  ALERT  {kind:<20} [{severity}] {what}  {link or ''}".rstrip())


async def print_delivered(
    url: str, topic_prefix: str, ready: asyncio.Event, echo: Callable[[str], None] = print
) -> None:
    """Subscribe to every alert topic and echo each delivered alert; reconnects until cancelled."""
    host, _, port = url.removeprefix("mqtt://").rpartition(":")
    while True:
        try:
            async with aiomqtt.Client(host, int(port), identifier="posture-demo-consumer") as client:
                await client.subscribe(f"{topic_prefix}/alerts/#", qos=1)
                ready.set()
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    echo(delivered_line(str(message.topic), payload, datetime.now().astimezone()))
        except aiomqtt.MqttError:
            await asyncio.sleep(0.5)
