"""Self-service scope: an agency proposes a domain; a DNS TXT record or an admin makes it part of its scope."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import Conflict, InvalidInput, NotFound
from monitor.scope import ScopeEntry
from monitor.store.audit import Actor, agency_id_of, write_audit
from monitor.store.registry import Registry
from monitor.store.tables import AGENCY, SCOPE, SCOPE_REQUEST

TXT_PREFIX = "posture-verification="

TxtLookup = Callable[[str], Awaitable[list[str]]]


@dataclass(frozen=True, slots=True)
class ScopeRequestView:
    id: int
    agency: str
    value: str
    state: str  # pending | active | rejected
    verification_token: str
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    @property
    def txt_record(self) -> str:
        return f"{TXT_PREFIX}{self.verification_token}"


@dataclass(frozen=True, slots=True)
class ScopeView:
    id: int
    agency: str
    kind: str
    value: str
    created_at: datetime


def _view(row: Any) -> ScopeRequestView:
    return ScopeRequestView(
        row.id, row.slug, row.value, row.state, row.verification_token, row.created_at, row.decided_at, row.decided_by
    )


class ScopeStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock
        self.registry = Registry(engine, clock)

    async def scopes(self, agency: str) -> list[ScopeView]:
        query = (
            select(SCOPE.c.id, AGENCY.c.slug, SCOPE.c.kind, SCOPE.c.value, SCOPE.c.created_at)
            .join(AGENCY, AGENCY.c.id == SCOPE.c.agency_id)
            .where(AGENCY.c.slug == agency)
            .order_by(SCOPE.c.id)
        )
        async with self.engine.connect() as conn:
            await agency_id_of(conn, agency)
            return [ScopeView(*row) for row in await conn.execute(query)]

    async def add(self, agency: str, raw: str, actor: Actor) -> ScopeView:
        entry = await self.registry.add_scope(agency, raw, actor)
        return next(view for view in await self.scopes(agency) if view.value == entry.value)

    async def remove(self, agency: str, scope_id: int, actor: Actor) -> None:
        async with self.engine.begin() as conn:
            agency_id = await agency_id_of(conn, agency)
            removed = await conn.execute(
                delete(SCOPE).where(SCOPE.c.id == scope_id, SCOPE.c.agency_id == agency_id).returning(SCOPE.c.value)
            )
            value = removed.scalar()
            if value is None:
                raise NotFound("id", f"no scope entry with id {scope_id} for {agency!r}")
            await write_audit(conn, self.clock.now(), actor, "scope.remove", agency, {"value": value})

    def _requests(self) -> Any:
        return select(SCOPE_REQUEST, AGENCY.c.slug).join(AGENCY, AGENCY.c.id == SCOPE_REQUEST.c.agency_id)

    async def request(self, agency: str, raw: str, actor: Actor) -> ScopeRequestView:
        entry = ScopeEntry.parse(raw)
        if entry.kind != "domain":
            raise InvalidInput("value", "only a domain can be proposed; address ranges are set by the CERT")
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, agency)
                request_id = (
                    await conn.execute(
                        insert(SCOPE_REQUEST)
                        .values(
                            agency_id=agency_id,
                            value=entry.value,
                            verification_token=secrets.token_hex(16),
                            state="pending",
                            created_at=self.clock.now(),
                        )
                        .returning(SCOPE_REQUEST.c.id)
                    )
                ).scalar_one()
                await write_audit(conn, self.clock.now(), actor, "scope.request", agency, {"value": entry.value})
        except IntegrityError:
            raise Conflict("value", f"{entry.value} was already proposed for {agency!r}") from None
        return await self.get(request_id, None)

    async def get(self, request_id: int, agency_id: int | None) -> ScopeRequestView:
        query = self._requests().where(SCOPE_REQUEST.c.id == request_id)
        if agency_id is not None:
            query = query.where(SCOPE_REQUEST.c.agency_id == agency_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound("id", f"no scope request with id {request_id}")
        return _view(row)

    async def list(self, agency_id: int | None, state: str | None = None) -> list[ScopeRequestView]:
        query = self._requests().order_by(SCOPE_REQUEST.c.id)
        if agency_id is not None:
            query = query.where(SCOPE_REQUEST.c.agency_id == agency_id)
        if state is not None:
            query = query.where(SCOPE_REQUEST.c.state == state)
        async with self.engine.connect() as conn:
            return [_view(row) for row in await conn.execute(query)]

    async def verify(self, request_id: int, agency_id: int | None, txt: TxtLookup, actor: Actor) -> ScopeRequestView:
        """Look for `posture-verification=<token>` in the domain's TXT records; activate the scope if found."""
        request = await self.get(request_id, agency_id)
        if request.state != "pending":
            raise Conflict("state", f"this request is {request.state} already")
        records = await txt(request.value)
        if request.txt_record not in [record.strip() for record in records]:
            raise InvalidInput(
                "value", f"no TXT record {request.txt_record!r} found on {request.value} (DNS may need a few minutes)"
            )
        return await self._decide(request, "active", "dns", actor)

    async def decide(self, request_id: int, approve: bool, actor: Actor) -> ScopeRequestView:
        """An admin's decision on a pending request."""
        request = await self.get(request_id, None)
        if request.state != "pending":
            raise Conflict("state", f"this request is {request.state} already")
        return await self._decide(request, "active" if approve else "rejected", actor.name, actor)

    async def _decide(self, request: ScopeRequestView, state: str, decided_by: str, actor: Actor) -> ScopeRequestView:
        now = self.clock.now()
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(SCOPE_REQUEST)
                .where(SCOPE_REQUEST.c.id == request.id, SCOPE_REQUEST.c.state == "pending")
                .values(state=state, decided_at=now, decided_by=decided_by)
            )
            if changed.rowcount != 1:
                raise Conflict("state", "this request was decided meanwhile")
            if state == "active":
                await self._activate(conn, request, now)
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                f"scope.request.{state}",
                request.agency,
                {"value": request.value, "by": decided_by},
            )
        return await self.get(request.id, None)

    async def _activate(self, conn: AsyncConnection, request: ScopeRequestView, now: datetime) -> None:
        agency_id = await agency_id_of(conn, request.agency)
        exists = (
            await conn.execute(select(SCOPE.c.id).where(SCOPE.c.agency_id == agency_id, SCOPE.c.value == request.value))
        ).first()
        if exists is None:
            await conn.execute(
                insert(SCOPE).values(agency_id=agency_id, kind="domain", value=request.value, created_at=now)
            )
