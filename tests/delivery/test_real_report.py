"""The whole way: twelve weeks of the findings lifecycle (tests/reports/lifecycle.py), `posture report send`'s code
with the real renderer (WeasyPrint in worker processes), an SMTP server with STARTTLS on loopback; the received mail's
PDF, turned into text, is the agency's German report of that week, and the English contact's is English."""

from __future__ import annotations

import argparse
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from monitor.cli_report_send import send
from monitor.clock import FakeClock
from monitor.settings import Settings
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.usecases.contacts import ContactRequest, Contacts
from tests.delivery.conftest import SENDER, SMTP_ADDRESS, SMTP_PORT, Mailbox
from tests.reports.lifecycle import AGENCY, AGENCY_NAME, WEEK, fill

SEED = Actor("test-seed", "test")


def _text(pdf: bytes, folder: Path, name: str) -> str:
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout


async def test_the_real_report_reaches_each_contact_in_its_language(
    sqlite_url: str, smtp_server: Mailbox, ca_file: Path, tmp_path: Path
) -> None:
    clock = FakeClock(datetime(2026, 10, 5, 6, 0, tzinfo=UTC))
    store = Store.open(sqlite_url, clock)
    try:
        await fill(store, clock)
        contacts = Contacts(store.contacts)
        await contacts.add(AGENCY, ContactRequest("IT-Sicherheit", "it-sicherheit@berichtshausen.example"), SEED)
        await contacts.add(AGENCY, ContactRequest("CIO", "cio@berichtshausen.example", "management", "en"), SEED)
        settings = Settings(smtp_host=SMTP_ADDRESS, smtp_port=SMTP_PORT, smtp_ca_file=ca_file, report_from=SENDER)
        code = await send(argparse.Namespace(agency=AGENCY, week=str(WEEK)), settings, store)
    finally:
        await store.close()
    assert code == 0
    by_recipient = {rcpt[0]: (message, tls) for rcpt, message, tls in smtp_server.received}
    assert set(by_recipient) == {"it-sicherheit@berichtshausen.example", "cio@berichtshausen.example"}
    german, tls = by_recipient["it-sicherheit@berichtshausen.example"]
    assert tls  # STARTTLS
    (attachment,) = list(german.iter_attachments())
    assert attachment.get_filename() == f"posture-{AGENCY}-{WEEK}-de.pdf"
    text = _text(attachment.get_content(), tmp_path, "de")
    assert AGENCY_NAME in text and "Was hat sich geändert" in text and "Offene Befunde" in text
    (english,) = list(by_recipient["cio@berichtshausen.example"][0].iter_attachments())
    assert english.get_filename() == f"posture-{AGENCY}-{WEEK}-en.pdf"
    assert "Open findings" in _text(english.get_content(), tmp_path, "en")
