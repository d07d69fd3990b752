"""Endpoints as the API sees them: agency-scoped reads and edits, posture summary, re-scan requests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cadence import Cadence
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import NotFound, RateLimited
from monitor.findings import UNREACHABLE_AFTER
from monitor.models import AssetKind, CheckHealth, CheckStatus, EndpointStatus
from monitor.store.audit import Actor, write_audit
from monitor.store.reads import reader
from monitor.store.registry import Registry, audited_asset, of_kind, schedule_checks
from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, FINDING, LATEST


@dataclass(frozen=True, slots=True)
class CheckView:
    """One check's last scan run on the endpoint's page."""

    name: str
    status: CheckHealth
    consecutive_failures: int  # target failures in a row (unreachable, timed out): `unreachable_after` of them alert
    last_run_at: datetime | None
    next_due: datetime
    reason: str | None = None  # why the last run failed, or what it could not test: short English text
    untested: tuple[str, ...] = ()  # incomplete: the finding keys (or `prefix.*` families) it could not test


@dataclass(frozen=True, slots=True)
class EndpointView:
    id: int
    agency: str
    host: str
    port: int
    checks: tuple[str, ...]
    created_at: datetime
    intervals: Mapping[str, float] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    expected_ports: tuple[int, ...] = ()
    open_findings: int = 0
    worst_severity: int | None = None
    last_scan_at: datetime | None = None
    status: EndpointStatus = EndpointStatus.PENDING
    checks_status: tuple[CheckView, ...] = ()  # loaded by `get` only, in the order of `checks`


# The posture summary as correlated subqueries: index look-ups per row of the page, one round trip in all.
# They filter on endpoint_id alone and test the state inside the aggregate, so that the planner uses the
# (endpoint_id, key) index rather than the one on state, which would scan every open finding.
_OF_ENDPOINT = FINDING.c.endpoint_id == ENDPOINT.c.id
_IS_OPEN = FINDING.c.state == "open"
_STATUSES = tuple(EndpointStatus)  # rising: the rank of a status is its index
_RANK = {status: rank for rank, status in enumerate(_STATUSES)}
# The endpoint's status: the worst of its checks' last scan runs, each ranked in the first of these that holds
# (one look-up of check_state by its primary key's endpoint_id, as last_scan_at). `unreachable` is exactly the
# alerting rule of monitor/findings.py: a check with `unreachable_after` target failures in a row, counted by
# recording; below that, a failed run makes the endpoint `failing`, as does a misconfigured or crashed one.
_CHECK_RANK = case(
    (CHECK_STATE.c.consecutive_failures >= bindparam("unreachable_after"), _RANK[EndpointStatus.UNREACHABLE]),
    (CHECK_STATE.c.last_status.is_(None), _RANK[EndpointStatus.PENDING]),
    (CHECK_STATE.c.last_status != CheckStatus.OK.value, _RANK[EndpointStatus.FAILING]),
    (CHECK_STATE.c.last_untested.is_not(None), _RANK[EndpointStatus.INCOMPLETE]),
    else_=_RANK[EndpointStatus.OK],
)
_STATUS_RANK = func.coalesce(
    select(func.max(_CHECK_RANK)).where(CHECK_STATE.c.endpoint_id == ENDPOINT.c.id).scalar_subquery(),
    _RANK[EndpointStatus.PENDING],
)
_COLUMNS = (
    ENDPOINT.c.id,
    AGENCY.c.slug,
    ENDPOINT.c.host,
    ENDPOINT.c.port,
    ENDPOINT.c.checks,
    ENDPOINT.c.created_at,
    ENDPOINT.c.intervals,
    ENDPOINT.c.labels,
    ENDPOINT.c.expected_ports,
    func.coalesce(select(func.sum(case((_IS_OPEN, 1), else_=0))).where(_OF_ENDPOINT).scalar_subquery(), 0).label(
        "open_findings"
    ),
    select(func.max(case((_IS_OPEN, FINDING.c.severity))))
    .where(_OF_ENDPOINT)
    .scalar_subquery()
    .label("worst_severity"),
    select(func.max(CHECK_STATE.c.last_run_at))
    .where(CHECK_STATE.c.endpoint_id == ENDPOINT.c.id)
    .scalar_subquery()
    .label("last_scan_at"),
    _STATUS_RANK.label("status"),
)


@dataclass(frozen=True, slots=True)
class EndpointQuery:
    """Which endpoints a page or a count covers. `agency_id` is the caller's filter (None only for admins and
    analysts), `agency` an admin's choice, `host` this name or below it, `label` one (key, value) pair, `status`
    only the endpoints of that status; `kind` endpoints or domains (the same table: a domain has no port)."""

    agency_id: int | None
    agency: str | None = None
    host: str | None = None
    label: tuple[str, str] | None = None
    status: EndpointStatus | None = None
    kind: AssetKind = "endpoint"

    def shape(self) -> tuple[bool, bool, bool, bool, bool]:
        return (
            self.agency_id is not None,
            self.agency is not None,
            self.host is not None,
            self.status is not None,
            self.kind == "domain",
        )

    def narrowed(self, query: Select[Any]) -> Select[Any]:
        """The cached query of this shape, with the label filter added (its key is part of the statement)."""
        if self.label is None:
            return query
        return query.where(ENDPOINT.c.labels[self.label[0]].as_string() == bindparam("label_value"))

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {"agency_id": self.agency_id, "slug": self.agency, "host": self.host}
        if self.host is not None:
            values["suffix"] = "." + _like_literal(self.host)
        if self.label is not None:
            values["label_value"] = self.label[1]
        if self.status is not None:
            values["status_rank"] = _RANK[self.status]
        return values


def _filtered(
    query: Select[Any], by_agency_id: bool, by_slug: bool, by_host: bool, by_status: bool, domains: bool
) -> Select[Any]:
    query = query.where(of_kind("domain" if domains else "endpoint"))
    if by_agency_id:
        query = query.where(ENDPOINT.c.agency_id == bindparam("agency_id"))
    if by_slug:
        query = query.where(AGENCY.c.slug == bindparam("slug"))
    if by_host:
        subdomain = ENDPOINT.c.host.endswith(bindparam("suffix"), escape=LIKE_ESCAPE)
        query = query.where(or_(ENDPOINT.c.host == bindparam("host"), subdomain))
    if by_status:  # the status of each endpoint in id order until a page is found: see docs/api.md for its cost
        query = query.where(bindparam("status_rank") == _STATUS_RANK)
    return query


@cache
def _page_query(shape: tuple[bool, bool, bool, bool, bool]) -> Select[Any]:
    """The page query of one combination of filters, built once: its values are bound parameters, so that
    SQLAlchemy neither builds the statement nor computes its cache key again on every request."""
    query = (
        select(*_COLUMNS)
        .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
        .where(ENDPOINT.c.id > bindparam("after"))
        .order_by(ENDPOINT.c.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    return _filtered(query, *shape)


@cache
def _count_query(shape: tuple[bool, bool, bool, bool, bool]) -> Select[Any]:
    query = select(func.count()).select_from(ENDPOINT.join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id))
    return _filtered(query, *shape)


_CHECKS_STATUS = select(
    CHECK_STATE.c.check,
    CHECK_STATE.c.last_status,
    CHECK_STATE.c.consecutive_failures,
    CHECK_STATE.c.last_run_at,
    CHECK_STATE.c.next_due,
    CHECK_STATE.c.last_error,
    CHECK_STATE.c.last_untested,
).where(CHECK_STATE.c.endpoint_id == bindparam("endpoint_id"))


def _check_view(
    name: str,
    last_status: str | None,
    failures: int,
    last_run_at: datetime | None,
    next_due: datetime,
    error: str | None,
    untested: list[str] | None,
) -> CheckView:
    """A check's row of check_state as its page shows it: an OK run that could not test everything is incomplete."""
    parts = tuple(untested or ())
    if last_status is None:
        health = CheckHealth.PENDING
    elif last_status == CheckStatus.OK.value and parts:
        health = CheckHealth.INCOMPLETE
    else:
        health = CheckHealth(last_status)
    reason = error or (f"not tested: {', '.join(parts)}" if parts else None)
    return CheckView(name, health, failures, last_run_at, next_due, reason, parts)


