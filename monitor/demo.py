"""`posture demo`: a loopback demo agency with deliberately weak servers, scanned live by the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from checks import REGISTRY
from monitor.app import Daemon
from monitor.demo_alerts import START_S, DemoBroker, mosquitto_binary, print_delivered
from monitor.display import printable
from monitor.errors import Conflict
from monitor.settings import Settings
from monitor.store.access_store import AccessStore, IssuedToken
from monitor.store.audit import Actor
from monitor.store.history import History
from monitor.store.store import Store
from monitor.usecases.registration import EndpointRequest, Registration, registration_from

DEMO_AGENCY = "demo"
DEMO_INTERVAL_S = 5.0
DEMO_ACTOR = Actor(name="demo", source="cli")
DEMO_TOKEN_LABEL = "demo sign-in"  # noqa: S105 (a label, not a secret)


@dataclass(frozen=True, slots=True)
class DemoServer:
    label: str
    host: str
    port: int
    checks: tuple[str, ...] = ("reachability", "ports")


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _expired_self_signed(directory: Path) -> ssl.SSLContext:
    """A certificate with three classic mistakes: self-signed, expired, RSA-1024."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (weak on purpose)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "demo.posture.invalid")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now - timedelta(days=10))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("demo.posture.invalid")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "demo.crt", directory / "demo.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.load_cert_chain(cert_path, key_path)
    return context


