"""The weekly reports' rules: what was open when, the posture score, what changed in a week, the 12-week trend.

What was open at a moment T: the finding's opened/resolved events (the outbox keeps them) up to T say so when
there are any; otherwise its first-seen and resolved times do. A finding that resolved and reopened is thus not
counted in the weeks between. Accepted risks (open, muted until a time after T) count neither as open nor in the
score: the agency decided about them; they appear under "expiring" 30 days before they end.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from checks import REGISTRY
from monitor.catalogue import finding_texts
from monitor.errors import NotFound
from monitor.models import EventType, Language, Severity, asset_name
from monitor.reports.model import (
    SEVERITY_LABELS,
    AgencyLine,
    AgencyReport,
    AreaScore,
    Change,
    KevExposure,
    OpenFindingLine,
    StateReport,
    TopFinding,
    TrendPoint,
    UnreachableAsset,
)
from monitor.reports.week import IsoWeek
from monitor.store.report_queries import AgencyRow, AssetRow, EventRow, FailedRuns, FindingRow
from monitor.store.store import Store

TREND_WEEKS = 12
EXPIRING_WITHIN = timedelta(days=30)
# score points one open finding costs, by severity; see posture_score
WEIGHTS = {Severity.CRITICAL: 25, Severity.HIGH: 10, Severity.MEDIUM: 4, Severity.LOW: 1, Severity.INFO: 0}
GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (20, "E"))
_OPENING = {EventType.FINDING_OPENED.value, EventType.FINDING_ESCALATED.value}
_CLOSING = {EventType.FINDING_RESOLVED.value, EventType.FINDING_FLAPPING.value}
_EVIDENCE_FIELDS = 6


def posture_score(severities: Iterable[int]) -> tuple[int, str]:
    """The score (0-100) and grade of a set of open findings: 100 less 25 per critical, 10 per high, 4 per medium,
    1 per low finding, floored at 0; grade A from 90, B from 75, C from 60, D from 40, E from 20, F below."""
    score = max(0, 100 - sum(WEIGHTS[Severity(severity)] for severity in severities))
    return score, next((grade for floor, grade in GRADES if score >= floor), "F")


@dataclass(frozen=True, slots=True)
class _History:
    """A finding's changes in time order, answering "was it open at T, and how severe"."""

    row: FindingRow
    times: tuple[datetime, ...]
    opens: tuple[bool, ...]  # per change: did it leave the finding open
    severities: tuple[int, ...]  # per change: the severity from then on

    def open_at(self, moment: datetime) -> bool:
        if self.row.accepted_until is not None and self.row.accepted_until > moment:
            return False
        index = bisect_right(self.times, moment)
        return index > 0 and self.opens[index - 1]

    def severity_at(self, moment: datetime) -> int:
        index = bisect_right(self.times, moment)
        return self.severities[index - 1] if index else self.row.severity


def _histories(rows: Sequence[FindingRow], events: Sequence[EventRow]) -> list[_History]:
    """Each finding's changes: its first sighting opens it, its events open or close it (and say its severity
    then), and the row's resolution closes it (also when no event was queued: below the agency's alert
    threshold). Without events the severity is the current one."""
    by_finding: dict[tuple[int, str], list[EventRow]] = defaultdict(list)
    for event in events:
        by_finding[(event.endpoint_id, event.key)].append(event)
    histories = []
    for row in rows:
        # an event older than the finding's first sighting belongs to a predecessor with the same key
        found = [event for event in by_finding.get((row.endpoint_id, row.key), ()) if event.at >= row.first_seen]
        found.sort(key=lambda event: event.at)
        first_severity = found[0].severity if found and found[0].type in _OPENING else row.severity
        changes = [(row.first_seen, True, first_severity)]
        changes += [(event.at, event.type not in _CLOSING, event.severity) for event in found]
        if not row.is_open and row.resolved_at is not None:
            changes.append((row.resolved_at, False, row.severity))
        changes.sort(key=lambda change: change[0])
        histories.append(
            _History(
                row,
                tuple(at for at, _, _ in changes),
                tuple(is_open for _, is_open, _ in changes),
                tuple(severity for _, _, severity in changes),
            )
        )
    return histories


def _areas(assets: Sequence[AssetRow], rows: Sequence[FindingRow]) -> list[str]:
    """The checks the agency's assets have (and any that found something), in registry order."""
    present = {check for asset in assets for check in asset.checks} | {row.check for row in rows}
    return [name for name in REGISTRY if name in present] + sorted(present - set(REGISTRY))


def _evidence(detail: dict[str, object]) -> str:
    parts = [
        f"{name}: {value}"
        for name, value in detail.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool) and name not in ("due_date",)
    ]
    return "; ".join(parts[:_EVIDENCE_FIELDS])[:300]


