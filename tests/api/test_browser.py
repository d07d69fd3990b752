"""The web UI in a real headless Chromium (Debian's, driven by Playwright): an agency's whole day by keyboard-
reachable labelled controls, and every page at desktop (1280 px) and phone (390 px) width: German, no English
catalogue text, no horizontal scrolling, and no serious or critical axe-core violation."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from checks import REGISTRY
from monitor.cadence import Cadence
from monitor.catalogue import all_specs
from monitor.models import DOMAIN_PORT, Severity
from monitor.store.audit import Actor
from monitor.store.discovery_store import DiscoveryStore, Seen
from monitor.store.registry import Registry
from monitor.store.scope_requests import ScopeStore
from monitor.store.tables import CHECK_STATE
from tests.api.conftest import FakeResolver, add_finding
from tests.api.test_web_domains import DOMAIN_CHECK, config
from tests.api.test_web_summary import hostile_site, store_result
from tests.api.threaded_server import RunningApi, ThreadedApi

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SEED = Actor("test-seed", "test")
PLANTED = "<script>document.title='pwned'</script>"

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is not installed")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningApi]:
    every_check = config((*REGISTRY, DOMAIN_CHECK))  # and a test-only domain check: none is registered yet
    with ThreadedApi(f"sqlite+aiosqlite:///{tmp_path}/posture.db", every_check, FakeResolver()) as api:
        yield api


def assert_accessible(page: Any) -> None:
    """axe-core (bundled with axe-playwright-python) finds no serious or critical violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], page.url


def assert_fits(page: Any) -> None:
    """Nothing scrolls sideways: neither the page nor any element inside it."""
    wider = page.evaluate(
        """() => {
            const root = document.documentElement;
            const out = [];
            if (root.scrollWidth > root.clientWidth) out.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
            for (const el of document.querySelectorAll('body *')) {
                const style = getComputedStyle(el);
                if (['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
                    out.push(`${el.tagName}.${el.className} ${el.scrollWidth} > ${el.clientWidth}`);
            }
            return out;
        }"""
    )
    assert wider == [], page.url


def english_catalogue_texts() -> list[str]:
    """Every English catalogue title and remediation that differs from its German counterpart."""
    texts = []
    for specs in all_specs().values():
        for spec in specs:
            german = spec.texts("de")
            texts += [english for english in (spec.title, spec.remediation) if english not in (german.title,
                      german.remediation)]  # fmt: skip
    return texts


ENGLISH_WORDS = re.compile(r"\b(Endpoint|Evidence|Severity|Finding|the server|Renew)\b")


def assert_german(page: Any) -> None:
    assert page.locator("html").get_attribute("lang") == "de"
    text = page.locator("body").inner_text()
    leaked = [english for english in english_catalogue_texts() if english in text]
    assert leaked == [], page.url
    assert not ENGLISH_WORDS.search(text), (page.url, ENGLISH_WORDS.search(text))


