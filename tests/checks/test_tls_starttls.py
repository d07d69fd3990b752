"""The TLS check through SMTP STARTTLS: real SMTP servers (aiosmtpd) on loopback port 25, scanned as an MX.

Given an MX registered with the TLS check on port 25 (STARTTLS by the port rule) or with `starttls = "smtp"`,
when the check runs, then sslyze and our own probes greet, EHLO and STARTTLS before each handshake, and the facts
and findings are those of the TLS behind it, without HTTP (HSTS) ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig, hello
from monitor.heap import freeze_startup_heap
from monitor.models import CheckResult, CheckStatus, Target
from monitor.runner import execute
from tests.conftest import Posture
from tests.servers import raw_server, smtpd

MX = "mx.starttls.test"
GOOD, LEGACY, WRONG_NAME, PLAIN = "127.0.0.61", "127.0.0.62", "127.0.0.63", "127.0.0.64"
RAW = "127.0.0.65"  # a hand-written server per test
OTHER_PORT = 2525  # a submission relay on a port of its own: STARTTLS only when set


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("starttls") / "agency-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _context(cert: trustme.LeafCert, *, legacy: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    if legacy:  # TLS 1.0 and a suite without forward secrecy, as an old MTA might still offer
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # what the test serves on purpose
            context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:AES128-SHA:@SECLEVEL=0")
    else:
        context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert.configure_cert(context)
    return context


@pytest.fixture(scope="module")
def servers(ca: trustme.CA) -> Iterator[None]:
    good = ca.issue_cert(MX)
    with contextlib.ExitStack() as stack:
        stack.enter_context(smtpd(GOOD, _context(good), server_hostname=MX))
        stack.enter_context(smtpd(GOOD, _context(good), port=OTHER_PORT, server_hostname=MX))
        stack.enter_context(smtpd(LEGACY, _context(ca.issue_cert(MX, key_type=trustme.KeyType.RSA), legacy=True)))
        stack.enter_context(smtpd(WRONG_NAME, _context(ca.issue_cert("other.example"))))
        stack.enter_context(smtpd(PLAIN, None, server_hostname=MX))  # no STARTTLS offered
        yield


async def _scan(address: str, cfg: TlsConfig, port: int = 25) -> CheckResult[Any]:
    return await execute(TlsCheck(), Target(MX, port, address=address), cfg, CheckContext())


def _keys(result: CheckResult[Any]) -> set[str]:
    return {o.key for o in result.observations}


@pytest.mark.usefixtures("servers")
async def test_port_25_is_scanned_through_starttls_by_default(ca_file: Path) -> None:
    result = await _scan(GOOD, TlsConfig(ca_file=ca_file))
    assert result.status is CheckStatus.OK, result.error
    details = result.details
    assert details.starttls == "smtp" and details.sni == MX
    assert details.protocols == ("TLSv1.2", "TLSv1.3")
    assert details.suites["TLSv1.3"] and details.weakest_suite
    assert details.certificate is not None and details.certificate.trust == "trusted"
    assert MX in details.certificate.dns_names
    assert not details.scan_errors, details.scan_errors
    assert details.handshake is not None and details.handshake.protocol == "TLSv1.3"
    # no HTTP on an MX: no HSTS finding, no HTTP part untested, and A (A+ needs HSTS) at best
    assert details.http is None
    assert not {k for k in _keys(result) if k.startswith("tls.hsts")}
    assert "tls.cert.hostname_mismatch" not in _keys(result)
    assert details.grade == "A"


@pytest.mark.usefixtures("servers")
async def test_tls_1_0_and_a_suite_without_forward_secrecy_are_reported_as_on_direct_tls(ca_file: Path) -> None:
    result = await _scan(LEGACY, TlsConfig(ca_file=ca_file))
    assert result.status is CheckStatus.OK, result.error
    assert "TLSv1.0" in result.details.protocols and "TLSv1.3" not in result.details.protocols
    assert "TLS_RSA_WITH_AES_128_CBC_SHA" in {s.name for s in result.details.suites["TLSv1.2"]}
    keys = _keys(result)
    assert {"tls.protocol.tls1_0", "tls.protocol.tls1_1", "tls.cipher.no_forward_secrecy"} <= keys, keys
    assert "tls.compliance.bsi_tr_02102_2" in keys


@pytest.mark.usefixtures("servers")
async def test_a_certificate_not_for_the_mx_name_is_reported(ca_file: Path) -> None:
    result = await _scan(WRONG_NAME, TlsConfig(ca_file=ca_file))
    assert result.status is CheckStatus.OK, result.error
    mismatch = next(o for o in result.observations if o.key == "tls.cert.hostname_mismatch")
    assert mismatch.detail["host"] == MX and mismatch.detail["dns_names"] == ["other.example"]


@pytest.mark.usefixtures("servers")
async def test_an_mx_without_starttls_is_unreachable_with_the_reason(ca_file: Path) -> None:
    result = await _scan(PLAIN, TlsConfig(ca_file=ca_file))
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == "SMTP STARTTLS failed: the EHLO reply does not offer STARTTLS"


@pytest.mark.usefixtures("servers")
async def test_starttls_none_on_port_25_expects_tls_from_the_first_byte(ca_file: Path) -> None:
    result = await _scan(GOOD, TlsConfig(ca_file=ca_file, starttls="none"))
    assert result.status is CheckStatus.UNREACHABLE
    assert "does not speak TLS" in (result.error or "")


@pytest.mark.usefixtures("servers")
async def test_starttls_smtp_on_another_port(ca_file: Path) -> None:
    direct = await _scan(GOOD, TlsConfig(ca_file=ca_file), port=OTHER_PORT)  # 'auto' on 2525: direct TLS
    assert direct.status is CheckStatus.UNREACHABLE
    result = await _scan(GOOD, TlsConfig(ca_file=ca_file, starttls="smtp"), port=OTHER_PORT)
    assert result.status is CheckStatus.OK, result.error
    assert result.details.starttls == "smtp" and result.details.certificate is not None


async def test_a_refusing_greeting_a_silent_server_and_a_flood_are_unreachable_with_the_reason() -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"554 mx.starttls.test no service for you\r\n")
        await writer.drain()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)  # waits for a ClientHello that never comes: it expects us to speak first

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx.starttls.test ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-mx.starttls.test\r\n" + b"250-X-PADDING\r\n" * 10_000)
        await writer.drain()

    for handler, expected in (
        (refuse, "SMTP STARTTLS failed: the server greets with 554: mx.starttls.test no service for you"),
        (silent, "SMTP STARTTLS did not reach the TLS handshake within 1 s"),
        (flood, "SMTP STARTTLS failed: the EHLO reply has more than 100 lines"),
    ):
        async with raw_server(RAW, handler):
            started = time.perf_counter()
            result = await _scan(RAW, TlsConfig(network_timeout_s=1))
            elapsed = time.perf_counter() - started
        assert result.status is CheckStatus.UNREACHABLE
        assert (result.error or "").startswith(expected), result.error
        assert elapsed < 3


@pytest.mark.usefixtures("servers")
async def test_our_own_client_hellos_go_through_starttls_too() -> None:
    suites = hello.suites_for("TLSv1.2")
    through = await hello.first_flight(hello.Route(LEGACY, 25, "smtp"), "TLSv1.2", suites, MX, 5)
    assert through is not None and through.protocol == "TLSv1.2" and through.certificates
    tls10 = await hello.first_flight(hello.Route(LEGACY, 25, "smtp"), "TLSv1.0", hello.suites_for("TLSv1.0"), MX, 5)
    assert tls10 is not None and tls10.protocol == "TLSv1.0"
    # without STARTTLS the greeting is read as a TLS record header whose length never arrives: no flight
    assert await hello.first_flight(hello.Route(LEGACY, 25), "TLSv1.2", suites, MX, 0.5) is None
    assert await hello.first_flight(hello.Route(PLAIN, 25, "smtp"), "TLSv1.2", suites, MX, 5) is None


@pytest.mark.usefixtures("servers")
async def test_quick_probes_go_through_starttls_and_a_direct_tls_scan_is_no_baseline(ca_file: Path) -> None:
    cfg = TlsConfig(ca_file=ca_file, full_scan_every_s=86_400)
    full = await _scan(GOOD, cfg)
    assert full.status is CheckStatus.OK and full.details.handshake is not None
    context = CheckContext(peer_details={"tls": full.details})
    quick = await execute(TlsCheck(), Target(MX, 25, address=GOOD), cfg, context)
    assert quick.details.scanned_at == full.details.scanned_at  # one handshake through STARTTLS, no full scan
    direct = full.details.model_copy(update={"starttls": None})  # facts of a scan without STARTTLS
    context = CheckContext(peer_details={"tls": direct})
    again = await execute(TlsCheck(), Target(MX, 25, address=GOOD), cfg, context)
    assert again.details.scanned_at != full.details.scanned_at and again.details.starttls == "smtp"


def test_the_port_rule() -> None:
    auto = TlsConfig()
    assert [auto.starttls_for(p) for p in (25, 587, 465, 443, 2525)] == ["smtp", "smtp", None, None, None]
    assert TlsConfig(starttls="none").starttls_for(25) is None
    assert TlsConfig(starttls="smtp").starttls_for(465) == "smtp"
    assert not auto.asks_http(25) and auto.asks_http(443)


@pytest.mark.usefixtures("servers")
async def test_the_event_loop_keeps_ticking_during_a_starttls_scan(ca_file: Path) -> None:
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    freeze_startup_heap()  # as the daemon does: a full collection of the test session's heap is no check's pause
    task = asyncio.create_task(ticker())
    try:
        result = await _scan(GOOD, TlsConfig(ca_file=ca_file))
    finally:
        done.set()
        await task
        gc.unfreeze()
    assert result.status is CheckStatus.OK
    assert max(gaps) < 0.25, f"event loop blocked for {max(gaps):.3f} s"


@pytest.mark.usefixtures("servers")
def test_posture_scan_of_an_mx_on_port_25(posture: Posture, ca_file: Path) -> None:
    result = posture("scan", f"{GOOD}:25", "--checks", "tls", "--json", "--ca-file", str(ca_file))
    assert result.code in (0, 1), result.stderr
    (tls,) = json.loads(result.stdout)["results"]
    assert tls["status"] == "ok", tls["error"]
    assert tls["details"]["starttls"] == "smtp" and "TLSv1.3" in tls["details"]["suites"]
    keys = {o["key"] for o in tls["observations"]}
    assert "tls.cert.hostname_mismatch" in keys  # the certificate names the MX, the command line its address
    assert not any(k.startswith("tls.hsts") for k in keys)


def test_the_setting_per_agency(posture: Posture) -> None:
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "land-a", "--name", "Land A").code == 0
    result = posture("agency", "settings", "land-a", "--set", "tls.starttls=smtp")
    assert result.code == 0, result.stderr
    assert 'tls.starttls = "smtp"' in result.stdout.splitlines()
    refused = posture("agency", "settings", "land-a", "--set", "tls.starttls=imap")
    assert refused.code == 2 and "tls.starttls: Input should be 'auto', 'none' or 'smtp'" in refused.stderr
