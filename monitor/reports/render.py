"""Reports as HTML (Jinja2, autoescaped: banners and certificate names are attacker-controlled), PDF (WeasyPrint,
in worker processes: it blocks and is CPU-heavy) and JSON (the same content; shape in docs/reports.md)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from monitor.api.i18n import local_date, local_time
from monitor.models import Language
from monitor.reports.maker import RenderedReport, ReportFormat
from monitor.reports.model import SEVERITY_LABELS, AgencyReport, OpenFindingLine, StateReport, TrendPoint
from monitor.reports.texts import area_name, texts
from monitor.reports.week import IsoWeek

if TYPE_CHECKING:  # a PDF worker imports this module: it needs neither the store nor the checks
    from monitor.store.store import Store

JSON_VERSION = 1
SEVERITY_COLOURS = {
    "critical": "#8b0000",
    "high": "#d9480f",
    "medium": "#e8a200",
    "low": "#4c8bbf",
    "info": "#9aa5b1",
}
_TEMPLATES = Path(__file__).parent / "templates"
_T = TypeVar("_T")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["severities"] = SEVERITY_LABELS
    env.globals["colours"] = SEVERITY_COLOURS
    return env


_ENV = _environment()


def _context(language: Language, week: IsoWeek) -> dict[str, Any]:
    last_day = week.end - timedelta(days=1)
    return {
        "lang": language,
        "t": texts(language),
        "area_label": lambda name: area_name(name, language),
        "day": lambda moment: local_date(moment, language) if moment else "",
        "moment": lambda moment: local_time(moment, language),
        "week_range": f"{local_date(week.start, language)} – {local_date(last_day, language)}",
    }


def trend_svg(trend: Sequence[TrendPoint], language: Language) -> Markup:
    """A stacked bar chart of open findings by severity, one bar per week, as inline SVG (no script)."""
    width, height, left, bottom, top = 640, 220, 40, 28, 12
    plot_h = height - bottom - top
    highest = max((sum(point.open_by_severity.values()) for point in trend), default=0)
    scale_max = max(4, highest + (-highest % 4))  # a round axis: a multiple of 4
    slot = (width - left - 10) / max(1, len(trend))
    bar = slot * 0.6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(texts(language)["trend_caption"])}">'
    ]
    for tick in range(5):
        value = scale_max * tick // 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{value}</text>')
    bars: dict[str, list[str]] = {label: [] for label in SEVERITY_LABELS}  # one path per severity: cheap to lay out
    labels = []
    for index, point in enumerate(trend):
        x = left + index * slot + (slot - bar) / 2
        y = top + plot_h
        for label in reversed(SEVERITY_LABELS):  # the most severe on top
            count = point.open_by_severity.get(label, 0)
            if not count:
                continue
            h = plot_h * count / scale_max
            y -= h
            bars[label].append(f"M{x:.1f} {y:.1f}h{bar:.1f}v{h:.1f}h{-bar:.1f}z")
        labels.append(f'<tspan x="{x + bar / 2:.1f}">{escape(f"W{point.week.week:02d}")}</tspan>')
    for label, shapes in bars.items():
        if shapes:
            parts.append(
                f'<path d="{"".join(shapes)}" fill="{SEVERITY_COLOURS[label]}"><title>{escape(label)}</title></path>'
            )
    parts.append(f'<text y="{height - 10}" text-anchor="middle" font-size="10">{"".join(labels)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  # numbers and escaped labels only


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """Open findings with one key: explained once, with the assets it is open on."""

    first: OpenFindingLine
    lines: list[OpenFindingLine]


def group_findings(lines: Sequence[OpenFindingLine]) -> list[FindingGroup]:
    """Grouped by key, in the order of each key's first (most severe, most urgent) line."""
    groups: dict[str, FindingGroup] = {}
    for line in lines:
        group = groups.setdefault(line.key, FindingGroup(line, []))
        group.lines.append(line)
    return list(groups.values())


