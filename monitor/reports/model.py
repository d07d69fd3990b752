"""What a report says, as plain values: the use case (monitor/usecases/reports.py) builds them from the findings
history, the renderers (monitor/reports/render.py) turn them into HTML, PDF and JSON. No store, no template here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.models import Language
from monitor.reports.week import IsoWeek

SEVERITY_LABELS = ("critical", "high", "medium", "low", "info")  # the order every section lists severities in


@dataclass(frozen=True, slots=True)
class AreaScore:
    """One area (a check: tls, ports, patches, …) of an agency's assets: score and grade now and a week before."""

    area: str
    score: int  # 0-100, see monitor.usecases.reports.posture_score
    grade: str  # A-F
    previous_score: int
    open_findings: int

    @property
    def change(self) -> int:
        return self.score - self.previous_score


@dataclass(frozen=True, slots=True)
class Change:
    """Something that happened to one finding in the week."""

    kind: str  # opened | escalated | resolved | fix_verified | overdue | acceptance_expiring
    at: datetime  # when (the deadline for overdue, the end of the acceptance for acceptance_expiring)
    asset: str
    check: str
    key: str
    severity: str
    title: str


@dataclass(frozen=True, slots=True)
class OpenFindingLine:
    asset: str
    check: str
    key: str
    severity: str
    kev: bool
    title: str
    meaning: str  # the catalogue's plain-language explanation, in the report's language
    remediation: str
    first_seen: datetime
    due_at: datetime | None
    overdue: bool
    evidence: str  # a short excerpt of what the check saw (attacker-controlled: banners, certificate names)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    week: IsoWeek
    open_by_severity: dict[str, int]  # label -> findings open at the end of the week


@dataclass(frozen=True, slots=True)
class UnreachableAsset:
    asset: str
    failed_runs: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class AgencyReport:
    agency: str  # slug
    agency_name: str
    week: IsoWeek
    language: Language
    generated_at: datetime
    score: int  # over all areas
    grade: str
    previous_score: int
    open_by_severity: dict[str, int]
    areas: tuple[AreaScore, ...]
    changes: tuple[Change, ...]
    open_findings: tuple[OpenFindingLine, ...]  # most severe first, then by deadline
    unreachable: tuple[UnreachableAsset, ...]
    trend: tuple[TrendPoint, ...]  # oldest first, the report's week last
    assets: int

    def changes_of(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]


@dataclass(frozen=True, slots=True)
class AgencyLine:
    """One agency in the state-wide report."""

    agency: str
    agency_name: str
    score: int
    grade: str
    previous_score: int
    open_by_severity: dict[str, int]
    overdue_critical: int
    kev_open: int


@dataclass(frozen=True, slots=True)
class KevExposure:
    key: str
    title: str
    agencies: int
    assets: int


@dataclass(frozen=True, slots=True)
class TopFinding:
    key: str
    title: str
    severity: str
    count: int  # open findings with this key across the state
    agencies: int


@dataclass(frozen=True, slots=True)
class StateReport:
    week: IsoWeek
    language: Language
    generated_at: datetime
    agencies: tuple[AgencyLine, ...]  # lowest score first
    overdue_critical: tuple[AgencyLine, ...]  # agencies with at least one overdue critical finding
    kev: tuple[KevExposure, ...]
    top_findings: tuple[TopFinding, ...]
    open_by_severity: dict[str, int]
