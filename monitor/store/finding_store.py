"""Findings and their outbox rows, inside the caller's transaction: load states, save states, queue alert rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import and_, bindparam, false, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.findings import FindingState
from monitor.models import DEFAULT_LANGUAGE, AssetKind, Language, Severity, asset_kind, asset_name, parse_language
from monitor.store.columns import one_of
from monitor.store.tables import AGENCY, ENDPOINT, FINDING, OUTBOX

StoredFindings = dict[str, tuple[int, FindingState]]  # by key: (row id, state)


def jsonable(value: Any) -> Any:
    return to_jsonable_python(value, fallback=str)


@dataclass(frozen=True, slots=True)
class AlertTarget:
    """Where an event belongs: its agency, endpoint, and the agency's routing."""

    agency: str
    endpoint_id: int
    host: str
    port: int
    min_severity: Severity | None  # the agency's own routing; None: the global default
    language: Language = DEFAULT_LANGUAGE  # of the agency's alerts

    @property
    def kind(self) -> AssetKind:
        return asset_kind(self.port)

    @property
    def endpoint(self) -> str:
        """The asset as shown to people: host:port ([v6]:port for IPv6), or a domain's name."""
        return asset_name(self.host, self.port)


def _state(row: Any) -> FindingState:
    return FindingState(
        key=row.key,
        check=row.check,
        severity=Severity(row.severity),
        title=row.title,
        is_open=row.state == "open",
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        detail=row.detail,
        remediation=row.remediation,
        kev=row.kev,
        resolved_at=row.resolved_at,
        accepted_until=row.accepted_until,
        due_at=row.due_at,
        last_notified_at=row.last_notified_at,
        overdue_notified=row.overdue_notified,
        transitions=tuple(datetime.fromisoformat(t) for t in row.transitions or ()),
        flapping=row.flapping,
        resolution=row.resolution,
    )


def _columns(state: FindingState) -> dict[str, Any]:
    return {
        "check": state.check,
        "key": state.key,
        "severity": int(state.severity),
        "title": state.title,
        "detail": jsonable(state.detail),
        "remediation": state.remediation,
        "state": "open" if state.is_open else "resolved",
        "kev": state.kev,
        "first_seen": state.first_seen,
        "last_seen": state.last_seen,
        "resolved_at": state.resolved_at,
        "accepted_until": state.accepted_until,
        "due_at": state.due_at,
        "last_notified_at": state.last_notified_at,
        "overdue_notified": state.overdue_notified,
        "transitions": [t.isoformat() for t in state.transitions],
        "flapping": state.flapping,
        "resolution": None if state.is_open else state.resolution,
    }


async def load(conn: AsyncConnection, endpoint_ids: Sequence[int]) -> dict[int, StoredFindings]:
    """Every finding of these endpoints, by endpoint and key (a finding's identity is endpoint and key)."""
    rows = await conn.execute(select(FINDING).where(one_of(conn.dialect, FINDING.c.endpoint_id, endpoint_ids)))
    found: dict[int, StoredFindings] = {}
    for row in rows:
        found.setdefault(row.endpoint_id, {})[row.key] = (row.id, _state(row))
    return found


async def save(conn: AsyncConnection, changes: Sequence[tuple[int, FindingState, int | None]]) -> list[int]:
    """Write (endpoint id, state, row id or None for a new finding) in two statements, whatever their number (a
    round trip per finding made recording a batch of first scans slow); returns the row ids in the same order."""
    updates = [{"finding_id": row_id, **_columns(state)} for _, state, row_id in changes if row_id is not None]
    inserts = [
        {"endpoint_id": endpoint_id, **_columns(state)} for endpoint_id, state, row_id in changes if row_id is None
    ]
    if updates:
        await conn.execute(update(FINDING).where(FINDING.c.id == bindparam("finding_id")), updates)
    new_ids: Iterator[int] = iter(())
    if inserts:
        inserted = await conn.execute(insert(FINDING).returning(FINDING.c.id, sort_by_parameter_order=True), inserts)
        new_ids = iter(list(inserted.scalars()))
    return [row_id if row_id is not None else next(new_ids) for _, _, row_id in changes]


async def sweep_candidates(
    conn: AsyncConnection, now: datetime, reminders: Mapping[Severity, timedelta]
) -> list[tuple[int, FindingState, AlertTarget, int]]:
    """Findings that the passage of time may change: (finding id, state, alert target, endpoint id)."""
    noticed = func.coalesce(FINDING.c.last_notified_at, FINDING.c.first_seen)
    reminder_due = [
        and_(FINDING.c.severity == int(severity), noticed <= now - every) for severity, every in reminders.items()
    ]
    due = or_(
        FINDING.c.accepted_until <= now,
        FINDING.c.flapping.is_(True),
        and_(FINDING.c.state == "open", FINDING.c.due_at <= now, FINDING.c.overdue_notified.is_(False)),
        and_(FINDING.c.state == "open", or_(*reminder_due) if reminder_due else false()),
    )
    query = (
        select(FINDING, ENDPOINT.c.host, ENDPOINT.c.port, *ALERT_COLUMNS)
        .join(ENDPOINT, ENDPOINT.c.id == FINDING.c.endpoint_id)
        .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
        .where(due)
        .order_by(FINDING.c.id)
        .limit(5000)
    )
    return [
        (
            row.id,
            _state(row),
            alert_target(row, row.endpoint_id),
            row.endpoint_id,
        )
        for row in await conn.execute(query)
    ]


# what routing and wording of an agency's alerts need, next to an endpoint's host and port
ALERT_COLUMNS = (AGENCY.c.slug, AGENCY.c.min_alert_severity, AGENCY.c.alert_language)


def alert_target(row: Any, endpoint_id: int) -> AlertTarget:
    """From a row with the endpoint's host and port and the ALERT_COLUMNS."""
    return AlertTarget(
        row.slug,
        endpoint_id,
        row.host,
        row.port,
        severity_or_none(row.min_alert_severity),
        parse_language(row.alert_language),
    )


def severity_or_none(stored: int | None) -> Severity | None:
    return None if stored is None else Severity(stored)


async def write_outbox(conn: AsyncConnection, rows: Iterable[dict[str, Any] | None]) -> int:
    kept = [row for row in rows if row is not None]
    if kept:
        await conn.execute(insert(OUTBOX), kept)
    return len(kept)