LIKE_ESCAPE = "/"


def _like_literal(text: str) -> str:
    """`text` matched literally inside LIKE: its wildcards and the escape character escaped."""
    for special in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(special, LIKE_ESCAPE + special)
    return text


def _visible(agency_id: int | None, kind: AssetKind) -> Any:
    """The filter every agency-scoped query of one asset carries: its kind, and the caller's agency (None only for
    admins and analysts). Another agency's asset, or a domain's id asked for as an endpoint, is not found."""
    kind_filter = of_kind(kind)
    return kind_filter if agency_id is None else and_(kind_filter, ENDPOINT.c.agency_id == agency_id)


def _not_found(kind: AssetKind, asset_id: int) -> NotFound:
    return NotFound("id", f"no {kind} with id {asset_id}")


class EndpointStore:
    def __init__(
        self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK, unreachable_after: int = UNREACHABLE_AFTER
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.unreachable_after = unreachable_after  # the daemon's POSTURE_UNREACHABLE_AFTER, for the status
        self.reads = reader(engine)
        self.registry = Registry(engine, clock)

    def _views(self, rows: Sequence[Any]) -> list[EndpointView]:
        # Rows unpacked as tuples, in the order of _COLUMNS: a page is 50-500 rows, and a named attribute look-up
        # on a Row costs several times a tuple unpacking.
        return [
            EndpointView(
                id=id_,
                agency=slug,
                host=host,
                port=port,
                checks=tuple(checks),
                created_at=created_at,
                intervals=intervals,
                labels=labels,
                expected_ports=tuple(expected_ports),
                open_findings=open_findings,
                worst_severity=worst_severity,
                last_scan_at=last_scan_at,
                status=_STATUSES[status],
            )
            for (
                id_, slug, host, port, checks, created_at, intervals, labels, expected_ports, open_findings,
                worst_severity, last_scan_at, status,
            ) in rows
        ]  # fmt: skip

    async def page(
        self,
        agency_id: int | None,
        *,
        after: int = 0,
        limit: int = 100,
        agency: str | None = None,
        host: str | None = None,
        label: tuple[str, str] | None = None,
        status: EndpointStatus | None = None,
        offset: int = 0,
        kind: AssetKind = "endpoint",
    ) -> list[EndpointView]:
        """Endpoints (or domains) with id > `after`, by id, skipping `offset` of them (the UI's page numbers);
        `agency_id` is the caller's filter, `agency` an admin's choice. Without their `checks_status` (see `get`)."""
        which = EndpointQuery(agency_id, agency, host, label, status, kind)
        values = self._values(which) | {"after": after, "limit": limit, "offset": offset}
        return self._views(await self.reads.all(which.narrowed(_page_query(which.shape())), values))

    async def count(self, which: EndpointQuery) -> int:
        row = await self.reads.first(which.narrowed(_count_query(which.shape())), self._values(which))
        return int(row[0]) if row else 0

    def _values(self, which: EndpointQuery) -> dict[str, Any]:
        return which.values() | {"unreachable_after": self.unreachable_after}

    async def get(self, endpoint_id: int, agency_id: int | None, kind: AssetKind = "endpoint") -> EndpointView:
        """One endpoint (or domain), with the last scan run of each of its checks."""
        query = (
            select(*_COLUMNS)
            .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
            .where(ENDPOINT.c.id == endpoint_id, _visible(agency_id, kind))
        )
        rows = await self.reads.all(query, {"unreachable_after": self.unreachable_after})
        if not rows:
            raise _not_found(kind, endpoint_id)
        view = self._views(rows)[0]
        states: Sequence[Any] = await self.reads.all(_CHECKS_STATUS, {"endpoint_id": endpoint_id})
        order = {name: n for n, name in enumerate(view.checks)}
        checks = sorted(
            (_check_view(name, status, failures, run_at, due, error, untested)
             for name, status, failures, run_at, due, error, untested in states),
            key=lambda check: (order.get(check.name, len(order)), check.name),
        )  # fmt: skip
        return dataclasses.replace(view, checks_status=tuple(checks))

    async def latest_details(self, endpoint_id: int, checks: Sequence[str]) -> dict[str, Any]:
        """The latest stored details of `checks` on the endpoint, by check name, as stored (JSON); a check without
        a good run yet is left out. The caller has checked that the reader may see the endpoint (`get`)."""
        if not checks:
            return {}
        query = select(LATEST.c.check, LATEST.c.details).where(
            LATEST.c.endpoint_id == endpoint_id, LATEST.c.check.in_(checks), LATEST.c.details.is_not(None)
        )
        rows: Sequence[Any] = await self.reads.all(query)
        # a first run that failed stored JSON null, which is not SQL NULL
        return {check: details for check, details in rows if details is not None}

    async def update(
        self,
        endpoint_id: int,
        agency_id: int | None,
        actor: Actor,
        cadence: Cadence,
        *,
        checks: Sequence[str] | None = None,
        intervals: Mapping[str, float] | None = None,
        labels: Mapping[str, str] | None = None,
        expected_ports: Sequence[int] | None = None,
        kind: AssetKind = "endpoint",
    ) -> EndpointView:
        """Change what is checked and how; `host` and `port` are the asset's identity and stay."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(ENDPOINT.c.id, ENDPOINT.c.checks, ENDPOINT.c.intervals, AGENCY.c.slug)
                    .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                    .where(ENDPOINT.c.id == endpoint_id, _visible(agency_id, kind))
                )
            ).first()
            if row is None:
                raise _not_found(kind, endpoint_id)
            values: dict[str, Any] = {}
            if checks is not None:
                values["checks"] = list(checks)
            if intervals is not None:
                values["intervals"] = dict(intervals)
            if labels is not None:
                values["labels"] = dict(labels)
            if expected_ports is not None:
                values["expected_ports"] = sorted(set(expected_ports))
            if values:
                await conn.execute(update(ENDPOINT).where(ENDPOINT.c.id == endpoint_id).values(values))
            if checks is not None:
                added = [check for check in checks if check not in row.checks]
                removed = [check for check in row.checks if check not in checks]
                if removed:
                    await conn.execute(
                        delete(CHECK_STATE).where(
                            CHECK_STATE.c.endpoint_id == endpoint_id, CHECK_STATE.c.check.in_(removed)
                        )
                    )
                if added:
                    await schedule_checks(conn, endpoint_id, added, cadence, now)
            detail = {name: value for name, value in values.items() if name != "intervals"}
            if intervals is not None:
                detail["intervals"] = dict(intervals)
            target = f"{row.slug}/{endpoint_id}"
            await write_audit(conn, self.clock.now(), actor, f"{kind}.update", target, detail)
        return await self.get(endpoint_id, agency_id, kind)

    async def remove(self, endpoint_id: int, agency_id: int | None, actor: Actor, kind: AssetKind = "endpoint") -> None:
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(ENDPOINT.c.host, ENDPOINT.c.port, AGENCY.c.slug)
                    .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                    .where(ENDPOINT.c.id == endpoint_id, _visible(agency_id, kind))
                )
            ).first()
            if row is None:
                raise _not_found(kind, endpoint_id)
            await conn.execute(delete(ENDPOINT).where(ENDPOINT.c.id == endpoint_id))
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                f"{kind}.remove",
                f"{row.slug}/{endpoint_id}",
                audited_asset(row.host, row.port),
            )

    async def request_rescan(
        self,
        endpoint_id: int,
        agency_id: int | None,
        min_interval: timedelta,
        actor: Actor,
        kind: AssetKind = "endpoint",
    ) -> tuple[datetime, list[str]]:
        """Make every check of the endpoint due now, at most once per `min_interval` (shared by replicas).

        Returns (requested at, checks made due). Checks running right now (leased) are left alone: their
        result is about to arrive anyway.
        """
        now = self.clock.now()
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    select(ENDPOINT.c.id, ENDPOINT.c.rescan_requested_at, AGENCY.c.slug)
                    .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
                    .where(ENDPOINT.c.id == endpoint_id, _visible(agency_id, kind))
                )
            ).first()
            if row is None:
                raise _not_found(kind, endpoint_id)
            # One conditional UPDATE: two requests racing (or two replicas) cannot both pass.
            granted = await conn.execute(
                update(ENDPOINT)
                .where(
                    ENDPOINT.c.id == endpoint_id,
                    or_(
                        ENDPOINT.c.rescan_requested_at.is_(None),
                        ENDPOINT.c.rescan_requested_at <= now - min_interval,
                    ),
                )
                .values(rescan_requested_at=now)
            )
            if granted.rowcount != 1:
                last = row.rescan_requested_at or now
                wait = max(1.0, (last + min_interval - now).total_seconds())
                raise RateLimited("id", f"a re-scan of this {kind} was asked for at {last:%H:%M:%S} UTC", wait)
            made_due = await conn.execute(
                update(CHECK_STATE)
                .where(
                    CHECK_STATE.c.endpoint_id == endpoint_id,
                    or_(CHECK_STATE.c.lease_expires.is_(None), CHECK_STATE.c.lease_expires < now),
                )
                .values(next_due=now)
                .returning(CHECK_STATE.c.check)
            )
            checks = sorted(made_due.scalars())
            await write_audit(
                conn, self.clock.now(), actor, f"{kind}.rescan", f"{row.slug}/{endpoint_id}", {"checks": checks}
            )
        return now, checks
