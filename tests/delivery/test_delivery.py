"""Weekly report delivery over a real SMTP server with STARTTLS on loopback: the PDF attached, German (or English)
subject, the archive, retries that survive a restart, the status through the API, tenant isolation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.clock import FakeClock
from monitor.store.access_store import AccessStore
from monitor.store.store import Store
from tests.api.conftest import Api, Tokens
from tests.delivery.conftest import (
    MONDAY_AFTER,
    SEED,
    SENDER,
    WEEK,
    Mailbox,
    PdfMaker,
    agency_with_contacts,
    delivery,
    tiny_pdf,
)


def attachment(message: Any) -> tuple[str, bytes]:
    parts = [part for part in message.iter_attachments()]
    assert len(parts) == 1
    assert parts[0].get_content_type() == "application/pdf"
    return parts[0].get_filename(), parts[0].get_content()


async def test_each_contact_receives_the_pdf_in_their_language_over_starttls(
    engine: AsyncEngine, smtp_server: Mailbox, ca_file: Path
) -> None:
    store, maker = Store(engine, FakeClock(MONDAY_AFTER)), PdfMaker()
    await agency_with_contacts(store)
    prepared, summary = await delivery(store, maker, ca_file).send_week(WEEK)
    assert (prepared.rendered, prepared.queued, summary.sent, summary.failed) == (2, 2, 2, 0)
    assert sorted(maker.calls) == [("lk-a", "2026-W49", "de", "pdf"), ("lk-a", "2026-W49", "en", "pdf")]
    by_recipient = {rcpt[0]: (message, tls) for rcpt, message, tls in smtp_server.received}
    assert set(by_recipient) == {"it-sicherheit@lk-a.example", "cio@lk-a.example"}
    german, tls = by_recipient["it-sicherheit@lk-a.example"]
    assert tls, "the mail went over STARTTLS"
    assert german["Subject"] == "Wöchentlicher Sicherheitsbericht Landkreis A: KW 49 / 2026"
    assert german["From"] == SENDER
    assert german["Content-Language"] == "de"
    assert "Guten Tag Erika Muster" in german.get_body(("plain",)).get_content()
    assert "30.11.2026 bis 06.12.2026" in german.get_body(("plain",)).get_content()
    assert attachment(german) == ("posture-lk-a-2026-W49-de.pdf", tiny_pdf("Bericht lk-a 2026-W49 de"))
    english, _ = by_recipient["cio@lk-a.example"]
    assert english["Subject"] == "Weekly security posture report Landkreis A: week 49 of 2026"
    assert attachment(english)[0] == "posture-lk-a-2026-W49-en.pdf"
    assert attachment(english)[1].startswith(b"%PDF-1.4")
    # the archive keeps both; a second run sends nothing again and renders nothing again
    kept = await store.reports.archive_list("lk-a")
    assert {(entry.week, entry.language, entry.format) for entry in kept} == {("2026-W49", "de", "pdf"),
                                                                              ("2026-W49", "en", "pdf")}  # fmt: skip
    prepared, summary = await delivery(store, maker, ca_file).send_week(WEEK)
    assert (prepared.rendered, prepared.queued, summary.sent) == (0, 0, 0)
    assert len(smtp_server.received) == 2 and len(maker.calls) == 2
    assert {d.status for d in await store.reports.deliveries("lk-a")} == {"sent"}


@pytest.fixture
async def api_on(engine: AsyncEngine) -> AsyncIterator[tuple[Api, FakeClock]]:
    clock = FakeClock(MONDAY_AFTER)
    store = Store(engine, clock)
    await agency_with_contacts(store)
    await agency_with_contacts(store, "lk-b", "Landkreis B")
    access = AccessStore(engine)
    tokens = Tokens(
        admin=(await access.create_token("admin", None, "cert", SEED)).token,
        analyst=(await access.create_token("analyst", None, None, SEED)).token,
        agency_a=(await access.create_token("agency", "lk-a", None, SEED)).token,
        agency_b=(await access.create_token("agency", "lk-b", None, SEED)).token,
    )
    server = TestServer(build_app(store, ApiConfig(check_names=("reachability",))), host="127.0.0.1")
    async with TestClient(server) as client:
        yield Api(client, tokens, engine), clock


async def test_a_failed_delivery_is_retried_later_survives_a_restart_and_shows_in_the_api(
    engine: AsyncEngine,
    api_on: tuple[Api, FakeClock],
    mailbox: Mailbox,
    server_context: Any,
    ca_file: Path,
) -> None:
    from tests.delivery.conftest import SMTP_ADDRESS, SMTP_PORT
    from tests.servers import smtpd

    api, clock = api_on
    maker = PdfMaker()
    # 1. the mail server is down: both deliveries fail, and are due again in a minute
    first = delivery(Store(engine, clock), maker, ca_file)
    prepared, summary = await first.send_week(WEEK, "lk-a")
    assert (prepared.queued, summary.sent, summary.failed) == (2, 0, 2)
    status, listing = await api.call("GET", "/api/v1/agencies/lk-a/reports", api.tokens.agency_a)
    assert status == 200
    [week] = listing["items"]
    assert week["week"] == "2026-W49"
    assert {d["status"] for d in week["deliveries"]} == {"failed"}
    assert all("Connect" in d["last_error"] or "refused" in d["last_error"] for d in week["deliveries"]), week
    assert {d["attempts"] for d in week["deliveries"]} == {1}
    assert {d["next_attempt_at"][:19] for d in week["deliveries"]} == {
        (MONDAY_AFTER + timedelta(minutes=1)).isoformat()[:19]
    }
    with smtpd(SMTP_ADDRESS, server_context, SMTP_PORT, handler=mailbox, require_starttls=True):
        # not due yet: nothing is sent
        assert (await first.send_due()).sent == 0
        # 2. a restart (a new Store and delivery on the same database) after the minute: the server says 451 once
        mailbox.refuse = 1
        clock.advance(61)
        restarted = delivery(Store(engine, clock), maker, ca_file)
        summary = await restarted.send_due()
        assert (summary.sent, summary.failed) == (1, 1)
        _, listing = await api.call("GET", "/api/v1/agencies/lk-a/reports", api.tokens.admin)
        failed = [d for d in listing["items"][0]["deliveries"] if d["status"] == "failed"]
        assert len(failed) == 1 and failed[0]["last_error"].startswith("451 4.3.0 Mailbox temporarily unavailable")
        assert failed[0]["attempts"] == 2  # the backoff doubles: due in two minutes
        clock.advance(60)
        assert (await restarted.send_due()).sent == 0
        clock.advance(61)
        assert (await restarted.send_due()).sent == 1
    assert len(mailbox.received) == 2
    _, listing = await api.call("GET", "/api/v1/agencies/lk-a/reports", api.tokens.agency_a)
    assert {d["status"] for d in listing["items"][0]["deliveries"]} == {"sent"}
    assert all(d["last_error"] is None and d["sent_at"] for d in listing["items"][0]["deliveries"])
    assert maker.calls == [("lk-a", "2026-W49", "de", "pdf"), ("lk-a", "2026-W49", "en", "pdf")]  # made once


async def test_archived_pdfs_are_downloadable_by_their_own_agency_only(
    engine: AsyncEngine, api_on: tuple[Api, FakeClock]
) -> None:
    api, clock = api_on
    store = Store(engine, clock)
    await store.reports.archive("lk-a", "2026-W49", "de", "pdf", tiny_pdf("A"))
    await store.reports.archive("lk-b", "2026-W49", "de", "pdf", tiny_pdf("B"))
    path = "/api/v1/agencies/lk-a/reports/2026-W49.pdf"
    async with api.client.get(path, headers={"Authorization": f"Bearer {api.tokens.agency_a}"}) as response:
        assert response.status == 200
        assert response.content_type == "application/pdf"
        assert 'filename="posture-lk-a-2026-W49-de.pdf"' in response.headers["Content-Disposition"]
        assert await response.read() == tiny_pdf("A")
    assert (await api.call("GET", path, api.tokens.agency_b))[0] == 404
    assert (await api.call("GET", "/api/v1/agencies/lk-a/reports", api.tokens.agency_b))[0] == 404
    assert (await api.call("GET", path, api.tokens.analyst))[0] == 200
    assert (await api.call("GET", "/api/v1/agencies/lk-a/reports/2026-W48.pdf", api.tokens.agency_a))[0] == 404
    assert (await api.call("GET", f"{path}?language=en", api.tokens.agency_a))[0] == 404
    assert (await api.call("GET", "/api/v1/agencies/lk-a/reports/2026-W60.pdf", api.tokens.agency_a))[0] == 404
    status, listing = await api.call("GET", "/api/v1/agencies/lk-a/reports", api.tokens.agency_a)
    assert status == 200
    assert listing["items"][0]["files"][0]["url"] == path
    assert listing["items"][0]["deliveries"] == []


async def test_old_weeks_are_pruned_from_the_archive(engine: AsyncEngine, ca_file: Path) -> None:
    store = Store(engine, FakeClock(MONDAY_AFTER))
    await agency_with_contacts(store)
    for week in ("2025-W49", "2025-W50", "2026-W48"):
        await store.reports.archive("lk-a", week, "de", "pdf", b"%PDF-")
    pruned = await delivery(store, PdfMaker(), ca_file).prune(MONDAY_AFTER)  # keeps 52 weeks: from 2025-W50
    assert pruned == 1
    assert [entry.week for entry in await store.reports.archive_list("lk-a")] == ["2026-W48", "2025-W50"]


class FlakyMaker(PdfMaker):
    """Cannot make lk-a's report (a renderer's bug); every other agency's it can."""

    async def __call__(self, agency: str, week: Any, language: Any, format: Any) -> Any:
        if agency == "lk-a":
            raise RuntimeError("renderer crashed")
        return await super().__call__(agency, week, language, format)


async def test_one_agencys_report_failing_to_render_holds_up_no_other(
    engine: AsyncEngine, smtp_server: Mailbox, ca_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(engine, FakeClock(MONDAY_AFTER))
    await agency_with_contacts(store)
    await agency_with_contacts(store, "lk-b", "Landkreis B")
    prepared, summary = await delivery(store, FlakyMaker(), ca_file).send_week(WEEK)
    assert (prepared.failed, prepared.queued, summary.sent) == (("lk-a",), 2, 2)
    assert "the 2026-W49 report of lk-a could not be made" in caplog.text
    assert await store.reports.deliveries("lk-a") == []  # not queued: the next preparation tries again
    prepared, summary = await delivery(store, PdfMaker(), ca_file).send_week(WEEK)
    assert (prepared.failed, prepared.queued, summary.sent) == ((), 2, 2)
