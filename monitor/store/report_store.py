"""The report archive and the deliveries of weekly reports (SQL only; the rules are in monitor/usecases/delivery.py).

A delivery row is unique per (agency, week, contact): however many replicas queue a week, each contact has one row,
and a row is claimed by a compare-and-set of its status before it is sent, so two senders never take the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.store.audit import agency_id_of
from monitor.store.tables import AGENCY, ARCHIVED_REPORT, CONTACT, DELIVERY

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


@dataclass(frozen=True, slots=True)
class ArchiveEntry:
    agency: str
    week: str
    language: str
    format: str
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    agency: str
    week: str
    contact_id: int
    contact_name: str
    email: str
    language: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Recipient:
    contact_id: int
    email: str
    language: str


def _deliveries() -> Any:
    return (
        select(
            DELIVERY.c.id,
            AGENCY.c.slug,
            DELIVERY.c.week,
            DELIVERY.c.contact_id,
            CONTACT.c.name,
            DELIVERY.c.email,
            DELIVERY.c.language,
            DELIVERY.c.status,
            DELIVERY.c.attempts,
            DELIVERY.c.last_error,
            DELIVERY.c.next_attempt_at,
            DELIVERY.c.sent_at,
            DELIVERY.c.created_at,
        )
        .join(AGENCY, AGENCY.c.id == DELIVERY.c.agency_id)
        .join(CONTACT, CONTACT.c.id == DELIVERY.c.contact_id)
    )


class ReportStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock

    # --- the archive ---------------------------------------------------------------------------------------------

    async def archive(self, agency: str, week: str, language: str, format: str, content: bytes) -> bool:
        """Keep a rendered report; False when that week's report in that language and format is kept already (the
        first one stays: it is what was sent)."""
        try:
            async with self.engine.begin() as conn:
                agency_id = await agency_id_of(conn, agency)
                await conn.execute(
                    insert(ARCHIVED_REPORT).values(
                        agency_id=agency_id,
                        week=week,
                        language=language,
                        format=format,
                        content=content,
                        created_at=self.clock.now(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def archived(self, agency: str, week: str, language: str, format: str) -> bytes | None:
        query = (
            select(ARCHIVED_REPORT.c.content)
            .join(AGENCY, AGENCY.c.id == ARCHIVED_REPORT.c.agency_id)
            .where(
                AGENCY.c.slug == agency,
                ARCHIVED_REPORT.c.week == week,
                ARCHIVED_REPORT.c.language == language,
                ARCHIVED_REPORT.c.format == format,
            )
        )
        async with self.engine.connect() as conn:
            content = (await conn.execute(query)).scalar()
        return None if content is None else bytes(content)

    async def has_archived(self, agency: str, week: str, language: str, format: str) -> bool:
        query = (
            select(ARCHIVED_REPORT.c.id)
            .join(AGENCY, AGENCY.c.id == ARCHIVED_REPORT.c.agency_id)
            .where(
                AGENCY.c.slug == agency,
                ARCHIVED_REPORT.c.week == week,
                ARCHIVED_REPORT.c.language == language,
                ARCHIVED_REPORT.c.format == format,
            )
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    async def archive_list(self, agency: str) -> list[ArchiveEntry]:
        query = (
            select(
                AGENCY.c.slug,
                ARCHIVED_REPORT.c.week,
                ARCHIVED_REPORT.c.language,
                ARCHIVED_REPORT.c.format,
                func.length(ARCHIVED_REPORT.c.content),
                ARCHIVED_REPORT.c.created_at,
            )
            .join(AGENCY, AGENCY.c.id == ARCHIVED_REPORT.c.agency_id)
            .where(AGENCY.c.slug == agency)
            .order_by(ARCHIVED_REPORT.c.week.desc(), ARCHIVED_REPORT.c.language, ARCHIVED_REPORT.c.format)
        )
        async with self.engine.connect() as conn:
            await agency_id_of(conn, agency)
            return [ArchiveEntry(*row) for row in await conn.execute(query)]

    async def prune(self, oldest_week: str) -> int:
        """Delete archived reports (and their deliveries) of weeks before `oldest_week`."""
        async with self.engine.begin() as conn:
            await conn.execute(delete(DELIVERY).where(DELIVERY.c.week < oldest_week))
            pruned = await conn.execute(delete(ARCHIVED_REPORT).where(ARCHIVED_REPORT.c.week < oldest_week))
        return int(pruned.rowcount)

    # --- deliveries ----------------------------------------------------------------------------------------------

    async def queue(self, agency: str, week: str, recipients: Iterable[Recipient]) -> int:
        """One queued delivery per recipient that has none for this week yet; returns how many were queued. A row
        another replica queued at the same moment is left as it is (the unique key refuses the second)."""
        now = self.clock.now()
        queued = 0
        for recipient in recipients:
            try:
                async with self.engine.begin() as conn:
                    agency_id = await agency_id_of(conn, agency)
                    await conn.execute(
                        insert(DELIVERY).values(
                            agency_id=agency_id,
                            week=week,
                            contact_id=recipient.contact_id,
                            email=recipient.email,
                            language=recipient.language,
                            status=QUEUED,
                            attempts=0,
                            next_attempt_at=now,
                            created_at=now,
                        )
                    )
                queued += 1
            except IntegrityError:
                continue
        return queued

    async def queued_contacts(self, agency: str, week: str) -> set[int]:
        query = (
            select(DELIVERY.c.contact_id)
            .join(AGENCY, AGENCY.c.id == DELIVERY.c.agency_id)
            .where(AGENCY.c.slug == agency, DELIVERY.c.week == week)
        )
        async with self.engine.connect() as conn:
            return {row.contact_id for row in await conn.execute(query)}

    async def claim_due(self, lease_until: datetime, limit: int, agency: str | None = None) -> list[DeliveryView]:
        """Take up to `limit` deliveries that are due (queued or failed with their next attempt reached, or a send
        whose sender stopped answering before `lease_expires`) and mark them sending until `lease_until`."""
        now = self.clock.now()
        due = or_(
            and_(DELIVERY.c.status.in_((QUEUED, FAILED)), DELIVERY.c.next_attempt_at <= now),
            and_(DELIVERY.c.status == SENDING, DELIVERY.c.lease_expires <= now),
        )
        query = _deliveries().where(due).order_by(DELIVERY.c.next_attempt_at, DELIVERY.c.id).limit(limit)
        if agency is not None:
            query = query.where(AGENCY.c.slug == agency)
        claimed: list[DeliveryView] = []
        async with self.engine.begin() as conn:
            candidates = [DeliveryView(*row) for row in await conn.execute(query)]
        for view in candidates:
            async with self.engine.begin() as conn:
                # compare-and-set: the row still is as it was read, so no other sender took it meanwhile
                took = await conn.execute(
                    update(DELIVERY)
                    .where(DELIVERY.c.id == view.id, DELIVERY.c.status == view.status,
                           DELIVERY.c.attempts == view.attempts, due)
                    .values(status=SENDING, lease_expires=lease_until, attempts=view.attempts + 1)
                )  # fmt: skip
            if took.rowcount == 1:
                claimed.append(view)
        return claimed

    async def sent(self, delivery_id: int) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id)
                .values(
                    status=SENT, sent_at=self.clock.now(), last_error=None, next_attempt_at=None, lease_expires=None
                )
            )

    async def failed(self, delivery_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """A failed attempt: retried at `next_attempt_at`; None: given up (still shown, `posture report send`
        queues it again)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(DELIVERY)
                .where(DELIVERY.c.id == delivery_id)
                .values(status=FAILED, last_error=error[:400], next_attempt_at=next_attempt_at, lease_expires=None)
            )

    async def retry_now(self, agency: str | None, week: str) -> int:
        """Failed deliveries of `week` (given up or waiting) are due now; returns how many."""
        condition = and_(DELIVERY.c.week == week, DELIVERY.c.status == FAILED)
        if agency is not None:
            condition = and_(condition, DELIVERY.c.agency_id == select(AGENCY.c.id).where(AGENCY.c.slug == agency)
                             .scalar_subquery())  # fmt: skip
        async with self.engine.begin() as conn:
            changed = await conn.execute(update(DELIVERY).where(condition).values(next_attempt_at=self.clock.now()))
        return int(changed.rowcount)

    async def deliveries(self, agency: str, week: str | None = None) -> list[DeliveryView]:
        query = _deliveries().where(AGENCY.c.slug == agency).order_by(DELIVERY.c.week.desc(), DELIVERY.c.id)
        if week is not None:
            query = query.where(DELIVERY.c.week == week)
        async with self.engine.connect() as conn:
            await agency_id_of(conn, agency)
            return [DeliveryView(*row) for row in await conn.execute(query)]
