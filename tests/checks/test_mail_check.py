"""The `mail` check end to end against real servers on loopback: a signed DNS lab (knotd + validating unbound),
SMTP servers with and without STARTTLS, with an untrusted certificate and one that tarpits, and an HTTPS server
for MTA-STS policies. One domain per case; each key of the catalogue is observed at least once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from checks import REGISTRY
from checks.base import DNS_NAMESERVERS, MAIL_PROVIDERS, CheckContext
from checks.mail.check import MailCheck
from checks.mail.details import MailConfig, MailDetails
from checks.mail.reach import reach
from monitor.models import DOMAIN_PORT, CheckResult, CheckStatus, Severity, Target
from monitor.runner import execute
from monitor.scope import ScopeEntry
from monitor.scope_resolution import AgencyScope
from tests.dns_lab import DnsLab, Zone, dns_lab

GOOD_MX, PLAIN_MX, STRANGER_MX, TARPIT_MX, POLICY_HOST, ELSEWHERE = (
    "127.0.0.51",
    "127.0.0.52",
    "127.0.0.53",
    "127.0.0.54",
    "127.0.0.55",
    "127.0.0.60",  # outside the test agency's CIDR: a third party's MX, which must never be contacted
)
PUBLIC = "9.9.9.9"  # data for the pure scope rule, never contacted
AGENCY_CIDR = "127.0.0.48/29"  # .48 - .55
GOOD_SPF = '@ TXT "v=spf1 mx -all"'
GOOD_DMARC = '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"'
GOOD_TLSRPT = '_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.org"'
STS_TXT = '_mta-sts TXT "v=STSv1; id=20261204"'
POLICY_A = f"mta-sts A {POLICY_HOST}"
BASICS = (GOOD_SPF, GOOD_DMARC, GOOD_TLSRPT)


def _policy(mode: str, *mx: str) -> str:
    return "version: STSv1\r\nmode: " + mode + "\r\n" + "".join(f"mx: {m}\r\n" for m in mx) + "max_age: 604800\r\n"


# the policy each lab domain's policy host serves: (status, content type, body)
POLICIES: dict[str, tuple[int, str, str]] = {
    "good": (200, "text/plain", _policy("enforce", "mx1.good.dnssec.test")),
    "testing": (200, "text/plain", _policy("testing", "*.testing.dnssec.test")),
    "mismatch": (200, "text/plain", _policy("enforce", "mx.elsewhere.example")),
    "sts404": (404, "text/html", "not here"),
    "stssyntax": (200, "text/plain", "version: STSv1\r\nmode: sometimes\r\nmax_age: 604800\r\n"),
}


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _spki_sha256(leaf: trustme.LeafCert) -> str:
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    return hashlib.sha256(cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)).hexdigest()


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


def _zones(good_leaf: str) -> list[Zone]:
    def mail(mx_address: str, *extra: str, basics: tuple[str, ...] = BASICS) -> tuple[str, ...]:
        return ("@ MX 10 mx1", f"mx1 A {mx_address}", *basics, *extra)

    tlsa = f"_25._tcp.mx1 TLSA 3 1 1 {good_leaf}"
    return [
        Zone("good", records=mail(GOOD_MX, STS_TXT, POLICY_A, tlsa)),
        Zone("nullmx", records=("@ MX 0 .", '@ TXT "v=spf1 -all"', GOOD_DMARC)),
        Zone("plain", records=mail(PLAIN_MX)),
        Zone("stranger", records=mail(STRANGER_MX)),
        Zone("tarpit", records=mail(TARPIT_MX)),
        Zone("twomx", records=("@ MX 10 mx1", "@ MX 20 mx2", f"mx1 A {GOOD_MX}", f"mx2 A {PLAIN_MX}", *BASICS)),
        Zone("testing", records=mail(GOOD_MX, STS_TXT, POLICY_A)),
        Zone("mismatch", records=mail(GOOD_MX, STS_TXT, POLICY_A)),
        Zone("sts404", records=mail(GOOD_MX, STS_TXT, POLICY_A)),
        Zone("stssyntax", records=mail(GOOD_MX, STS_TXT, POLICY_A)),
        Zone("stsnohost", records=mail(GOOD_MX, STS_TXT)),
        Zone("danebad", records=mail(GOOD_MX, f"_25._tcp.mx1 TLSA 3 1 1 {'ab' * 32}")),
        Zone("daneplain", signed=False, records=mail(GOOD_MX, tlsa)),
        Zone("thirdparty", records=("@ MX 10 mx.provider", f"mx.provider A {ELSEWHERE}", *BASICS)),
        Zone("nomx", records=(f"@ A {GOOD_MX}", *BASICS)),
        Zone("spoofable", records=mail(GOOD_MX, basics=('@ TXT "v=spf1 mx ~all"', '_dmarc TXT "v=DMARC1; p=none"'))),
    ]


def _mx_names(zones: list[Zone]) -> list[str]:
    return [f"{host}.{zone.label}.dnssec.test" for zone in zones for host in ("mx1", "mx2")] + [
        f"{zone.label}.dnssec.test" for zone in zones
    ]


class _PolicyHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        label = host.removeprefix("mta-sts.").removesuffix(".dnssec.test")
        status, content_type, body = POLICIES.get(label, (404, "text/plain", "unknown"))
        if self.path != "/.well-known/mta-sts.txt":
            status, body = 404, "wrong path"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Tarpit:
    """Accepts on port 25 and sends its greeting one byte a second; counts the connections it got."""

    def __init__(self, address: str) -> None:
        self.listener = socket.create_server((address, 25), reuse_port=False)
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            for byte in b"220 slow.example ESMTP\r\n" * 10:
                if self._stop.wait(1.0):
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stop.set()
        self.listener.close()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mailcheck") / "agency-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="module")
def world(ca: trustme.CA) -> Iterator[tuple[DnsLab, dict[str, _Tarpit]]]:
    good_leaf = ca.issue_cert(*_mx_names(_zones("00")))
    zones = _zones(_spki_sha256(good_leaf))
    stranger = trustme.CA()
    policy_leaf = ca.issue_cert(*(f"mta-sts.{zone.label}.dnssec.test" for zone in zones))
    with contextlib.ExitStack() as stack:
        for address, context in (
            (GOOD_MX, _server_context(good_leaf)),
            (PLAIN_MX, None),
            (STRANGER_MX, _server_context(stranger.issue_cert(*_mx_names(zones)))),
        ):
            controller = Controller(_Sink(), hostname=address, port=25, tls_context=context)
            controller.start()
            stack.callback(controller.stop)
        tarpit, elsewhere = _Tarpit(TARPIT_MX), _Tarpit(ELSEWHERE)
        stack.callback(tarpit.close)
        stack.callback(elsewhere.close)
        httpd = http.server.ThreadingHTTPServer((POLICY_HOST, 443), _PolicyHandler)
        httpd.socket = _server_context(policy_leaf).wrap_socket(httpd.socket, server_side=True)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        stack.callback(httpd.server_close)
        stack.callback(httpd.shutdown)
        lab = stack.enter_context(dns_lab(zones))
        yield lab, {"tarpit": tarpit, "elsewhere": elsewhere}


AGENCY_SCOPE = AgencyScope((ScopeEntry.parse("dnssec.test"), ScopeEntry.parse(AGENCY_CIDR)))


async def _run(
    world: tuple[DnsLab, dict[str, _Tarpit]],
    label: str,
    ca_file: Path | None,
    scope: AgencyScope | None = AGENCY_SCOPE,
    check: MailCheck | None = None,
    **settings: Any,
) -> CheckResult[MailDetails]:
    lab = world[0]
    cfg = MailConfig(ca_file=ca_file, **{"mx_deadline_s": 3.0, **settings})
    ctx = CheckContext(resources={DNS_NAMESERVERS: (lab.resolver,), MAIL_PROVIDERS: ()})
    target = Target(lab.domain(label), DOMAIN_PORT, scope=scope)
    result = await execute(check or MailCheck(), target, cfg, ctx)
    assert result.status is CheckStatus.OK, result.error
    return result


def _keys(result: CheckResult[Any]) -> dict[str, Any]:
    return {o.key: o for o in result.observations}


async def test_a_domain_with_everything_in_place_yields_nothing(world: Any, ca_file: Path) -> None:
    result = await _run(world, "good", ca_file)
    assert result.observations == (), [o.key for o in result.observations]
    details = result.details
    assert details is not None and details.mta_sts is not None and details.mta_sts.policy is not None
    assert details.mta_sts.policy.mode == "enforce" and details.mta_sts.trusted
    (mx,) = details.mx
    assert mx.reach == "in_scope" and mx.starttls is not None and mx.starttls.trusted
    assert mx.tlsa is not None and mx.tlsa.secure and result.untested == ()
    samples = {(s.name, s.labels): s.value for s in MailCheck().metrics(details, details_now())}
    assert samples[("posture_mail_spf_policy", ("fail",))] == 1.0
    assert samples[("posture_mail_dmarc_policy", ("reject",))] == 1.0
    assert samples[("posture_mail_mta_sts_mode", ("enforce",))] == 1.0
    assert samples[("posture_mail_starttls_coverage_ratio", ())] == 1.0
    assert samples[("posture_mail_dane_coverage_ratio", ())] == 1.0


def details_now() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


async def test_a_null_mx_domain_with_spf_and_dmarc_yields_nothing(world: Any, ca_file: Path) -> None:
    result = await _run(world, "nullmx", ca_file)
    assert result.observations == () and result.details is not None and result.details.mx == ()
    assert result.details.mta_sts is None


async def test_without_the_agency_bundle_a_dane_authenticated_mx_is_not_untrusted(world: Any) -> None:
    # RFC 7672: DANE-EE authenticates the server without a CA; the MTA-STS policy host has no such record
    keys = _keys(await _run(world, "good", None))
    assert "mail.starttls.untrusted" not in keys
    assert keys["mail.mta_sts.invalid"].detail["part"] == "certificate"


async def test_no_starttls_names_the_mx(world: Any, ca_file: Path) -> None:
    keys = _keys(await _run(world, "plain", ca_file))
    assert keys["mail.starttls.missing"].detail["mx"] == "mx1.plain.dnssec.test"
    assert keys["mail.starttls.missing"].severity is Severity.HIGH
    assert keys["mail.mta_sts.missing"].severity is Severity.LOW
    assert keys["mail.dane.missing"].severity is Severity.INFO  # signed zone, no TLSA
    assert "mail.tlsrpt.missing" not in keys


async def test_of_two_mx_the_one_without_starttls_is_named(world: Any, ca_file: Path) -> None:
    keys = _keys(await _run(world, "twomx", ca_file))
    assert keys["mail.starttls.missing"].detail["mx"] == "mx2.twomx.dnssec.test"
    assert [s["mx"] for s in keys["mail.starttls.missing"].detail["servers"]] == ["mx2.twomx.dnssec.test"]


async def test_an_mx_certificate_from_an_unknown_ca(world: Any, ca_file: Path) -> None:
    observation = _keys(await _run(world, "stranger", ca_file))["mail.starttls.untrusted"]
    assert observation.detail["mx"] == "mx1.stranger.dnssec.test"
    assert observation.detail["servers"][0]["trust_reason"]


async def test_a_tarpit_ends_by_the_deadline_and_resolves_nothing(world: Any, ca_file: Path) -> None:
    started = time.monotonic()
    result = await _run(world, "tarpit", ca_file, mx_deadline_s=2.0)
    assert time.monotonic() - started < 8
    keys = _keys(result)
    assert keys["mail.mx.unreachable"].detail["mx"] == "mx1.tarpit.dnssec.test"
    assert "mail.starttls.missing" not in keys and "mail.starttls.*" in result.untested


async def test_mta_sts_testing_mode(world: Any, ca_file: Path) -> None:
    keys = _keys(await _run(world, "testing", ca_file))
    assert keys["mail.mta_sts.testing"].severity is Severity.LOW
    assert "mail.mta_sts.mx_mismatch" not in keys  # *.testing.dnssec.test covers mx1.testing.dnssec.test


async def test_an_mx_the_enforced_policy_does_not_cover(world: Any, ca_file: Path) -> None:
    observation = _keys(await _run(world, "mismatch", ca_file))["mail.mta_sts.mx_mismatch"]
    assert observation.detail["mx"] == "mx1.mismatch.dnssec.test" and observation.severity is Severity.HIGH
    assert observation.detail["patterns"] == ["mx.elsewhere.example"]


@pytest.mark.parametrize(
    ("label", "part", "why"),
    [
        ("sts404", "fetch", "HTTP 404"),
        ("stssyntax", "policy", "mode is sometimes"),
        ("stsnohost", "fetch", "no address"),
    ],
)
async def test_a_txt_record_without_a_usable_policy_is_invalid(
    world: Any, ca_file: Path, label: str, part: str, why: str
) -> None:
    observation = _keys(await _run(world, label, ca_file))["mail.mta_sts.invalid"]
    assert observation.detail["part"] == part and why in observation.detail["why"]


async def test_dane_mismatch_and_unsigned(world: Any, ca_file: Path) -> None:
    bad = _keys(await _run(world, "danebad", ca_file))
    assert bad["mail.dane.mismatch"].detail["mx"] == "mx1.danebad.dnssec.test"
    assert bad["mail.dane.mismatch"].detail["servers"][0]["tlsa"] == [f"3 1 1 {'ab' * 32}"]
    plain = _keys(await _run(world, "daneplain", ca_file))
    assert plain["mail.dane.unsigned"].severity is Severity.LOW
    assert not {"mail.dane.mismatch", "mail.dane.missing"} & set(plain)


async def test_a_third_party_mx_is_listed_and_never_contacted(world: Any, ca_file: Path) -> None:
    elsewhere = world[1]["elsewhere"]
    before = elsewhere.connections
    result = await _run(world, "thirdparty", ca_file)
    observation = _keys(result)["mail.mx.third_party"]
    assert observation.severity is Severity.INFO and observation.detail["mx"] == "mx.provider.thirdparty.dnssec.test"
    assert "mail.starttls.missing" not in _keys(result)
    assert result.details is not None and result.details.mx[0].starttls is None
    # the scope holds the name (dnssec.test) but its loopback address lies outside the agency's CIDR: not followed
    assert result.details.mx[0].reach == "out_of_scope"
    assert elsewhere.connections == before


async def test_a_one_off_scan_probes_what_it_is_asked_to(world: Any, ca_file: Path) -> None:
    elsewhere = world[1]["elsewhere"]
    before = elsewhere.connections
    result = await _run(world, "thirdparty", ca_file, scope=None, mx_deadline_s=1.0)
    assert result.details is not None and result.details.mx[0].reach == "asked"
    assert elsewhere.connections == before + 1


@pytest.mark.parametrize(("reuse_s", "connections"), [(300.0, 1), (0.0, 2)])
async def test_one_probe_of_an_mx_serves_every_domain_that_uses_it(
    world: Any, ca_file: Path, reuse_s: float, connections: int
) -> None:
    elsewhere, check = world[1]["elsewhere"], MailCheck()
    before = elsewhere.connections
    runs = [_run(world, "thirdparty", ca_file, None, check, mx_deadline_s=1.0, probe_reuse_s=reuse_s) for _ in "ab"]
    first, second = await asyncio.gather(*runs)
    assert elsewhere.connections == before + connections
    assert first.details is not None and second.details is not None
    shared = first.details.mx[0].starttls is second.details.mx[0].starttls  # one probe's facts, judged for each
    assert shared is (connections == 1)


async def test_no_mx_falls_back_to_the_domain_itself(world: Any, ca_file: Path) -> None:
    result = await _run(world, "nomx", ca_file)
    assert result.details is not None
    (implicit,) = result.details.mx
    assert implicit.mx == "nomx.dnssec.test" and implicit.preference is None and implicit.starttls is not None
    assert implicit.starttls.upgraded


async def test_spoofable_policies(world: Any, ca_file: Path) -> None:
    keys = _keys(await _run(world, "spoofable", ca_file))
    assert {"mail.spf.softfail", "mail.dmarc.policy_none", "mail.dmarc.no_rua"} <= set(keys)


def test_every_catalogue_key_is_exercised_here() -> None:
    source = Path(__file__).read_text()
    missing = [spec.key for spec in MailCheck.findings if spec.key.startswith(("mail.mx", "mail.starttls",
               "mail.dane", "mail.mta_sts")) and f'"{spec.key}"' not in source]  # fmt: skip
    assert missing == []


def test_the_scope_rule() -> None:
    # a public address, as data only: reach() is pure and nothing here connects anywhere
    scope = AgencyScope((ScopeEntry.parse("kommune.example"), ScopeEntry.parse("10.20.0.0/16")))
    providers = ("mail.protection.outlook.com",)
    assert reach("mx.kommune.example", [PUBLIC], scope) == ("in_scope", "")
    assert reach("mx.kommune.example", ["10.20.1.1"], scope) == ("in_scope", "")
    assert reach("mx.kommune.example", ["10.99.1.1"], scope)[0] == "out_of_scope"
    assert reach("mx.hoster.example", ["10.20.1.1"], scope) == ("in_scope", "")  # the agency's own addresses
    assert reach("mx.hoster.example", [PUBLIC], scope)[0] == "third_party"
    outlook = "kommune-example.mail.protection.outlook.com"
    assert reach(outlook, [PUBLIC], scope)[0] == "third_party"
    assert reach(outlook, [PUBLIC], scope, providers) == ("provider", "mail.protection.outlook.com")
    assert reach(outlook, ["10.99.0.1"], scope, providers)[0] == "out_of_scope"  # a provider only at public ones
    assert reach("notoutlook.com", [PUBLIC], scope, providers)[0] == "third_party"
    assert reach("mx.kommune.example", [], scope)[0] == "unresolved"
    assert reach("anything.example", [PUBLIC], None) == ("asked", "")


def test_the_mail_check_is_registered_for_domains() -> None:
    assert REGISTRY["mail"] is MailCheck and MailCheck.asset_kind == "domain"


def test_posture_scan_mail_json(world: Any, ca_file: Path, tmp_path: Path) -> None:
    lab = world[0]
    env = {
        **os.environ,
        "POSTURE_DNS_SERVERS": json.dumps([f"{lab.resolver[0]}:{lab.resolver[1]}"]),
    }
    command = [sys.executable, "-m", "monitor", "scan", lab.domain("plain"), "--checks", "mail", "--json"]
    done = subprocess.run([*command, "--ca-file", str(ca_file)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr  # a high finding
    document = json.loads(done.stdout)
    assert document["target"] == {"host": lab.domain("plain"), "port": None, "kind": "domain"}
    (result,) = document["results"]
    keys = {o["key"]: o for o in result["observations"]}
    assert keys["mail.starttls.missing"]["detail"]["mx"] == "mx1.plain.dnssec.test"
