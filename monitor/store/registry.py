"""Agencies, their scope, their endpoints and API tokens; every write leaves an audit row."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.cadence import Cadence
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import Conflict, InvalidInput, NotFound
from monitor.models import DEFAULT_LANGUAGE, DOMAIN_PORT, AssetKind, Language, asset_kind, asset_name, parse_language
from monitor.scope import ScopeEntry, validate_agency_slug
from monitor.store.audit import Actor, agency_id_of, write_audit
from monitor.store.columns import one_of
from monitor.store.tables import (
    AGENCY,
    CHECK_STATE,
    ENDPOINT,
    SCOPE,
)

ROLES = ("admin", "analyst", "agency", "metrics")  # metrics: only /metrics (Prometheus)


@dataclass(frozen=True, slots=True)
class AgencyRecord:
    id: int
    slug: str
    name: str
    endpoints: int = 0
    check_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    alert_language: Language = DEFAULT_LANGUAGE


SettingsChange = Callable[[Mapping[str, Mapping[str, Any]]], dict[str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class EndpointRecord:
    id: int
    agency: str
    host: str
    port: int
    checks: tuple[str, ...]
    intervals: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    expected_ports: tuple[int, ...] = ()
    check_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def kind(self) -> AssetKind:
        return asset_kind(self.port)

    @property
    def name(self) -> str:
        return asset_name(self.host, self.port)


def of_kind(kind: AssetKind) -> Any:
    """The rows of one kind of asset: endpoints and domains share the table, and a domain has no port."""
    return ENDPOINT.c.port == DOMAIN_PORT if kind == "domain" else ENDPOINT.c.port != DOMAIN_PORT


def audited_asset(host: str, port: int) -> dict[str, Any]:
    """What an audit row records of an asset: its host and port, a domain its name."""
    return {"name": host} if port == DOMAIN_PORT else {"host": host, "port": port}


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def schedule_checks(
    conn: AsyncConnection,
    endpoint_id: int,
    checks: Sequence[str],
    cadence: Cadence,
    now: datetime,
) -> None:
    """Give newly enabled checks of an endpoint their first due time: now, or behind the first runs already
    waiting, at `cadence.first_runs_per_s` (the queue is read from the store, so the CLI, the API and several
    replicas admit through one queue)."""
    queued_until = (
        await conn.execute(
            select(func.max(CHECK_STATE.c.next_due)).where(
                CHECK_STATE.c.last_run_at.is_(None), CHECK_STATE.c.next_due > now - cadence.first_run_step
            )
        )
    ).scalar()
    dues = cadence.first_dues(now, queued_until, len(checks))
    await conn.execute(
        insert(CHECK_STATE),
        [
            {"endpoint_id": endpoint_id, "check": check, "next_due": due, "consecutive_failures": 0}
            for check, due in zip(checks, dues, strict=True)
        ],
    )


class Registry:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def add_agency(self, slug: str, name: str, actor: Actor) -> AgencyRecord:
        validate_agency_slug(slug)
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("name", "must be 1-200 characters")
        try:
            async with self.engine.begin() as conn:
                row = await conn.execute(
                    insert(AGENCY)
                    .values(slug=slug, name=name, created_at=self.clock.now(), check_settings={})
                    .returning(AGENCY.c.id)
                )
                agency_id = row.scalar_one()
                await write_audit(conn, self.clock.now(), actor, "agency.add", slug, {"name": name})
        except IntegrityError:
            raise Conflict("slug", f"agency {slug!r} exists already") from None
        return AgencyRecord(agency_id, slug, name)

    async def list_agencies(self) -> list[AgencyRecord]:
        count = func.count(ENDPOINT.c.id)
        query = (
            select(AGENCY.c.id, AGENCY.c.slug, AGENCY.c.name, count)
            .select_from(AGENCY.outerjoin(ENDPOINT, ENDPOINT.c.agency_id == AGENCY.c.id))
            .group_by(AGENCY.c.id, AGENCY.c.slug, AGENCY.c.name)
            .order_by(AGENCY.c.slug)
        )
        async with self.engine.connect() as conn:
            return [AgencyRecord(*row) for row in await conn.execute(query)]

    async def agency(self, slug: str) -> AgencyRecord:
        async with self.engine.connect() as conn:
            return await self._agency_record(conn, slug)

    async def _agency_record(self, conn: AsyncConnection, slug: str) -> AgencyRecord:
        row = (
            await conn.execute(
                select(AGENCY.c.id, AGENCY.c.name, AGENCY.c.check_settings, AGENCY.c.alert_language).where(
                    AGENCY.c.slug == slug
                )
            )
        ).first()
        if row is None:
            raise NotFound("agency", f"no agency {slug!r} (see `posture agency list`)")
        count = (await conn.execute(select(func.count()).where(ENDPOINT.c.agency_id == row.id))).scalar_one()
        return AgencyRecord(row.id, slug, row.name, count, row.check_settings or {}, parse_language(row.alert_language))

    async def change_agency(
        self,
        slug: str,
        actor: Actor,
        check_settings: SettingsChange | None = None,
        alert_language: Language | None = None,
    ) -> AgencyRecord:
        """Change an agency's settings in one transaction: its check settings become `check_settings(current)`
        (which validates: raising InvalidInput leaves everything as it was), its alerts' language becomes
        `alert_language`; None keeps either. Each change is audited with its value before and after."""
        async with self.engine.begin() as conn:
            current = await self._agency_record(conn, slug)
            values: dict[str, Any] = {}
            if check_settings is not None:
                values["check_settings"] = after = check_settings(current.check_settings)
                detail = {"before": dict(current.check_settings), "after": after}
                await write_audit(conn, self.clock.now(), actor, "agency.settings", slug, detail)
            if alert_language is not None:
                values["alert_language"] = alert_language
                detail = {"before": current.alert_language, "after": alert_language}
                await write_audit(conn, self.clock.now(), actor, "agency.alert_language", slug, detail)
            if values:
                await conn.execute(update(AGENCY).where(AGENCY.c.id == current.id).values(**values))
        return dataclasses.replace(current, **values)

    async def add_scope(self, slug: str, raw: str, actor: Actor) -> ScopeEntry:
        entry = ScopeEntry.parse(raw)
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, slug)
                await conn.execute(
                    insert(SCOPE).values(
                        agency_id=agency_id, kind=entry.kind, value=entry.value, created_at=self.clock.now()
                    )
                )
                await write_audit(
                    conn, self.clock.now(), actor, "scope.add", slug, {"kind": entry.kind, "value": entry.value}
                )
        except IntegrityError:
            raise Conflict("scope", f"{entry.value} is already in the scope of {slug!r}") from None
        return entry

    async def list_scopes(self, slug: str | None = None) -> list[tuple[str, ScopeEntry]]:
        query = select(AGENCY.c.slug, SCOPE.c.kind, SCOPE.c.value).join(AGENCY, AGENCY.c.id == SCOPE.c.agency_id)
        if slug is not None:
            query = query.where(AGENCY.c.slug == slug)
        async with self.engine.connect() as conn:
            if slug is not None:
                await agency_id_of(conn, slug)
            rows = await conn.execute(query.order_by(AGENCY.c.slug, SCOPE.c.value))
            return [(row.slug, ScopeEntry(row.kind, row.value)) for row in rows]

    async def scopes_by_agency(self, conn: AsyncConnection, agency_ids: Sequence[int]) -> dict[int, list[ScopeEntry]]:
        rows = await conn.execute(
            select(SCOPE.c.agency_id, SCOPE.c.kind, SCOPE.c.value).where(
                one_of(conn.dialect, SCOPE.c.agency_id, agency_ids)
            )
        )
        scopes: dict[int, list[ScopeEntry]] = {agency_id: [] for agency_id in agency_ids}
        for row in rows:
            scopes[row.agency_id].append(ScopeEntry(row.kind, row.value))
        return scopes

    async def add_endpoint(
        self,
        slug: str,
        host: str,
        port: int,
        checks: Sequence[str],
        cadence: Cadence,
        actor: Actor,
        intervals: Mapping[str, float] | None = None,
        labels: Mapping[str, str] | None = None,
        expected_ports: Sequence[int] = (),
        check_settings: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> EndpointRecord:
        """Register an endpoint, or a domain (port DOMAIN_PORT); host, checks and scope were checked by registration
        (monitor/usecases)."""
        if not checks:
            raise InvalidInput("checks", "at least one check is needed")
        now = self.clock.now()
        interval_map = dict(intervals or {})
        label_map = dict(labels or {})
        settings_map = {name: dict(values) for name, values in (check_settings or {}).items()}
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, slug)
                values = {
                    "agency_id": agency_id,
                    "host": host,
                    "port": port,
                    "checks": list(checks),
                    "intervals": interval_map,
                    "labels": label_map,
                    "expected_ports": sorted(set(expected_ports)),
                    "check_settings": settings_map,
                    "created_at": now,
                }
                endpoint_id = (
                    await conn.execute(insert(ENDPOINT).values(values).returning(ENDPOINT.c.id))
                ).scalar_one()
                await schedule_checks(conn, endpoint_id, checks, cadence, now)
                await write_audit(
                    conn, self.clock.now(), actor, f"{asset_kind(port)}.add", f"{slug}/{endpoint_id}",
                    audited_asset(host, port),
                )  # fmt: skip
        except IntegrityError:
            raise Conflict(asset_kind(port), f"{asset_name(host, port)} is already registered for {slug!r}") from None
        return EndpointRecord(
            endpoint_id,
            slug,
            host,
            port,
            tuple(checks),
            interval_map,
            label_map,
            tuple(expected_ports),
            settings_map,
        )

    async def list_endpoints(self, slug: str | None = None, kind: AssetKind = "endpoint") -> list[EndpointRecord]:
        query = select(ENDPOINT, AGENCY.c.slug).join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id).where(of_kind(kind))
        if slug is not None:
            query = query.where(AGENCY.c.slug == slug)
        async with self.engine.connect() as conn:
            if slug is not None:
                await agency_id_of(conn, slug)
            rows = await conn.execute(query.order_by(AGENCY.c.slug, ENDPOINT.c.id))
            return [
                EndpointRecord(
                    row.id,
                    row.slug,
                    row.host,
                    row.port,
                    tuple(row.checks),
                    row.intervals,
                    row.labels,
                    tuple(row.expected_ports),
                    row.check_settings,
                )
                for row in rows
            ]
