"""What the delivery tests share: a small ReportMaker (a real one-page PDF), an SMTP server with STARTTLS on
127.0.55.x that records what it receives and can refuse for a while, agencies with contacts."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from threading import Lock
from typing import Any

import pytest
import trustme

from monitor.mailer import SmtpConfig, SmtpSender
from monitor.models import Language
from monitor.reports.maker import RenderedReport, ReportFormat
from monitor.reports.week import IsoWeek
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.usecases.contacts import ContactRequest, Contacts
from monitor.usecases.delivery import DeliveryPolicy, ReportDelivery
from tests.servers import smtpd

SMTP_ADDRESS = "127.0.55.10"
SMTP_PORT = 2525
SENDER = "posture@cert.example"
WEEK = IsoWeek(2026, 49)
MONDAY_AFTER = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 10:00 in Berlin: after the default MON 07:00
SEED = Actor("test-seed", "test")


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF showing `text` (ASCII), with a correct cross-reference table."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


class PdfMaker:
    """The ReportMaker of these tests: delivery is under test, not rendering."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    async def __call__(self, agency: str, week: IsoWeek, language: Language, format: ReportFormat) -> RenderedReport:
        self.calls.append((agency, str(week), language, format))
        return RenderedReport(agency, week, language, format, tiny_pdf(f"Bericht {agency} {week} {language}"))


@dataclass
class Mailbox:
    """aiosmtpd's handler: keeps each accepted mail with whether it came over TLS; refuses the first `refuse`
    DATA commands with a temporary failure."""

    refuse: int = 0
    received: list[tuple[list[str], EmailMessage, bool]] = field(default_factory=list)
    refused: int = 0
    lock: Lock = field(default_factory=Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Mailbox temporarily unavailable, try later"
            parsed = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            self.received.append((list(envelope.rcpt_tos), parsed, session.ssl is not None))
        return "250 OK"


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(smtp_ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "smtp-ca.pem"
    smtp_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def server_context(smtp_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    smtp_ca.issue_cert(SMTP_ADDRESS).configure_cert(context)
    return context


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp_server(server_context: ssl.SSLContext, mailbox: Mailbox) -> Iterator[Mailbox]:
    with smtpd(SMTP_ADDRESS, server_context, SMTP_PORT, handler=mailbox, require_starttls=True):
        yield mailbox


def sender(ca_file: Path) -> SmtpSender:
    return SmtpSender(SmtpConfig(SMTP_ADDRESS, SMTP_PORT, "starttls", ca_file=ca_file, timeout_s=10))


def delivery(store: Store, maker: PdfMaker, ca_file: Path) -> ReportDelivery:
    return ReportDelivery(store, maker, sender(ca_file), DeliveryPolicy(sender=SENDER))


async def agency_with_contacts(store: Store, slug: str = "lk-a", name: str = "Landkreis A") -> list[int]:
    await store.registry.add_agency(slug, name, SEED)
    contacts = Contacts(store.contacts)
    first = await contacts.add(slug, ContactRequest("Erika Muster", f"it-sicherheit@{slug}.example"), SEED)
    second = await contacts.add(
        slug, ContactRequest("John Doe", f"cio@{slug}.example", role="management", language="en"), SEED
    )
    return [first.id, second.id]
