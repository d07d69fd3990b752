"""The mail check's transport building blocks against real servers on loopback: STARTTLS (aiosmtpd with and without
it, wrong names, unknown CAs, a tarpit, a 454, a flood) and DANE (TLSA in the DNSSEC lab), plus `match_tlsa` alone."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from checks.base import FindingSpec
from checks.mail.dane import association_data, fetch_tlsa, match_tlsa, tlsa_owner
from checks.mail.smtp import probe_starttls
from checks.mail.transport_findings import TRANSPORT_FINDINGS
from checks.mail.transport_models import StarttlsFacts, TlsaFacts, TlsaRecord
from checks.shared.smtp import MAX_LINE, ehlo_keywords
from monitor.models import Severity
from tests.dns_lab import Zone, dns_lab
from tests.servers import raw_server, smtpd
from tests.test_catalogue_languages import ENGLISH_WORD, prose

MX = "mx1.mail.test"
DANE_ZONES = ("danegood", "danebad", "daneplain", "danenone")
DANE_MX = tuple(f"mx1.{label}.dnssec.test" for label in DANE_ZONES)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mailca") / "agency-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def _server_context(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert(MX, *DANE_MX)


@pytest.fixture(scope="module")
def servers(ca: trustme.CA, leaf: trustme.LeafCert) -> Iterator[None]:
    stranger = trustme.CA()  # a CA neither the system store nor the agency's bundle holds
    with contextlib.ExitStack() as stack:
        stack.enter_context(smtpd("127.0.0.41", _server_context(leaf), server_hostname=MX))
        # no STARTTLS, but the word in the host name and the greeting: neither is an offer
        stack.enter_context(
            smtpd("127.0.0.42", None, server_hostname="starttls.mail.test", ident="ESMTP STARTTLS ready")
        )
        stack.enter_context(smtpd("127.0.0.43", _server_context(ca.issue_cert("other.example"))))
        stack.enter_context(smtpd("127.0.0.44", _server_context(stranger.issue_cert(MX))))
        yield


# --- STARTTLS ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("servers")
async def test_a_trusted_certificate_for_the_mx_name(ca_file: Path) -> None:
    facts = await probe_starttls("127.0.0.41", MX + ".", deadline_s=10, ca_file=ca_file)
    assert facts.failure is None, facts.reason
    assert facts.offered and facts.upgraded and facts.trusted and facts.name_matches
    assert facts.mx == MX and "STARTTLS" in facts.extensions and facts.quit_sent
    assert facts.tls_version in ("TLSv1.2", "TLSv1.3") and facts.expired is False
    assert len(facts.chain_der()) >= 1
    assert StarttlsFacts.model_validate_json(facts.model_dump_json()) == facts  # stored and judged again later
    leaf = x509.load_der_x509_certificate(facts.chain_der()[0])
    assert MX in leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )


@pytest.mark.usefixtures("servers")
async def test_without_the_agency_bundle_the_same_server_is_untrusted() -> None:
    facts = await probe_starttls("127.0.0.41", MX, deadline_s=10, ca_file=None)
    assert facts.upgraded and not facts.trusted and facts.name_matches
    assert facts.trust_reason


@pytest.mark.usefixtures("servers")
async def test_the_word_starttls_in_greeting_or_host_name_is_no_offer(ca_file: Path) -> None:
    facts = await probe_starttls("127.0.0.42", MX, deadline_s=10, ca_file=ca_file)
    assert "STARTTLS" in (facts.greeting or "")
    assert facts.failure == "not_offered" and not facts.offered and not facts.upgraded
    assert facts.ehlo_code == 250 and "STARTTLS" not in facts.extensions and facts.quit_sent


@pytest.mark.usefixtures("servers")
async def test_a_certificate_for_another_name(ca_file: Path) -> None:
    facts = await probe_starttls("127.0.0.43", MX, deadline_s=10, ca_file=ca_file)
    assert facts.failure is None and facts.upgraded
    assert facts.trusted and not facts.name_matches


@pytest.mark.usefixtures("servers")
async def test_a_certificate_from_an_unknown_ca(ca_file: Path) -> None:
    facts = await probe_starttls("127.0.0.44", MX, deadline_s=10, ca_file=ca_file)
    assert facts.failure is None and facts.upgraded
    assert not facts.trusted and facts.name_matches and facts.trust_reason


async def test_a_self_signed_certificate(tmp_path: Path, ca_file: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, MX)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(MX)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = tmp_path / "self.pem"
    pem.write_bytes(
        cert.public_bytes(Encoding.PEM) + key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    with smtpd("127.0.0.48", context, server_hostname=MX):
        facts = await probe_starttls("127.0.0.48", MX, deadline_s=10, ca_file=ca_file)
    assert facts.upgraded and not facts.trusted and facts.name_matches
    assert "own key" in (facts.trust_reason or "")


async def test_a_tarpit_ends_by_the_deadline() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for byte in b"220 slow.mail.test ESMTP\r\n":
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(1)

    async with raw_server("127.0.0.45", drip):
        started = time.monotonic()
        facts = await probe_starttls("127.0.0.45", MX, deadline_s=1.5)
        elapsed = time.monotonic() - started
    assert facts.failure == "timeout" and not facts.offered
    assert elapsed < 2.5


async def test_a_silent_server_ends_by_the_deadline() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    async with raw_server("127.0.0.45", silent):
        facts = await probe_starttls("127.0.0.45", MX, deadline_s=0.5)
    assert facts.failure == "timeout" and facts.duration_s < 1.5


async def _scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, starttls_reply: bytes) -> None:
    writer.write(b"220-mx.mail.test ESMTP\r\n220 STARTTLS welcome\r\n")
    while line := await reader.readline():
        verb = line.split()[0].upper() if line.split() else b""
        if verb == b"EHLO":
            writer.write(b"250-mx.mail.test hello\r\n250-PIPELINING\r\n250-starttls\r\n250 8BITMIME\r\n")
        elif verb == b"STARTTLS":
            writer.write(starttls_reply)
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            await writer.drain()
            return
        await writer.drain()


async def test_a_454_to_starttls() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _scripted(reader, writer, b"454 4.7.0 TLS not available due to temporary reason\r\n")

    async with raw_server("127.0.0.46", server):
        facts = await probe_starttls("127.0.0.46", MX, deadline_s=5)
    assert facts.greeting_code == 220 and facts.offered  # lower-case keyword, multi-line greeting
    assert facts.failure == "starttls_rejected" and facts.starttls_code == 454 and not facts.upgraded
    assert facts.quit_sent and "454" in (facts.reason or "")


async def test_clear_text_after_220_to_starttls_is_refused() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _scripted(reader, writer, b"220 go ahead\r\n250 injected\r\n")

    async with raw_server("127.0.0.46", server):
        facts = await probe_starttls("127.0.0.46", MX, deadline_s=5)
    assert facts.failure == "protocol" and not facts.upgraded


async def test_an_overlong_line_and_a_flood_are_capped() -> None:
    async def long_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 " + b"x" * (MAX_LINE * 5) + b"\r\n")
        await writer.drain()
        await asyncio.sleep(3600)

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            writer.write(b"220-more\r\n" * 100)
            await writer.drain()

    async with raw_server("127.0.0.47", long_line):
        facts = await probe_starttls("127.0.0.47", MX, deadline_s=5)
    assert facts.failure == "protocol" and "longer" in (facts.reason or "")
    async with raw_server("127.0.0.47", flood):
        facts = await probe_starttls("127.0.0.47", MX, deadline_s=5)
    assert facts.failure == "protocol" and facts.duration_s < 4


async def test_a_failed_handshake_after_220() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx ESMTP\r\n")
        await reader.readline()
        writer.write(b"250-mx\r\n250 STARTTLS\r\n")
        await reader.readline()
        writer.write(b"220 go ahead\r\n")
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.write(b"this is no TLS record\r\n" * 20)
        await writer.drain()
        await asyncio.sleep(3600)

    async with raw_server("127.0.0.47", server):
        facts = await probe_starttls("127.0.0.47", MX, deadline_s=5)
    assert facts.failure == "handshake" and facts.offered and facts.starttls_code == 220 and not facts.upgraded


async def test_over_ipv6_loopback() -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _scripted(reader, writer, b"454 4.7.0 TLS not available\r\n")

    seen: list[bytes] = []

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx ESMTP\r\n")
        seen.append(await reader.readline())
        writer.write(b"502 no\r\n")
        await writer.drain()
        await reader.readline()

    async with raw_server("::1", server):
        facts = await probe_starttls("::1", MX, deadline_s=5)
    assert facts.failure == "starttls_rejected" and facts.address == "::1"
    async with raw_server("::1", recording):
        facts = await probe_starttls("::1", MX, deadline_s=5)
    assert seen == [b"EHLO [IPv6:::1]\r\n"] and facts.failure == "ehlo_rejected" and facts.ehlo_code == 502


async def test_a_rejecting_greeting_and_a_refused_connection() -> None:
    async def busy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"554 5.3.2 no service here\r\n")
        await writer.drain()
        await reader.readline()

    async with raw_server("127.0.0.47", busy):
        facts = await probe_starttls("127.0.0.47", MX, deadline_s=5)
    assert facts.failure == "greeting_rejected" and facts.greeting_code == 554
    facts = await probe_starttls("127.0.0.49", MX, deadline_s=5)
    assert facts.failure == "connect" and facts.reason


async def test_a_reset_mid_dialogue() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 mx ESMTP\r\n")
        await writer.drain()
        await reader.readline()
        writer.transport.abort()

    async with raw_server("127.0.0.47", hang_up):
        facts = await probe_starttls("127.0.0.47", MX, deadline_s=5)
    assert facts.failure == "closed" and facts.greeting_code == 220


def test_ehlo_keywords_skip_the_first_line() -> None:
    lines = ["STARTTLS.example.org greets STARTTLS", "SIZE 1000", "starttls", "AUTH PLAIN LOGIN", ""]
    assert ehlo_keywords(lines) == ("SIZE", "STARTTLS", "AUTH")
    assert "STARTTLS" not in ehlo_keywords(["starttls.example.org STARTTLS", "X-STARTTLS-LIKE"])


# --- match_tlsa --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(ca: trustme.CA, leaf: trustme.LeafCert) -> tuple[bytes, ...]:
    served = [x509.load_pem_x509_certificate(blob.bytes()) for blob in leaf.cert_chain_pems]
    root = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    return tuple(cert.public_bytes(Encoding.DER) for cert in (*served, root))


def _record(usage: int, selector: int, mtype: int, der: bytes) -> TlsaRecord:
    data = association_data(der, selector, mtype)
    assert data is not None
    return TlsaRecord(usage=usage, selector=selector, matching_type=mtype, data=data)


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("mtype", [0, 1, 2])
def test_dane_ee_matches_the_leaf_by_each_selector_and_matching_type(
    chain: tuple[bytes, ...], selector: int, mtype: int
) -> None:
    verdict = match_tlsa([_record(3, selector, mtype, chain[0])], chain)
    assert verdict.matched and verdict.matched_position == 0
    # DANE-EE never matches a CA certificate of the chain
    assert not match_tlsa([_record(3, selector, mtype, chain[-1])], chain).matched


@pytest.mark.parametrize("selector", [0, 1])
@pytest.mark.parametrize("mtype", [0, 1, 2])
def test_dane_ta_matches_a_certificate_the_leaf_chains_to(chain: tuple[bytes, ...], selector: int, mtype: int) -> None:
    verdict = match_tlsa([_record(2, selector, mtype, chain[-1])], chain)
    assert verdict.matched and verdict.matched_position == len(chain) - 1


def test_dane_ta_needs_the_anchor_in_the_served_chain(chain: tuple[bytes, ...]) -> None:
    assert not match_tlsa([_record(2, 1, 1, chain[-1])], chain[:1]).matched
    other = trustme.CA()
    foreign = x509.load_pem_x509_certificate(other.cert_pem.bytes()).public_bytes(Encoding.DER)
    # a CA the leaf does not chain to, sent along: no match
    assert not match_tlsa([_record(2, 1, 1, foreign)], (*chain, foreign)).matched


def test_pkix_usages_and_unknown_parameters_are_unusable(chain: tuple[bytes, ...]) -> None:
    digest = hashlib.sha256(chain[0]).hexdigest()
    records = [
        TlsaRecord(usage=1, selector=0, matching_type=1, data=digest),  # PKIX-EE: unusable for SMTP
        TlsaRecord(usage=0, selector=0, matching_type=1, data=hashlib.sha256(chain[-1]).hexdigest()),
        TlsaRecord(usage=3, selector=2, matching_type=1, data=digest),
        TlsaRecord(usage=3, selector=0, matching_type=3, data=digest),
        TlsaRecord(usage=4, selector=0, matching_type=1, data=digest),
    ]
    verdict = match_tlsa(records, chain)
    assert not verdict.matched and len(verdict.unusable) == 5 and verdict.usable == ()


def test_a_wrong_digest_and_an_empty_chain(chain: tuple[bytes, ...]) -> None:
    wrong = TlsaRecord(usage=3, selector=1, matching_type=1, data="00" * 32)
    verdict = match_tlsa([wrong], chain)
    assert not verdict.matched and verdict.usable == (wrong,)
    assert not match_tlsa([_record(3, 1, 1, chain[0])], ()).matched
    upper = _record(3, 1, 1, chain[0]).model_copy(update={"data": _record(3, 1, 1, chain[0]).data.upper()})
    assert match_tlsa([upper], chain).matched


# --- DANE with the DNSSEC lab ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(leaf: trustme.LeafCert) -> Iterator[object]:
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    spki = cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    good = hashlib.sha256(spki).hexdigest()
    records = ("@ MX 10 mx1", "mx1 A 127.0.0.41")
    zones = [
        Zone("danegood", records=(*records, f"_25._tcp.mx1 TLSA 3 1 1 {good}")),
        Zone("danebad", records=(*records, f"_25._tcp.mx1 TLSA 3 1 1 {'ab' * 32}")),
        Zone("daneplain", signed=False, records=(*records, f"_25._tcp.mx1 TLSA 3 1 1 {good}")),
        Zone("danenone", records=records),
    ]
    with dns_lab(zones) as running:
        yield running


@pytest.mark.usefixtures("servers")
async def test_dane_secure_tlsa_matches_the_served_leaf(lab: object, ca_file: Path) -> None:
    mx = "mx1.danegood.dnssec.test"
    tlsa = await fetch_tlsa(mx, lab.resolver, 5)  # type: ignore[attr-defined]
    assert tlsa.error is None and tlsa.secure and len(tlsa.records) == 1 and tlsa.owner == tlsa_owner(mx)
    facts = await probe_starttls("127.0.0.41", mx, deadline_s=10, ca_file=ca_file)
    assert facts.upgraded and facts.name_matches
    verdict = match_tlsa(tlsa.records, facts.chain_der())
    assert verdict.matched and verdict.matched_record == tlsa.records[0]
    assert TlsaFacts.model_validate_json(tlsa.model_dump_json()) == tlsa


@pytest.mark.usefixtures("servers")
async def test_dane_mismatch(lab: object) -> None:
    mx = "mx1.danebad.dnssec.test"
    tlsa = await fetch_tlsa(mx, lab.resolver, 5)  # type: ignore[attr-defined]
    assert tlsa.secure and len(tlsa.records) == 1
    facts = await probe_starttls("127.0.0.41", mx, deadline_s=10)
    assert not match_tlsa(tlsa.records, facts.chain_der()).matched


async def test_dane_tlsa_in_an_unsigned_zone_is_not_secure(lab: object) -> None:
    tlsa = await fetch_tlsa("mx1.daneplain.dnssec.test.", lab.resolver, 5)  # type: ignore[attr-defined]
    assert tlsa.error is None and len(tlsa.records) == 1 and not tlsa.secure


async def test_dane_signed_zone_without_tlsa(lab: object) -> None:
    tlsa = await fetch_tlsa("mx1.danenone.dnssec.test", lab.resolver, 5)  # type: ignore[attr-defined]
    assert tlsa.error is None and tlsa.records == () and tlsa.secure


async def test_dane_resolver_that_does_not_answer() -> None:
    tlsa = await fetch_tlsa("mx1.danegood.dnssec.test", ("127.0.0.49", 53), 0.5)
    assert tlsa.error in ("refused", "timeout", "network") and tlsa.reason


# --- the catalogue entries ---------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", TRANSPORT_FINDINGS, ids=lambda spec: spec.key)
def test_transport_findings_speak_german(spec: FindingSpec) -> None:
    assert spec.key.startswith(("mail.starttls.", "mail.dane.", "mail.mx.")) and spec.de is not None
    for name in ("title", "meaning", "remediation"):
        text = getattr(spec.de, name)
        assert text and text != getattr(spec, name)
        if name != "meaning":
            assert not ENGLISH_WORD.findall(prose(text)), f"{spec.key}: German {name}"
    assert "Sie" in spec.de.remediation  # the formal address
    observed = spec.observe({"mx": MX})
    assert observed.key == spec.key and observed.detail == {"mx": MX}


def test_transport_severities() -> None:
    assert [spec.severity for spec in TRANSPORT_FINDINGS] == [
        Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.HIGH, Severity.INFO, Severity.LOW, Severity.INFO
    ]  # fmt: skip
    assert len({spec.key for spec in TRANSPORT_FINDINGS}) == len(TRANSPORT_FINDINGS)
