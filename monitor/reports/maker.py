"""What delivery and the archive need from reporting: one agency's report for one week, rendered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from monitor.models import Language
from monitor.reports.week import IsoWeek

ReportFormat = Literal["pdf", "html", "json"]
MEDIA_TYPES: dict[ReportFormat, str] = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "json": "application/json",
}


@dataclass(frozen=True, slots=True)
class RenderedReport:
    agency: str  # slug
    week: IsoWeek
    language: Language
    format: ReportFormat
    content: bytes

    @property
    def filename(self) -> str:
        """e.g. "posture-mi-niedersachsen-2026-W49-de.pdf"."""
        return f"posture-{self.agency}-{self.week}-{self.language}.{self.format}"


class ReportMaker(Protocol):
    async def __call__(
        self, agency: str, week: IsoWeek, language: Language, format: ReportFormat
    ) -> RenderedReport: ...
