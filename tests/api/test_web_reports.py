"""The contacts and reports pages: German, CSRF-protected forms with inline errors, escaped delivery errors, PDFs
downloadable, and another agency's pages not found."""

from __future__ import annotations

from sqlalchemy import update

from monitor.store.store import Store
from monitor.store.tables import DELIVERY
from tests.api.conftest import Api
from tests.api.test_web_ui import sign_in
from tests.delivery.conftest import tiny_pdf

CONTACTS = "/ui/agencies/lk-a/contacts"


async def test_contacts_are_added_with_inline_german_errors_and_removed(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_a)
    form = {"csrf": csrf, "name": "Erika Muster", "email": "kein-name", "role": "security", "language": "de"}
    async with api.client.post(CONTACTS, data=form) as page:
        assert page.status == 400
        text = await page.text()
        assert "Bitte eine gültige E-Mail-Adresse angeben" in text and 'aria-invalid="true"' in text
        assert 'value="kein-name"' in text
    async with api.client.post(CONTACTS, data=form | {"csrf": "forged", "email": "it@lk-a.example"}) as page:
        assert page.status == 403
    async with api.client.post(CONTACTS, data=form | {"email": "it@lk-a.example"}, allow_redirects=False) as page:
        assert (page.status, page.headers["Location"]) == (303, f"{CONTACTS}?notice=contact_added")
    async with api.client.post(CONTACTS, data=form | {"email": "it@lk-a.example"}) as page:
        assert page.status == 409 and "bereits ein Kontakt" in await page.text()
    async with api.client.get(CONTACTS) as page:
        text = await page.text()
        assert "it@lk-a.example" in text and "Informationssicherheit" in text
    [contact] = await Store(api.engine).contacts.of_agency("lk-a")
    async with api.client.post(f"{CONTACTS}/{contact.id}/delete", data={"csrf": csrf}, allow_redirects=False) as page:
        assert page.status == 303
    assert await Store(api.engine).contacts.of_agency("lk-a") == []


async def test_another_agencys_pages_are_not_found(api: Api) -> None:
    csrf = await sign_in(api, api.tokens.agency_b)
    for path in (CONTACTS, "/ui/agencies/lk-a/reports", "/ui/agencies/lk-a/reports/2026-W49.pdf"):
        async with api.client.get(path) as page:
            assert page.status == 404, path
    form = {"csrf": csrf, "name": "Spy", "email": "spy@lk-b.example", "role": "it", "language": "de"}
    async with api.client.post(CONTACTS, data=form) as page:
        assert page.status == 404
    assert await Store(api.engine).contacts.of_agency("lk-a") == []
    async with api.client.get("/ui/reports", allow_redirects=False) as page:
        assert page.headers["Location"] == "/ui/agencies/lk-b/reports"


async def test_the_reports_page_lists_pdfs_and_escapes_delivery_errors(api: Api) -> None:
    from monitor.store.audit import Actor
    from monitor.store.report_store import Recipient
    from monitor.usecases.contacts import ContactRequest, Contacts

    store = Store(api.engine)
    contact = await Contacts(store.contacts).add("lk-a", ContactRequest("Erika", "it@lk-a.example"), Actor("t"))
    await store.reports.archive("lk-a", "2026-W49", "de", "pdf", tiny_pdf("A"))
    await store.reports.queue("lk-a", "2026-W49", [Recipient(contact.id, contact.email, "de")])
    async with api.engine.begin() as conn:
        await conn.execute(
            update(DELIVERY).values(status="failed", attempts=3, last_error="550 <script>alert(1)</script>")
        )
    await sign_in(api, api.tokens.agency_a)
    async with api.client.get("/ui/agencies/lk-a/reports") as page:
        text = await page.text()
        assert page.status == 200
        assert "Kalenderwoche 2026-W49" in text and "PDF herunterladen" in text and "fehlgeschlagen" in text
        assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    async with api.client.get("/ui/agencies/lk-a/reports/2026-W49.pdf?language=de") as pdf:
        assert (pdf.status, pdf.content_type) == (200, "application/pdf")
        assert await pdf.read() == tiny_pdf("A")