async def _answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Answers whatever arrives (a request, or a TLS probe's ClientHello) like a careless web server would.
    with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
        async with asyncio.timeout(5):
            await reader.read(4096)
        body = b"Demo-Kommune\n"
        writer.write(
            b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.49 (Unix)\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
    writer.close()


async def _answer_redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # an unauthenticated Redis, the classic critical exposure: PING answers PONG
    with contextlib.suppress(OSError, TimeoutError):
        async with asyncio.timeout(5):
            while line := await reader.readline():
                writer.write(b"+PONG\r\n" if b"PING" in line.upper() else b"-ERR unknown command\r\n")
                await writer.drain()
    writer.close()


async def _listen(handler: Any, host: str, port: int, **kwargs: Any) -> asyncio.Server:
    """On the well-known port where it is free, else on any port."""
    try:
        return await asyncio.start_server(handler, host, port, **kwargs)
    except OSError:
        return await asyncio.start_server(handler, host, 0, **kwargs)


class DemoServers:
    """Local endpoints: a web server, a TLS server with a bad certificate, an open Redis, a closed port."""

    def __init__(self) -> None:
        self._servers: list[asyncio.Server] = []
        self._tempdir = tempfile.TemporaryDirectory(prefix="posture-demo-")

    async def start(self) -> list[DemoServer]:
        web_host, tls_host, closed_host, redis_host = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
        web = await _listen(_answer_http, web_host, 8080)
        tls = await _listen(_answer_http, tls_host, 443, ssl=_expired_self_signed(Path(self._tempdir.name)))
        redis = await _listen(_answer_redis, redis_host, 6379)
        self._servers = [web, tls, redis]
        return [
            DemoServer("plain web server (banner: Apache/2.4.49)", web_host, _port(web)),
            DemoServer(
                "TLS, expired self-signed RSA-1024 certificate", tls_host, _port(tls), ("reachability", "tls", "ports")
            ),
            DemoServer("Redis without a password", redis_host, _port(redis)),
            DemoServer("closed port (becomes unreachable)", closed_host, _free_port(closed_host), ("reachability",)),
        ]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()
        self._tempdir.cleanup()


def _port(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _seed(registration: Registration, servers: list[DemoServer]) -> None:
    with contextlib.suppress(Conflict):
        await registration.add_agency(DEMO_AGENCY, "Demo-Kommune (loopback)", DEMO_ACTOR)
    for value in ("127.0.0.0/8", "::1/128"):
        with contextlib.suppress(Conflict):
            await registration.add_scope(DEMO_AGENCY, value, DEMO_ACTOR)
    for old in await registration.store.registry.list_endpoints(DEMO_AGENCY):
        await registration.remove_endpoint(old.id, None, DEMO_ACTOR)  # ports change from run to run
    for server in servers:
        request = EndpointRequest(
            server.host,
            server.port,
            checks=[name for name in server.checks if name in REGISTRY],
            interval=f"{DEMO_INTERVAL_S:g}s",
            labels={"demo": server.label},
            # the ports check looks at the demo's own port; the agency declared only 443 as expected
            expected_ports=[443],
            check_settings={"ports": {"ports": str(server.port)}},
        )
        record = await registration.register_endpoint(DEMO_AGENCY, request, DEMO_ACTOR)
        say(f"  endpoint {record.id}: {server.host}:{server.port}  {server.label}")


async def _feed(history: History, stop: asyncio.Event, queued_alerts: bool) -> None:
    """Every scan as a line; alerts too when no subscriber prints them as they are delivered."""
    runs, events = await history.cursors()  # only what happens from now on
    while not stop.is_set():
        for run in await history.runs_after(runs):
            runs = run.id
            error = f"  ({printable(run.error)})" if run.error else ""
            say(
                f"{run.started_at:%H:%M:%S}  scan   {run.check:<13} {run.endpoint:<22} {run.status:<12}"
                f"{run.duration_s * 1000:7.1f} ms  {run.observation_count} observations{error}"
            )
        for event in await history.events_after(events) if queued_alerts else ():
            events = event.id
            data = event.data
            say(
                f"{datetime.now(UTC):%H:%M:%S}  ALERT  {event.type:<20} [{data['severity']}] {data['endpoint']} "
                f"{data['key']}: {printable(data['title'])}  (queued)"
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def say(line: str) -> None:
    print(line, flush=True)  # line by line also into a pipe or `tee`


async def _own_broker(settings: Settings) -> DemoBroker | None:
    """The demo's own Mosquitto, unless POSTURE_MQTT_URL names a broker or none is installed (then it says why)."""
    if settings.mqtt_url is not None:
        say("alerts: published to the broker in POSTURE_MQTT_URL; shown here as they are queued")
        return None
    binary = mosquitto_binary()
    if binary is None:
        say(
            "alerts: mosquitto is not installed (Debian package mosquitto; `make deps` as root installs it), "
            "so they stay queued in the outbox; shown here as they are queued"
        )
        return None
    broker = DemoBroker(binary)
    try:
        await broker.start()
    except OSError as err:
        say(f"alerts: {err}; they stay queued in the outbox, shown here as they are queued")
        return None
    say(f"alerts: published to the demo's own broker {broker.url}; each is shown here as the broker delivers it")
    return broker


async def _sign_in_token(access: AccessStore) -> IssuedToken:
    """A token of the demo agency for the web UI; one left by a demo that was killed is revoked first."""
    for old in await access.list_tokens():
        if old.label == DEMO_TOKEN_LABEL and old.revoked_at is None:
            await access.revoke(old.id, DEMO_ACTOR)
    return await access.create_token("agency", DEMO_AGENCY, DEMO_TOKEN_LABEL, DEMO_ACTOR)


async def run_demo(settings: Settings, duration_s: float | None) -> int:
    store = Store.open(settings.database_url, unreachable_after=settings.unreachable_after)
    servers = DemoServers()
    broker: DemoBroker | None = None
    consumer: asyncio.Task[None] | None = None
    token: IssuedToken | None = None
    access = store.access
    try:
        await store.upgrade()
        say(f"posture demo: database {settings.database_url}")
        started = await servers.start()
        say(f"agency {DEMO_AGENCY!r}, scope 127.0.0.0/8 and ::1, every check every {DEMO_INTERVAL_S:g} s:")
        await _seed(registration_from(settings, store), started)
        broker = await _own_broker(settings)
        if broker is not None:
            settings = settings.model_copy(update={"mqtt_url": broker.url})
            subscribed = asyncio.Event()
            consumer = asyncio.create_task(print_delivered(broker.url, settings.mqtt_topic_prefix, subscribed, say))
            async with asyncio.timeout(START_S):
                await subscribed.wait()
        token = await _sign_in_token(access)
        # the token goes on its own line, never into the URL: a URL lands in logs, history and Referer headers
        say(f"web UI: {settings.own_base}/ui/login  sign in with this token of {DEMO_AGENCY!r} (revoked at the end):")
        say(f"  {token.token}")
        daemon = Daemon(settings)
        feed = asyncio.create_task(_feed(store.history, daemon.stop, queued_alerts=consumer is None))
        if duration_s is not None:
            asyncio.get_running_loop().call_later(duration_s, daemon.request_stop)
        print("daemon starting; Ctrl-C stops it.", file=sys.stderr)
        await daemon.run()
        await feed
    finally:
        if consumer is not None:
            await asyncio.sleep(0.5)  # the last alerts the publisher sent on its way out
            consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await consumer
        if broker is not None:
            await broker.stop()
        if token is not None:
            await access.revoke(token.record.id, DEMO_ACTOR)
        await servers.stop()
        await store.close()
    return 0
