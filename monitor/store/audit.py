"""The audit log and the agency lookup every write of the registry and the stores shares."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.errors import NotFound
from monitor.store.tables import AGENCY, AUDIT_LOG


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes, for the audit log: a CLI user, a token, the daemon itself."""

    name: str
    source: str = "cli"


async def write_audit(
    conn: AsyncConnection, at: datetime, actor: Actor, action: str, target: str, detail: Mapping[str, Any]
) -> None:
    """One audit row, in the transaction of the change it records."""
    await conn.execute(
        insert(AUDIT_LOG).values(
            at=at, actor=actor.name, action=action, target=target, detail=dict(detail), source=actor.source
        )
    )


async def agency_id_of(conn: AsyncConnection, slug: str) -> int:
    agency_id = (await conn.execute(select(AGENCY.c.id).where(AGENCY.c.slug == slug))).scalar()
    if agency_id is None:
        raise NotFound("agency", f"no agency {slug!r} (see `posture agency list`)")
    return int(agency_id)