class Reports:
    """Builds AgencyReport and StateReport from the store's report readers (never its tables)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def agency_names(self) -> list[str]:
        return [agency.slug for agency in await self.store.report_data.agencies()]

    async def agency(self, slug: str, week: IsoWeek, language: Language) -> AgencyReport:
        agency = await self.store.report_data.agency(slug)
        if agency is None:
            raise NotFound("agency", f"no agency {slug!r}")
        first = week.previous(TREND_WEEKS - 1)
        queries = self.store.report_data
        assets = await queries.assets(agency.id)
        rows = await queries.findings(week.end, agency.id)
        events = await queries.events(first.start - timedelta(weeks=TREND_WEEKS), week.end, agency.slug)
        failed = await queries.failed_runs(week.start, week.end, [asset.endpoint_id for asset in assets])
        return self._agency_report(agency, week, language, assets, rows, events, failed)

    def _agency_report(
        self,
        agency: AgencyRow,
        week: IsoWeek,
        language: Language,
        assets: Sequence[AssetRow],
        rows: Sequence[FindingRow],
        events: Sequence[EventRow],
        failed: Sequence[FailedRuns],
    ) -> AgencyReport:
        names = {asset.endpoint_id: asset_name(asset.host, asset.port) for asset in assets}
        histories = _histories(rows, events)
        now_open = [h.row for h in histories if h.open_at(week.end)]
        before_open = [(h.row.check, h.severity_at(week.start)) for h in histories if h.open_at(week.start)]
        score, grade = posture_score(row.severity for row in now_open)
        previous, _ = posture_score(severity for _, severity in before_open)
        areas = []
        for area in _areas(assets, rows):
            mine = [row.severity for row in now_open if row.check == area]
            area_score, area_grade = posture_score(mine)
            area_previous, _ = posture_score(severity for check, severity in before_open if check == area)
            areas.append(AreaScore(area, area_score, area_grade, area_previous, len(mine)))
        changes = self._changes(week, histories, events, names, language)
        open_lines = sorted(
            (self._line(row, names, week, language) for row in now_open),
            key=lambda line: (
                SEVERITY_LABELS.index(line.severity),
                line.due_at or datetime.max.replace(tzinfo=week.end.tzinfo),
                line.asset,
                line.key,
            ),
        )
        unreachable = tuple(
            UnreachableAsset(names[runs.endpoint_id], runs.failed, runs.last_error)
            for runs in failed
            if runs.endpoint_id in names and _ended_unreachable(runs)
        )
        return AgencyReport(
            agency=agency.slug,
            agency_name=agency.name,
            week=week,
            language=language,
            generated_at=self.store.clock.now(),
            score=score,
            grade=grade,
            previous_score=previous,
            open_by_severity=_by_severity(row.severity for row in now_open),
            areas=tuple(areas),
            changes=tuple(changes),
            open_findings=tuple(open_lines),
            unreachable=tuple(sorted(unreachable, key=lambda asset: asset.asset)),
            trend=tuple(_trend(histories, week)),
            assets=len(assets),
        )

    def _changes(
        self,
        week: IsoWeek,
        histories: Sequence[_History],
        events: Sequence[EventRow],
        names: dict[int, str],
        language: Language,
    ) -> list[Change]:
        def change(kind: str, at: datetime, row: FindingRow) -> Change:
            title = finding_texts(row.key, row.title, row.remediation, language).title
            label = Severity(row.severity).label
            return Change(kind, at, names.get(row.endpoint_id, "?"), row.check, row.key, label, title)

        def in_week(moment: datetime | None) -> bool:
            return moment is not None and week.start <= moment < week.end

        by_finding = {(h.row.endpoint_id, h.row.key): h.row for h in histories}
        changes: list[Change] = []
        opened: set[int] = set()
        escalated: set[int] = set()
        for event in events:
            row = by_finding.get((event.endpoint_id, event.key))
            if row is None or not in_week(event.at) or event.at < row.first_seen:
                continue
            if event.type == EventType.FINDING_OPENED.value and row.id not in opened:
                opened.add(row.id)
                changes.append(change("opened", event.at, row))
            elif event.type == EventType.FINDING_ESCALATED.value and row.id not in escalated:
                escalated.add(row.id)
                changes.append(change("escalated", event.at, row))
        for history in histories:
            row = history.row
            if in_week(row.first_seen) and row.id not in opened:  # opened below the agency's alert threshold
                changes.append(change("opened", row.first_seen, row))
            if not row.is_open and in_week(row.resolved_at) and row.resolved_at is not None:
                kind = "fix_verified" if row.resolution == "fix_verified" else "resolved"
                changes.append(change(kind, row.resolved_at, row))
            if history.open_at(week.end) and row.due_at is not None and row.due_at < week.end:
                changes.append(change("overdue", row.due_at, row))
            until = row.accepted_until
            if row.is_open and until is not None and week.end <= until < week.end + EXPIRING_WITHIN:
                changes.append(change("acceptance_expiring", until, row))
        order = ("opened", "escalated", "resolved", "fix_verified", "overdue", "acceptance_expiring")
        return sorted(
            changes, key=lambda c: (order.index(c.kind), SEVERITY_LABELS.index(c.severity), c.at, c.asset, c.key)
        )

    def _line(self, row: FindingRow, names: dict[int, str], week: IsoWeek, language: Language) -> OpenFindingLine:
        texts = finding_texts(row.key, row.title, row.remediation, language)
        return OpenFindingLine(
            asset=names.get(row.endpoint_id, "?"),
            check=row.check,
            key=row.key,
            severity=Severity(row.severity).label,
            kev=row.kev,
            title=texts.title,
            meaning=texts.meaning,
            remediation=texts.remediation,
            first_seen=row.first_seen,
            due_at=row.due_at,
            overdue=row.due_at is not None and row.due_at < week.end,
            evidence=_evidence(row.detail),
        )

    async def state(self, week: IsoWeek, language: Language) -> StateReport:
        queries = self.store.report_data
        agencies = await queries.agencies()
        rows = await queries.findings(week.end)
        events = await queries.events(week.start - timedelta(weeks=TREND_WEEKS), week.end)
        histories = _histories(rows, events)
        by_agency: dict[str, list[_History]] = defaultdict(list)
        for history in histories:
            by_agency[history.row.agency].append(history)
        lines = []
        for agency in agencies:
            mine = by_agency.get(agency.slug, [])
            now_open = [h.row for h in mine if h.open_at(week.end)]
            score, grade = posture_score(row.severity for row in now_open)
            previous, _ = posture_score(h.severity_at(week.start) for h in mine if h.open_at(week.start))
            overdue_critical = sum(
                1 for row in now_open if row.severity == Severity.CRITICAL and row.due_at and row.due_at < week.end
            )
            lines.append(
                AgencyLine(
                    agency.slug,
                    agency.name,
                    score,
                    grade,
                    previous,
                    _by_severity(row.severity for row in now_open),
                    overdue_critical,
                    sum(1 for row in now_open if row.kev),
                )
            )
        all_open = [h.row for h in histories if h.open_at(week.end)]
        kev_assets: dict[str, set[int]] = defaultdict(set)
        kev_agencies: dict[str, set[str]] = defaultdict(set)
        for row in all_open:
            if row.kev:
                kev_assets[row.key].add(row.endpoint_id)
                kev_agencies[row.key].add(row.agency)
        titles: dict[str, str] = {}
        severities: dict[str, Severity] = {}
        agencies_per_key: dict[str, set[str]] = defaultdict(set)
        for row in all_open:
            if row.key not in titles:
                titles[row.key] = finding_texts(row.key, row.title, row.remediation, language).title
            severities[row.key] = max(Severity(row.severity), severities.get(row.key, Severity.INFO))
            agencies_per_key[row.key].add(row.agency)
        counts = Counter(row.key for row in all_open)
        top = [
            TopFinding(key, titles[key], severities[key].label, count, len(agencies_per_key[key]))
            for key, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
        ]
        return StateReport(
            week=week,
            language=language,
            generated_at=self.store.clock.now(),
            agencies=tuple(sorted(lines, key=lambda line: (line.score, line.agency))),
            overdue_critical=tuple(
                line
                for line in sorted(lines, key=lambda line: (-line.overdue_critical, line.agency))
                if line.overdue_critical
            ),
            kev=tuple(
                KevExposure(key, titles[key], len(kev_agencies[key]), len(assets))
                for key, assets in sorted(kev_assets.items(), key=lambda item: (-len(item[1]), item[0]))
            ),
            top_findings=tuple(top),
            open_by_severity=_by_severity(row.severity for row in all_open),
        )


def _by_severity(severities: Iterable[int]) -> dict[str, int]:
    counts = Counter(Severity(severity).label for severity in severities)
    return {label: counts.get(label, 0) for label in SEVERITY_LABELS}


def _trend(histories: Sequence[_History], week: IsoWeek) -> list[TrendPoint]:
    points = []
    for back in range(TREND_WEEKS - 1, -1, -1):
        point = week.previous(back) if back else week
        at = point.end
        points.append(TrendPoint(point, _by_severity(h.severity_at(at) for h in histories if h.open_at(at))))
    return points


def _ended_unreachable(runs: FailedRuns) -> bool:
    """The asset's last run of the week could not reach it."""
    if runs.last_failed_at is None:
        return False
    return runs.last_succeeded_at is None or runs.last_failed_at > runs.last_succeeded_at