def agency_html(report: AgencyReport, printed: bool = False) -> str:
    """The agency report as HTML; `printed`: the PDF's source, without each asset's evidence line (it is what the
    scanned server said, for the web UI, HTML and JSON; leaving it out of the PDF takes a sixth off its layout)."""
    context = _context(report.language, report.week)
    return _ENV.get_template("agency.html").render(
        report=report,
        chart=trend_svg(report.trend, report.language),
        groups=group_findings(report.open_findings),
        printed=printed,
        **context,
    )


def state_html(report: StateReport) -> str:
    return _ENV.get_template("state.html").render(report=report, **_context(report.language, report.week))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, IsoWeek):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def agency_json(report: AgencyReport) -> bytes:
    document = {"version": JSON_VERSION, "kind": "agency", **_plain(report)}
    document["week_start"] = report.week.start.isoformat()
    document["week_end"] = report.week.end.isoformat()
    for area, score in zip(document["areas"], report.areas, strict=True):
        area["change"] = score.change
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def state_json(report: StateReport) -> bytes:
    document = {"version": JSON_VERSION, "kind": "state", **_plain(report)}
    document["week_start"] = report.week.start.isoformat()
    document["week_end"] = report.week.end.isoformat()
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def html_to_pdf(html: str) -> bytes:
    """Blocking: call through PdfRenderer (worker processes) from the event loop."""
    from weasyprint import HTML  # imported in the worker: 30 MB the parent never needs

    pdf: bytes = HTML(string=html, base_url=str(_TEMPLATES)).write_pdf(font_config=_fonts())
    return pdf


@cache
def _fonts() -> Any:
    """One font configuration per worker: its fonts are looked up once, not once per document (~15 % faster)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def agency_pdf(report: AgencyReport) -> bytes:
    """Blocking, in a worker: the template and WeasyPrint both run there, off the parent's event loop."""
    return html_to_pdf(agency_html(report, printed=True))


def state_pdf(report: StateReport) -> bytes:
    return html_to_pdf(state_html(report))


class PdfRenderer:
    """WeasyPrint in worker processes (spawned: the parent may run threads), started on first use. A worker is
    replaced after `tasks_per_worker` documents so that its heap does not grow without bound."""

    def __init__(self, workers: int = 2, tasks_per_worker: int = 200) -> None:
        self.workers = workers
        self.tasks_per_worker = tasks_per_worker
        self._pool: ProcessPoolExecutor | None = None

    async def render(self, html: str) -> bytes:
        return await self._run(html_to_pdf, html)

    async def agency(self, report: AgencyReport) -> bytes:
        return await self._run(agency_pdf, report)

    async def state(self, report: StateReport) -> bytes:
        return await self._run(state_pdf, report)

    async def _run(self, function: Callable[[_T], bytes], argument: _T) -> bytes:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=self.tasks_per_worker,
            )
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, argument)

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (for measuring their memory)."""
        processes = getattr(self._pool, "_processes", None) or {}
        return [int(pid) for pid in processes]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class StoreReportMaker:
    """The ReportMaker delivery and the archive use: one agency's week from the store, in any format."""

    def __init__(self, store: Store, pdf: PdfRenderer | None = None) -> None:
        from monitor.usecases.reports import Reports

        self.reports = Reports(store)
        self.pdf = pdf or PdfRenderer()

    async def __call__(self, agency: str, week: IsoWeek, language: Language, format: ReportFormat) -> RenderedReport:
        report = await self.reports.agency(agency, week, language)
        return RenderedReport(agency, week, language, format, await self._render(report, format))

    async def state(self, week: IsoWeek, language: Language, format: ReportFormat) -> bytes:
        report = await self.reports.state(week, language)
        if format == "json":
            return await asyncio.to_thread(state_json, report)
        if format == "html":
            return (await asyncio.to_thread(state_html, report)).encode()
        return await self.pdf.state(report)

    async def _render(self, report: AgencyReport, format: ReportFormat) -> bytes:
        if format == "json":
            return await asyncio.to_thread(agency_json, report)
        if format == "html":
            return (await asyncio.to_thread(agency_html, report)).encode()
        return await self.pdf.agency(report)

    def close(self) -> None:
        self.pdf.close()
