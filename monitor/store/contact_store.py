"""Agency contacts: who receives the weekly report (SQL only; the rules are in monitor/usecases/contacts.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import Conflict, NotFound
from monitor.store.audit import Actor, agency_id_of, write_audit
from monitor.store.tables import AGENCY, CONTACT


@dataclass(frozen=True, slots=True)
class ContactView:
    id: int
    agency: str
    name: str
    email: str
    role: str
    language: str
    created_at: datetime


def _select() -> Any:
    return select(
        CONTACT.c.id,
        AGENCY.c.slug,
        CONTACT.c.name,
        CONTACT.c.email,
        CONTACT.c.role,
        CONTACT.c.language,
        CONTACT.c.created_at,
    ).join(AGENCY, AGENCY.c.id == CONTACT.c.agency_id)


def _duplicate(email: str, agency: str) -> Conflict:
    return Conflict("email", f"{email} is already a contact of {agency!r}")


class ContactStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    async def of_agency(self, agency: str, created_before: datetime | None = None) -> list[ContactView]:
        query = _select().where(AGENCY.c.slug == agency).order_by(CONTACT.c.id)
        if created_before is not None:
            query = query.where(CONTACT.c.created_at <= created_before)
        async with self.engine.connect() as conn:
            await agency_id_of(conn, agency)
            return [ContactView(*row) for row in await conn.execute(query)]

    async def agencies_with_contacts(self) -> list[str]:
        query = select(AGENCY.c.slug).where(AGENCY.c.id.in_(select(CONTACT.c.agency_id))).order_by(AGENCY.c.slug)
        async with self.engine.connect() as conn:
            return [row.slug for row in await conn.execute(query)]

    async def get(self, agency: str, contact_id: int) -> ContactView:
        query = _select().where(AGENCY.c.slug == agency, CONTACT.c.id == contact_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound("id", f"no contact {contact_id} of {agency!r}")
        return ContactView(*row)

    async def add(self, agency: str, values: Mapping[str, str], actor: Actor) -> ContactView:
        now = self.clock.now()
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, agency)
                contact_id = (
                    await conn.execute(
                        insert(CONTACT).values(agency_id=agency_id, created_at=now, **values).returning(CONTACT.c.id)
                    )
                ).scalar_one()
                await write_audit(conn, now, actor, "contact.add", agency, {"id": contact_id, **values})
        except IntegrityError:
            raise _duplicate(values["email"], agency) from None
        return await self.get(agency, contact_id)

    async def update(self, agency: str, contact_id: int, changes: Mapping[str, str], actor: Actor) -> ContactView:
        now = self.clock.now()
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, agency)
                changed = await conn.execute(
                    update(CONTACT)
                    .where(CONTACT.c.id == contact_id, CONTACT.c.agency_id == agency_id)
                    .values(**changes)
                )
                if changed.rowcount == 0:
                    raise NotFound("id", f"no contact {contact_id} of {agency!r}")
                await write_audit(conn, now, actor, "contact.update", agency, {"id": contact_id, **changes})
        except IntegrityError:
            raise _duplicate(changes.get("email", ""), agency) from None
        return await self.get(agency, contact_id)

    async def remove(self, agency: str, contact_id: int, actor: Actor) -> ContactView:
        async with self.engine.begin() as conn:
            agency_id = await agency_id_of(conn, agency)
            removed = (
                await conn.execute(
                    delete(CONTACT)
                    .where(CONTACT.c.id == contact_id, CONTACT.c.agency_id == agency_id)
                    .returning(
                        CONTACT.c.name, CONTACT.c.email, CONTACT.c.role, CONTACT.c.language, CONTACT.c.created_at
                    )
                )
            ).first()
            if removed is None:
                raise NotFound("id", f"no contact {contact_id} of {agency!r}")
            await write_audit(
                conn, self.clock.now(), actor, "contact.remove", agency, {"id": contact_id, "email": removed.email}
            )
        return ContactView(contact_id, agency, removed.name, removed.email, removed.role, removed.language,
                           removed.created_at)  # fmt: skip