def seed_agency_day(running: RunningApi) -> dict[str, int]:
    """A realistic agency: endpoints to page through, findings of several kinds (one with a hostile banner and a
    long compliance evidence), a flapping one, and a pending scope request."""

    async def seed() -> dict[str, int]:
        registry = Registry(running.engine)
        ids = []
        for number in range(1, 61):
            checks = ["tls", "reachability", *["web"] * (number == 1)]  # the first is a web site too
            record = await registry.add_endpoint(
                "lk-a", f"127.0.2.{number}", 443, checks, Cadence(3600), SEED,
                labels={"standort": "rathaus-" + "sehr-langer-standortname" * (number == 1)},
            )  # fmt: skip
            ids.append(record.id)
        endpoint = ids[0]
        await store_result(running.engine, endpoint, hostile_site())  # the web check's summary with hostile headers
        failed = [
            {
                "requirement": "suites.tls12",
                "section": "TR-02102-2 §3.3.1 (Table 1: recommended TLS 1.2 suites with perfect forward secrecy)",
                "text": "TLS 1.2 may only use the cipher suites of the TR's Table 1.",
                "evidence": ", ".join(["TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"] * 12),
            }
        ]
        findings = {
            "compliance": await add_finding(
                running.engine, endpoint, check="tls", key="tls.compliance.bsi_tr_02102_2", severity=2,
                title="Not compliant with BSI TR-02102-2", detail={"failed": failed},
            ),
            "banner": await add_finding(
                running.engine, endpoint, check="ports", key="ports.exposed.telnet", severity=3,
                title="Telnet is reachable from the internet",
                detail={"ports": [{"port": 23, "service": "telnet", "banner": PLANTED + "x" * 300}]},
            ),
            "expired": await add_finding(running.engine, endpoint),
            "flapping": await add_finding(
                running.engine, endpoint, key="tls.cert.expiring", state="resolved", flapping=True
            ),
        }  # fmt: skip
        domains = []
        for number in range(1, 56):  # two pages of domains, the first with a long name
            name = f"{'sehr-lange-subdomain-der-stadtverwaltung-' * (number == 1)}d{number}.lk-a.example"
            record = await registry.add_endpoint(
                "lk-a", name, DOMAIN_PORT, [DOMAIN_CHECK], Cadence(3600), SEED, labels={"zone": "intern"}
            )
            domains.append(record.id)
        domain = domains[0]
        findings["domain_finding"] = await add_finding(
            running.engine, domain, check=DOMAIN_CHECK, key="ports.exposed.telnet", severity=3,
            title="Telnet is reachable from the internet", detail={"ports": [{"port": 23, "banner": PLANTED}]},
        )  # fmt: skip
        await ScopeStore(running.engine).request("lk-a", "neu-a.example", SEED)
        discovered = await DiscoveryStore(running.engine).record(
            "lk-a",
            [
                Seen(f"{'sehr-langer-vergessener-testserver-' * 2}v.lk-a.example", None, ("ct",),
                     {"ct": [{"issuer_cn": PLANTED, "log": "https://ct.example/2026h2"}]}, Severity.LOW),
                Seen("127.0.2.200", 3389, ("sweep",), {"sweep": [{"service": "ms-wbt-server"}]}, Severity.HIGH),
            ],
            lambda *_: [],
        )  # fmt: skip
        findings["discovery"] = discovered[0].id
        await DiscoveryStore(running.engine).ran(
            "lk-a", "sweep", datetime.now(UTC), "failed", "nothing swept (127.0.0.0/8: more than 65536 " + PLANTED, 0
        )
        await DiscoveryStore(running.engine).ran("lk-a", "dns", datetime.now(UTC), "ok", None, 3)
        async with running.engine.begin() as conn:  # the endpoint's reachability check failed three runs in a row
            await conn.execute(
                update(CHECK_STATE)
                .where(CHECK_STATE.c.endpoint_id == endpoint, CHECK_STATE.c.check == "reachability")
                .values(
                    last_status="unreachable", consecutive_failures=3, last_run_at=datetime.now(UTC),
                    last_error="TCP connect failed: [Errno 111] Connection refused " + "x" * 80,
                )
            )  # fmt: skip
            await conn.execute(  # the domain's check could not reach its name servers, twice in a row
                update(CHECK_STATE)
                .where(CHECK_STATE.c.endpoint_id == domain)
                .values(
                    last_status="unreachable", consecutive_failures=2, last_run_at=datetime.now(UTC),
                    last_error="SERVFAIL: no name server answered for " + "sehr-lange-subdomain." * 6 + PLANTED,
                )
            )  # fmt: skip
        return {"endpoint": endpoint, "domain": domain, **findings}

    return running.run(seed)


def sign_in(page: Any, running: RunningApi, token: str) -> None:
    page.goto(f"{running.url}/ui/login")
    page.get_by_label("Zugangstoken").fill(token)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_role("heading", name="Endpunkte").wait_for()


