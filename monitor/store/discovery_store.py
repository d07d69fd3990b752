"""Discovery's tables: each agency's candidates (the inbox), when each source ran, the CT logs' cursors. SQL only:
what is a candidate, and what may be registered, is the discovery use case's rule."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import NotFound
from monitor.models import Severity
from monitor.store.audit import Actor, agency_id_of, write_audit
from monitor.store.finding_store import write_outbox
from monitor.store.tables import AGENCY, CT_LOG_CURSOR, DISCOVERY_CANDIDATE, DISCOVERY_RUN, ENDPOINT, LATEST

CANDIDATE_STATES = ("candidate", "registered", "dismissed")
MAX_EVIDENCE_CHARS = 2000  # per source: a CT entry or a zone transfer can say a lot; the inbox needs the gist


@dataclass(frozen=True, slots=True)
class CandidateView:
    id: int
    agency: str
    host: str
    port: int | None  # None: a name or address without a known service
    sources: tuple[str, ...]
    evidence: Mapping[str, Any]
    exposure: Severity
    state: str  # candidate | registered | dismissed
    first_seen: datetime
    last_seen: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    asset_id: int | None = None

    @property
    def display(self) -> str:
        if self.port is None:
            return self.host
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Seen:
    """One admitted sighting, merged per (host, port) by the use case: what the store records."""

    host: str
    port: int | None
    sources: tuple[str, ...]
    evidence: Mapping[str, Any]  # by source
    exposure: Severity


@dataclass(frozen=True, slots=True)
class SourceRun:
    agency_id: int
    agency: str
    source: str
    next_due: datetime


# builds the outbox rows for candidates seen for the first time (the use case's alert rule), given the agency's
# minimum alert severity (None: the global one) and its alert language
AlertRows = Callable[[Sequence[CandidateView], Severity | None, str], Sequence[dict[str, Any] | None]]


class DiscoveryStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    # --- candidates ---------------------------------------------------------------------------------------------

    async def record(self, agency: str, seen: Sequence[Seen], alert_rows: AlertRows) -> list[CandidateView]:
        """Insert the new candidates and refresh the known ones (last seen, sources, evidence), with the outbox
        rows of the new ones, in one transaction. A dismissed or registered candidate keeps its state. Returns the
        candidates seen for the first time."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            agency_row = (
                await conn.execute(
                    select(AGENCY.c.id, AGENCY.c.min_alert_severity, AGENCY.c.alert_language).where(
                        AGENCY.c.slug == agency
                    )
                )
            ).first()
            if agency_row is None:
                raise NotFound("agency", f"no agency {agency!r} (see `posture agency list`)")
            agency_id = agency_row.id
            known = {
                (row.host, row.port): row
                for row in await conn.execute(
                    select(DISCOVERY_CANDIDATE).where(DISCOVERY_CANDIDATE.c.agency_id == agency_id)
                )
            }
            new_rows, fresh = [], []
            for item in seen:
                port = item.port or 0
                row = known.get((item.host, port))
                if row is None:
                    new_rows.append(
                        {
                            "agency_id": agency_id, "host": item.host, "port": port, "sources": sorted(item.sources),
                            "evidence": _capped(item.evidence), "exposure": int(item.exposure), "state": "candidate",
                            "first_seen": now, "last_seen": now,
                        }
                    )  # fmt: skip
                    continue
                await conn.execute(
                    update(DISCOVERY_CANDIDATE)
                    .where(DISCOVERY_CANDIDATE.c.id == row.id)
                    .values(
                        last_seen=now,
                        sources=sorted({*row.sources, *item.sources}),
                        evidence=_capped({**row.evidence, **item.evidence}),
                        exposure=max(row.exposure, int(item.exposure)),
                    )
                )
            if new_rows:
                ids = (
                    await conn.execute(insert(DISCOVERY_CANDIDATE).returning(DISCOVERY_CANDIDATE.c.id), new_rows)
                ).scalars()
                fresh = [_view({**row, "id": id_}, agency) for row, id_ in zip(new_rows, ids, strict=True)]
                minimum = None if agency_row.min_alert_severity is None else Severity(agency_row.min_alert_severity)
                await write_outbox(conn, alert_rows(fresh, minimum, agency_row.alert_language))
        return fresh

    async def candidates(
        self, agency_id: int | None, state: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[CandidateView]:
        """Candidates of one agency (None: all), newest first."""
        query = _select()
        if agency_id is not None:
            query = query.where(DISCOVERY_CANDIDATE.c.agency_id == agency_id)
        if state is not None:
            query = query.where(DISCOVERY_CANDIDATE.c.state == state)
        query = query.order_by(DISCOVERY_CANDIDATE.c.first_seen.desc(), DISCOVERY_CANDIDATE.c.id.desc())
        async with self.engine.connect() as conn:
            rows = await conn.execute(query.limit(limit).offset(offset))
            return [_view(dict(row._mapping), row.slug) for row in rows]

    async def get(self, candidate_id: int, agency_id: int | None) -> CandidateView:
        """One candidate; NotFound also when it belongs to another agency than `agency_id` (None: any)."""
        query = _select().where(DISCOVERY_CANDIDATE.c.id == candidate_id)
        if agency_id is not None:
            query = query.where(DISCOVERY_CANDIDATE.c.agency_id == agency_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound("id", f"no discovered asset {candidate_id}")
        return _view(dict(row._mapping), row.slug)

    async def decide(
        self, candidate: CandidateView, state: str, actor: Actor, reason: str | None = None, asset_id: int | None = None
    ) -> CandidateView:
        """Mark a candidate registered (as the asset `asset_id`) or dismissed (with a reason), audited."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            await conn.execute(
                update(DISCOVERY_CANDIDATE)
                .where(DISCOVERY_CANDIDATE.c.id == candidate.id)
                .values(state=state, decided_at=now, decided_by=actor.name, reason=reason, asset_id=asset_id)
            )
            await write_audit(
                conn, now, actor, f"discovery.{state}", f"{candidate.agency}/{candidate.display}",
                {"candidate": candidate.id, "reason": reason, "asset_id": asset_id},
            )  # fmt: skip
        return await self.get(candidate.id, None)

    async def counts(self) -> list[tuple[str, str, int]]:
        """(agency slug, state, candidates) for every agency with candidates: the metrics' numbers."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(AGENCY.c.slug, DISCOVERY_CANDIDATE.c.state, func.count())
                .join(AGENCY, AGENCY.c.id == DISCOVERY_CANDIDATE.c.agency_id)
                .group_by(AGENCY.c.slug, DISCOVERY_CANDIDATE.c.state)
            )
            return [(row[0], row[1], int(row[2])) for row in rows]

    async def registered(self, agency: str) -> set[tuple[str, int]]:
        """The agency's registered assets as (host, port); a domain has port 0."""
        async with self.engine.connect() as conn:
            agency_id = await agency_id_of(conn, agency)
            rows = await conn.execute(select(ENDPOINT.c.host, ENDPOINT.c.port).where(ENDPOINT.c.agency_id == agency_id))
            return {(row.host, row.port) for row in rows}

    async def latest_details(self, agency: str, checks: Sequence[str]) -> list[tuple[str, int, str, Any]]:
        """(host, port, check, details as stored) of the agency's assets' latest good runs of `checks`."""
        if not checks:
            return []
        async with self.engine.connect() as conn:
            agency_id = await agency_id_of(conn, agency)
            rows = await conn.execute(
                select(ENDPOINT.c.host, ENDPOINT.c.port, LATEST.c.check, LATEST.c.details)
                .join(LATEST, LATEST.c.endpoint_id == ENDPOINT.c.id)
                .where(ENDPOINT.c.agency_id == agency_id, LATEST.c.check.in_(checks), LATEST.c.details.is_not(None))
            )
            return [(row.host, row.port, row.check, row.details) for row in rows if row.details is not None]

    # --- the agency's switch ------------------------------------------------------------------------------------

    async def auto_register(self, agency: str) -> bool:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(AGENCY.c.discovery_auto_register).where(AGENCY.c.slug == agency))
            ).scalar()
        if value is None:
            raise NotFound("agency", f"no agency {agency!r} (see `posture agency list`)")
        return bool(value)

    async def set_auto_register(self, agency: str, enabled: bool, actor: Actor) -> None:
        now = self.clock.now()
        async with self.engine.begin() as conn:
            agency_id = await agency_id_of(conn, agency)
            await conn.execute(update(AGENCY).where(AGENCY.c.id == agency_id).values(discovery_auto_register=enabled))
            await write_audit(conn, now, actor, "agency.discovery", agency, {"auto_register": enabled})

    # --- when the sources run -----------------------------------------------------------------------------------

    async def due(self, sources: Sequence[str], now: datetime, spread: Mapping[str, float]) -> list[SourceRun]:
        """(agency, source) pairs due now. A pair that never ran gets its row here, due at once, or for a source
        in `spread` at a point within that many seconds that differs by agency (a new deployment's sweeps are
        spread over the week instead of all starting together)."""
        async with self.engine.begin() as conn:
            agencies = (await conn.execute(select(AGENCY.c.id, AGENCY.c.slug))).all()
            runs = {
                (row.agency_id, row.source): row.next_due
                for row in await conn.execute(
                    select(DISCOVERY_RUN.c.agency_id, DISCOVERY_RUN.c.source, DISCOVERY_RUN.c.next_due)
                )
            }
            missing = [
                {"agency_id": agency.id, "source": source, "last_found": 0,
                 "next_due": _first_due(now, agency.id, spread.get(source, 0.0))}
                for agency in agencies
                for source in sources
                if (agency.id, source) not in runs
            ]  # fmt: skip
            runs.update({(row["agency_id"], row["source"]): row["next_due"] for row in missing})
            if missing:
                await conn.execute(insert(DISCOVERY_RUN), missing)
        return [
            SourceRun(agency.id, agency.slug, source, due)
            for agency in agencies
            for source in sources
            if (due := runs[(agency.id, source)]) <= now
        ]

    async def ran(
        self, agency: str, source: str, next_due: datetime, status: str, error: str | None, found: int
    ) -> None:
        async with self.engine.begin() as conn:
            agency_id = await agency_id_of(conn, agency)
            values = {
                "next_due": next_due, "last_run_at": self.clock.now(), "last_status": status,
                "last_error": None if error is None else error[:400], "last_found": found,
            }  # fmt: skip
            changed = await conn.execute(
                update(DISCOVERY_RUN)
                .where(DISCOVERY_RUN.c.agency_id == agency_id, DISCOVERY_RUN.c.source == source)
                .values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(insert(DISCOVERY_RUN).values(agency_id=agency_id, source=source, **values))

    async def runs(self, agency: str) -> list[dict[str, Any]]:
        """Each source's last run for the agency (the inbox page shows them)."""
        async with self.engine.connect() as conn:
            agency_id = await agency_id_of(conn, agency)
            rows = await conn.execute(
                select(DISCOVERY_RUN).where(DISCOVERY_RUN.c.agency_id == agency_id).order_by(DISCOVERY_RUN.c.source)
            )
            return [dict(row._mapping) for row in rows]

    # --- Certificate Transparency -------------------------------------------------------------------------------

    async def ct_cursor(self, log_url: str) -> Mapping[str, Any] | None:
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(select(CT_LOG_CURSOR.c.cursor).where(CT_LOG_CURSOR.c.log_url == log_url))
            ).scalar()
        return None if value is None else dict(value)

    async def save_ct_cursor(self, log_url: str, cursor: Mapping[str, Any] | None, error: str | None) -> None:
        """Keep how far the log was read (None: unchanged, only the error is noted)."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            values: dict[str, Any] = {"updated_at": now, "last_error": None if error is None else error[:400]}
            if cursor is not None:
                values["cursor"] = dict(cursor)
            changed = await conn.execute(
                update(CT_LOG_CURSOR).where(CT_LOG_CURSOR.c.log_url == log_url).values(**values)
            )
            if changed.rowcount == 0 and cursor is not None:
                await conn.execute(insert(CT_LOG_CURSOR).values(log_url=log_url, **values))


def _first_due(now: datetime, agency_id: int, spread_s: float) -> datetime:
    """A point in [now, now + spread_s) that is the same for an agency on every replica (golden-ratio steps)."""
    share = (agency_id * 0.6180339887498949) % 1.0
    return now + timedelta(seconds=spread_s * share)


def _select() -> Any:
    return select(DISCOVERY_CANDIDATE, AGENCY.c.slug).join(AGENCY, AGENCY.c.id == DISCOVERY_CANDIDATE.c.agency_id)


def _view(row: Mapping[str, Any], agency: str) -> CandidateView:
    return CandidateView(
        id=row["id"],
        agency=agency,
        host=row["host"],
        port=row["port"] or None,
        sources=tuple(row["sources"]),
        evidence=row["evidence"],
        exposure=Severity(row["exposure"]),
        state=row["state"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        decided_at=row.get("decided_at"),
        decided_by=row.get("decided_by"),
        reason=row.get("reason"),
        asset_id=row.get("asset_id"),
    )


def _capped(evidence: Mapping[str, Any]) -> dict[str, Any]:
    """Each source's evidence, cut to an excerpt when its JSON would be too long."""
    kept: dict[str, Any] = {}
    for source, value in evidence.items():
        text = json.dumps(value, default=str)
        if len(text) <= MAX_EVIDENCE_CHARS:
            kept[source] = json.loads(text)
        else:
            kept[source] = {"truncated": True, "excerpt": text[:MAX_EVIDENCE_CHARS]}
    return kept
