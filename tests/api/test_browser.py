"""The web UI in a real headless Chromium (Debian's, driven by Playwright): sign in, register, see a finding,
read the out-of-scope error, accept a risk, switch to English, all by keyboard-reachable labelled controls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.api.context import ApiConfig
from tests.api.conftest import FakeResolver, add_finding
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

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is not installed")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningApi]:
    config = ApiConfig(check_names=("reachability",), rescan_min_interval=timedelta(minutes=5))
    with ThreadedApi(f"sqlite+aiosqlite:///{tmp_path}/posture.db", config, FakeResolver()) as api:
        yield api


def assert_accessible(page: object) -> None:
    """axe-core (bundled with axe-playwright-python) finds no serious or critical violation on the page."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:  # optional: the rest of the browser test still runs
        return
    violations = Axe().run(page).response["violations"]
    serious = [(v["id"], [n["html"] for n in v["nodes"]]) for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == []


def test_an_agency_signs_in_registers_sees_a_finding_and_accepts_the_risk(running: RunningApi) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{running.url}/ui/login")
            expect(page.locator("html")).to_have_attribute("lang", "de")
            assert_accessible(page)
            page.get_by_label("Zugangstoken").fill(running.tokens.agency_a)
            page.get_by_role("button", name="Anmelden").click()
            expect(page.get_by_role("heading", name="Endpunkte")).to_be_visible()

            # out of scope: the error is shown next to the field, and what was typed stays
            page.get_by_label("Host (Name oder IP-Adresse)").fill("www.lk-b.example")
            page.get_by_label("Port").fill("443")
            page.get_by_role("button", name="Endpunkt registrieren").click()
            error = page.locator("#host-error")
            expect(error).to_contain_text("außerhalb des Geltungsbereichs")
            expect(page.get_by_label("Host (Name oder IP-Adresse)")).to_have_attribute("aria-invalid", "true")
            assert_accessible(page)

            page.get_by_label("Host (Name oder IP-Adresse)").fill("127.0.0.1")
            page.get_by_label("Port").press("Enter")  # keyboard only
            expect(page.get_by_role("status")).to_contain_text("registriert")
            endpoint_id = int(page.url.split("/ui/endpoints/")[1].split("?")[0])

            # a scan found something (the finding is written as the scheduler would), with a planted script
            planted = "<script>document.title='pwned'</script>"
            finding_id = running.run(
                lambda: add_finding(
                    running.engine, endpoint_id, title="Zertifikat abgelaufen", detail={"banner": planted}
                )
            )
            page.reload()
            page.get_by_role("link", name="Zertifikat abgelaufen").click()
            expect(page.get_by_role("heading", name="Zertifikat abgelaufen")).to_be_visible()
            expect(page.locator("pre")).to_have_text(planted)  # shown as text, not run
            assert page.title() != "pwned"
            expect(page.get_by_text("Renew the certificate.")).to_be_visible()
            assert_accessible(page)

            page.get_by_label("Begründung").fill("Ersatz im März bestellt")
            page.get_by_role("button", name="Risiko akzeptieren").click()
            expect(page.locator("#finding-state")).to_have_text("akzeptiert")
            assert page.url.endswith(f"/ui/findings/{finding_id}?notice=accepted")

            page.get_by_role("link", name="English").click()
            expect(page.locator("#finding-state")).to_have_text("accepted")
            expect(page.locator("html")).to_have_attribute("lang", "en")
            page.get_by_role("link", name="Back to the overview").click()
            page.get_by_role("link", name="127.0.0.1").click()
            page.get_by_role("button", name="Re-scan now").click()
            expect(page.get_by_role("status")).to_contain_text("re-scan was requested")
        finally:
            browser.close()