@pytest.mark.parametrize("width", [1280, 390])
def test_every_page_is_german_fits_the_screen_and_passes_axe(running: RunningApi, width: int) -> None:
    from playwright.sync_api import sync_playwright

    ids = seed_agency_day(running)
    pages = [
        "/ui/endpoints",
        "/ui/endpoints?page=2",
        "/ui/endpoints?label=standort%3Drathaus-",
        "/ui/endpoints?status=unreachable",
        f"/ui/endpoints/{ids['endpoint']}",
        f"/ui/endpoints/{ids['endpoint']}/edit",
        f"/ui/endpoints/{ids['endpoint']}/delete",
        *(f"/ui/findings/{ids[kind]}" for kind in ("compliance", "banner", "expired", "flapping")),
        "/ui/scope",
        "/ui/findings/999999",  # the error page
        "/ui/domains",
        "/ui/domains?page=2",
        "/ui/domains?status=unreachable",
        f"/ui/domains/{ids['domain']}",
        f"/ui/domains/{ids['domain']}/edit",
        f"/ui/domains/{ids['domain']}/delete",
        f"/ui/findings/{ids['domain_finding']}",
        f"/ui/domains/{ids['endpoint']}",  # an endpoint's id: the error page
        "/ui/discoveries",
        "/ui/discoveries?state=all",
        f"/ui/discoveries/{ids['discovery']}",
    ]
    not_found = ("/ui/findings/999999", f"/ui/domains/{ids['endpoint']}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(f"{running.url}/ui/login?ended=revoked")
            assert_german(page)
            assert_fits(page)
            assert_accessible(page)
            sign_in(page, running, running.tokens.agency_a)
            for path in pages:
                response = page.goto(running.url + path)
                assert response is not None and response.status == (404 if path in not_found else 200), path
                assert page.title() != "pwned"
                assert_german(page)
                assert_fits(page)
                assert_accessible(page)
            # the CERT's view: every agency's endpoints and scope requests, with the agency column and field
            page.get_by_role("button", name="Abmelden").click()
            sign_in(page, running, running.tokens.admin)
            for path in ("/ui/endpoints", "/ui/scope", f"/ui/endpoints/{ids['endpoint']}", "/ui/domains",
                         f"/ui/domains/{ids['domain']}"):  # fmt: skip
                page.goto(running.url + path)
                assert_german(page)
                assert_fits(page)
                assert_accessible(page)
            page.get_by_role("button", name="Abmelden").click()
            sign_in(page, running, running.tokens.agency_a)
            # a form with every error shown at once fits and is accessible too
            page.goto(f"{running.url}/ui/endpoints/{ids['endpoint']}/edit")
            for box in page.get_by_role("checkbox").all():
                box.uncheck()
            page.get_by_label("Prüfintervall").fill("oft")
            page.get_by_role("button", name="Speichern").click()
            page.get_by_text("Bitte mindestens eine Prüfung auswählen.").wait_for()
            assert_german(page)
            assert_fits(page)
            assert_accessible(page)
            # and the domain form refused out of scope, with the agency's domain scope explained
            page.goto(f"{running.url}/ui/domains")
            page.get_by_label("Domainname").fill("rathaus.example")
            page.get_by_role("button", name="Domain registrieren").click()
            page.locator("#domain-scope").wait_for()
            assert_german(page)
            assert_fits(page)
            assert_accessible(page)
        finally:
            browser.close()


def test_an_agency_signs_in_registers_sees_a_finding_and_accepts_the_risk(running: RunningApi) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{running.url}/ui/login")
            expect(page.locator("html")).to_have_attribute("lang", "de")
            sign_in(page, running, running.tokens.agency_a)

            # out of scope: the error is shown next to the field, what was typed stays, the way to ask is shown
            host = page.get_by_label("Host (Name oder IP-Adresse)")
            host.fill("www.lk-b.example")
            page.get_by_label("Port", exact=True).fill("443")
            page.get_by_role("button", name="Endpunkt registrieren").click()
            expect(page.locator("#host-error")).to_contain_text("außerhalb des Prüfbereichs")
            expect(host).to_have_attribute("aria-invalid", "true")
            expect(host).to_have_value("www.lk-b.example")
            expect(page.get_by_role("link", name="Prüfbereich anzeigen oder Erweiterung beantragen")).to_be_visible()

            host.fill("https://127.0.0.1/")
            page.get_by_label("Port", exact=True).press("Enter")  # keyboard only
            expect(page.locator("#host-error")).to_contain_text("ohne https://")
            page.get_by_label("Host (Name oder IP-Adresse)").fill("127.0.0.1")
            page.get_by_label("Port", exact=True).press("Enter")
            expect(page.get_by_role("status")).to_contain_text("registriert")
            endpoint_id = int(page.url.split("/ui/endpoints/")[1].split("?")[0])

            # a scan found something (the finding is written as the scheduler would), with a planted script
            finding_id = running.run(lambda: add_finding(running.engine, endpoint_id, detail={"subject": PLANTED}))
            page.reload()
            page.get_by_role("link", name="Das Zertifikat des Servers ist abgelaufen").click()
            expect(page.get_by_role("heading", name="Das Zertifikat des Servers ist abgelaufen")).to_be_visible()
            expect(page.get_by_text(PLANTED)).to_be_visible()  # shown as text, not run
            assert page.title() != "pwned"
            expect(page.get_by_text("Erneuern Sie das Zertifikat", exact=False).first).to_be_visible()

            page.get_by_label("Begründung").fill("Ersatz im März bestellt")
            page.get_by_role("button", name="Risiko akzeptieren").click()
            expect(page.locator("#finding-state")).to_have_text("akzeptiert")
            assert page.url.endswith(f"/ui/findings/{finding_id}?notice=accepted")
            page.get_by_role("button", name="Akzeptanz zurücknehmen").click()
            expect(page.locator("#finding-state")).to_have_text("offen")

            page.get_by_role("link", name="English").click()
            expect(page.locator("#finding-state")).to_have_text("open")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("heading", name="The certificate has expired")).to_be_visible()
            page.get_by_role("link", name="Back to the overview").click()
            page.get_by_role("link", name="127.0.0.1").click()
            page.get_by_role("button", name="Re-scan now").click()
            expect(page.get_by_role("status")).to_contain_text("re-scan was requested")
            page.get_by_role("button", name="Re-scan now").click()
            expect(page.get_by_role("alert")).to_contain_text("The next one is possible from")

            page.get_by_role("link", name="Deutsch").click()
            page.goto(f"{running.url}/ui/endpoints/{endpoint_id}")
            page.get_by_role("link", name="Bearbeiten").click()
            page.get_by_label("Labels").fill("standort=rathaus")
            page.get_by_role("button", name="Speichern").click()
            expect(page.get_by_role("status")).to_contain_text("gespeichert")
            expect(page.get_by_text("standort=rathaus")).to_be_visible()
            page.get_by_role("link", name="Endpunkt löschen").click()
            page.get_by_role("button", name="Ja, endgültig löschen").click()
            expect(page.get_by_role("status")).to_contain_text("gelöscht")
            expect(page.get_by_text("Noch keine Endpunkte registriert.")).to_be_visible()

            # a domain, by keyboard from the navigation: an address is refused with the reason, a name registered
            page.get_by_role("link", name="Domains", exact=True).click()
            name = page.get_by_label("Domainname")
            name.fill("127.0.0.1")
            name.press("Enter")
            expect(page.locator("#name-error")).to_contain_text("Eine Domain ist ein Name")
            expect(page.get_by_label("Domainname")).to_have_attribute("aria-invalid", "true")
            page.get_by_label("Domainname").fill("www.lk-a.example")
            page.get_by_label("Domainname").press("Enter")
            expect(page.get_by_role("status")).to_contain_text("Die Domain wurde registriert.")
            expect(page.get_by_role("heading", name="www.lk-a.example")).to_be_visible()
            page.get_by_role("button", name="Jetzt erneut prüfen").click()
            expect(page.get_by_role("status")).to_contain_text("angefordert")
        finally:
            browser.close()
