"""The stored facts of a check, endpoint by endpoint, with the settings it runs with there: what re-judging reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.tables import AGENCY, ENDPOINT, LATEST


@dataclass(frozen=True, slots=True)
class StoredFacts:
    endpoint_id: int
    details: Mapping[str, Any]  # the latest stored details, by check name (the check's own and its peers')
    check_settings: Mapping[str, Any] = field(default_factory=dict)  # the check's overrides on this endpoint
    agency_settings: Mapping[str, Any] = field(default_factory=dict)  # … and on all the agency's endpoints
    expected_ports: tuple[int, ...] = ()


async def stored_facts(
    engine: AsyncEngine,
    check: str,
    names: Sequence[str],
    endpoint_ids: Iterable[int] | None = None,
    agency: str | None = None,
) -> list[StoredFacts]:
    """For every endpoint that runs `check` (of those named, of `agency`), the stored details of `names`."""
    query = (
        select(ENDPOINT.c.id, ENDPOINT.c.checks, ENDPOINT.c.check_settings, ENDPOINT.c.expected_ports)
        .add_columns(AGENCY.c.check_settings.label("agency_settings"))
        .join(AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id)
    )
    latest = select(LATEST.c.endpoint_id, LATEST.c.check, LATEST.c.details).where(
        LATEST.c.check.in_(names), LATEST.c.details.is_not(None)
    )
    if agency is not None:  # one agency's facts, not the whole state's
        query = query.where(AGENCY.c.slug == agency)
        latest = latest.join(ENDPOINT, ENDPOINT.c.id == LATEST.c.endpoint_id).join(
            AGENCY, AGENCY.c.id == ENDPOINT.c.agency_id
        )
        latest = latest.where(AGENCY.c.slug == agency)
    wanted = set(endpoint_ids) if endpoint_ids is not None else None
    async with engine.connect() as conn:
        endpoints = {
            row.id: row
            for row in await conn.execute(query)
            if check in (row.checks or ()) and (wanted is None or row.id in wanted)
        }
        rows = await conn.execute(latest)
        details: dict[int, dict[str, Any]] = {}
        for row in rows:  # a first run that failed stored JSON null, which is not SQL NULL
            if row.endpoint_id in endpoints and row.details is not None:
                details.setdefault(row.endpoint_id, {})[row.check] = row.details
    return [
        StoredFacts(
            endpoint_id,
            facts,
            (endpoints[endpoint_id].check_settings or {}).get(check, {}),
            (endpoints[endpoint_id].agency_settings or {}).get(check, {}),
            tuple(endpoints[endpoint_id].expected_ports or ()),
        )
        for endpoint_id, facts in sorted(details.items())
    ]
