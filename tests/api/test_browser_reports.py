"""The contacts and reports pages in the real headless Chromium, at desktop and phone width: German, no sideways
scrolling, no serious or critical axe-core violation, a hostile mail server's error shown as text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from monitor.store.audit import Actor
from monitor.store.report_store import Recipient
from monitor.store.store import Store
from monitor.store.tables import DELIVERY
from monitor.usecases.contacts import ContactRequest, Contacts
from tests.api.conftest import FakeResolver
from tests.api.test_browser import ARGS, CHROMIUM, PLANTED, assert_accessible, assert_fits, assert_german, sign_in
from tests.api.test_web_domains import config
from tests.api.threaded_server import RunningApi, ThreadedApi
from tests.delivery.conftest import tiny_pdf

SEED = Actor("test-seed", "test")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningApi]:
    with ThreadedApi(f"sqlite+aiosqlite:///{tmp_path}/posture.db", config(("reachability",)), FakeResolver()) as api:
        yield api


def seed_reports(running: RunningApi) -> None:
    async def seed() -> None:
        store = Store(running.engine)
        contacts = Contacts(store.contacts)
        first = await contacts.add("lk-a", ContactRequest("Informationssicherheitsbeauftragte der Kreisverwaltung",
                                                          "informationssicherheit@lk-a.example"), SEED)  # fmt: skip
        second = await contacts.add("lk-a", ContactRequest("IT-Leitung", "it@lk-a.example", "it", "en"), SEED)
        for week in ("2026-W48", "2026-W49"):
            for language in ("de", "en"):
                await store.reports.archive("lk-a", week, language, "pdf", tiny_pdf(f"{week} {language}"))
            recipients = [Recipient(first.id, first.email, "de"), Recipient(second.id, second.email, "en")]
            await store.reports.queue("lk-a", week, recipients)
        async with running.engine.begin() as conn:
            await conn.execute(update(DELIVERY).where(DELIVERY.c.week == "2026-W48").values(status="sent"))
            await conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.week == "2026-W49", DELIVERY.c.contact_id == second.id)
                .values(status="failed", attempts=4, last_error="550 5.1.1 " + PLANTED + " unknown" + "x" * 120)
            )

    running.run(seed)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_reports_and_contacts_pages_are_german_fit_and_pass_axe(running: RunningApi, width: int) -> None:
    from playwright.sync_api import sync_playwright

    seed_reports(running)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            sign_in(page, running, running.tokens.agency_a)
            for path in ("/ui/agencies/lk-a/reports", "/ui/agencies/lk-a/contacts"):
                response = page.goto(running.url + path)
                assert response is not None and response.status == 200, path
                assert page.title() != "pwned"
                assert_german(page)
                assert_fits(page)
                assert_accessible(page)
            page.get_by_label("E-Mail-Adresse").fill("keine-adresse")
            page.get_by_label("Name").fill("Neu")
            page.get_by_role("button", name="Kontakt hinzufügen").click()
            page.get_by_text("Bitte eine gültige E-Mail-Adresse angeben").wait_for()
            assert_fits(page)
            assert_accessible(page)
            page.get_by_label("E-Mail-Adresse").fill("neu@lk-a.example")
            page.get_by_label("Sprache der Berichte").select_option("en")
            page.get_by_role("button", name="Kontakt hinzufügen").click()
            page.get_by_text("Der Kontakt wurde hinzugefügt.").wait_for()
            page.goto(f"{running.url}/ui/reports")  # an agency goes to its own reports
            page.get_by_text("fehlgeschlagen").wait_for()
            assert PLANTED in page.locator("body").inner_text()  # shown as text, never run
            page.get_by_role("button", name="Abmelden").click()
            sign_in(page, running, running.tokens.admin)
            page.goto(f"{running.url}/ui/reports")
            assert_german(page)
            assert_fits(page)
            assert_accessible(page)
        finally:
            browser.close()
