"""The rendered reports: the PDF read back with poppler (text and pictures), the HTML in the real headless Chromium
with the attacker-controlled fields shown as text, the English variant, the state report."""

from __future__ import annotations

import subprocess
from pathlib import Path

from monitor.reports.render import PdfRenderer, StoreReportMaker, agency_html, trend_svg
from monitor.store.store import Store
from monitor.usecases.reports import Reports
from tests.api.test_browser import ARGS, CHROMIUM
from tests.reports.lifecycle import AGENCY, HOSTILE, WEEK


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def page_inks(pdf: bytes, tmp_path: Path) -> list[float]:
    """Per page, the share of pixels that are not white (pdftoppm at 30 dpi, grey)."""
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(path), str(tmp_path / "page")], check=True)
    shares = []
    for image in sorted(tmp_path.glob("page-*.pgm")):
        data = image.read_bytes()
        # P5 header: magic, width height, maxval, each on a line
        header_end = 0
        for _ in range(3):
            header_end = data.index(b"\n", header_end) + 1
        pixels = data[header_end:]
        shares.append(sum(1 for value in pixels if value < 200) / len(pixels))
    return shares


async def test_the_pdf_has_the_german_sections_and_numbers(filled: Store, tmp_path: Path) -> None:
    renderer = PdfRenderer(workers=1)
    try:
        rendered = await StoreReportMaker(filled, renderer)(AGENCY, WEEK, "de", "pdf")
    finally:
        renderer.close()
    assert rendered.content.startswith(b"%PDF-")
    text = pdf_text(rendered.content, tmp_path)
    for heading in (
        "Wöchentlicher Sicherheitsbericht: Landkreis Berichtshausen",
        "Kalenderwoche 2026-W48 (23.11.2026 – 29.11.2026)",
        "Zusammenfassung",
        "Was hat sich geändert",
        "Offene Befunde",
        "Nicht erreichbare Systeme",
        "Entwicklung der letzten 12 Wochen",
        "Behebung bestätigt",
        "Frist überschritten",
    ):
        assert heading in text, heading
    assert " 47 / 100" in text and "Seite 1 von" in text
    assert "127.0.50.3:443" in text and "Das Zertifikat des Servers ist abgelaufen" in text
    assert "aktiv ausgenutzt (CISA KEV)" in text
    # the evidence (here a hostile certificate subject) is the web UI's, the HTML's and the JSON's, not the PDF's
    assert HOSTILE not in text and "Beobachtet" not in text
    inks = page_inks(rendered.content, tmp_path)
    assert len(inks) >= 2 and inks[0] > 0.03 and all(share > 0.001 for share in inks), inks


async def test_the_english_pdf(filled: Store, tmp_path: Path) -> None:
    renderer = PdfRenderer(workers=1)
    try:
        rendered = await StoreReportMaker(filled, renderer)(AGENCY, WEEK, "en", "pdf")
    finally:
        renderer.close()
    text = pdf_text(rendered.content, tmp_path)
    for heading in ("Weekly security report", "What changed", "Open findings", "Systems not reachable", "Page 1 of"):
        assert heading in text, heading
    assert "Zusammenfassung" not in text


async def test_the_html_shows_hostile_fields_as_text_in_chromium(filled: Store, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    html = agency_html(await Reports(filled).agency(AGENCY, WEEK, "de"))
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    path = tmp_path / "report.html"
    path.write_text(html, encoding="utf-8")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: dialogs.append(dialog.message))
            await page.goto(path.as_uri())
            body = await page.inner_text("body")
            assert HOSTILE in body
            assert "SSH-2.0-OpenSSH_9.3p1 <img src=x onerror=alert(1)>" in body
            assert await page.locator("script").count() == 0 and await page.locator("b").count() == 0
            assert await page.locator("img").count() == 0
            assert dialogs == []
            headings = await page.locator("h2").all_inner_texts()
            assert headings == [
                "Zusammenfassung",
                "Was hat sich geändert",
                "Offene Befunde",
                "Nicht erreichbare Systeme",
                "Entwicklung der letzten 12 Wochen",
            ]
            assert await page.locator("svg.trend path").count() > 0
            assert await page.title() == "Wöchentlicher Sicherheitsbericht – Landkreis Berichtshausen – 2026-W48"
        finally:
            await browser.close()


async def test_the_state_report_as_pdf_and_html(filled: Store, tmp_path: Path) -> None:
    renderer = PdfRenderer(workers=1)
    maker = StoreReportMaker(filled, renderer)
    try:
        pdf = await maker.state(WEEK, "de", "pdf")
    finally:
        renderer.close()
    text = pdf_text(pdf, tmp_path)
    for heading in (
        "Landesweiter Wochenbericht",
        "Behörden mit überfälligen kritischen Befunden",
        "Aktiv ausgenutzte Schwachstellen (CISA KEV) im Land",
        "Häufigste Befunde",
        "Landkreis Berichtshausen",
    ):
        assert heading in text, heading


def test_the_trend_chart_scales_to_the_highest_week() -> None:
    from monitor.reports.model import TrendPoint

    empty = {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    svg = str(trend_svg([TrendPoint(WEEK.previous(1), empty), TrendPoint(WEEK, {**empty, "high": 7})], "de"))
    # one bar of 7 on an axis up to 8: 7/8 of the plot's 180 px, from its floor (y 192) up
    assert svg.count("<path") == 1 and 'd="M' in svg and "v157.5" in svg and ">8</text>" in svg and "W48" in svg
