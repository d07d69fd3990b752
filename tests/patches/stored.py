"""Stored endpoints with ports details, written straight into the tables (no scan), for re-judgement tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.store.tables import AGENCY, ENDPOINT, LATEST


def ports_details(*ports: Mapping[str, Any], address: str = "192.0.2.1") -> dict[str, Any]:
    return {
        "address": address,
        "scanned": ",".join(str(p["port"]) for p in ports),
        "open_ports": [{"protocol": "tcp", "state": "open", "method": "probed", **p} for p in ports],
        "version_scan": "done",
        "nmap_version": "7.93",
    }


async def store_endpoints(
    engine: AsyncEngine, details: Sequence[Mapping[str, Any]], checks: Sequence[str] = ("ports", "patch")
) -> list[int]:
    """One agency, one endpoint per entry of `details`, each with a stored OK ports result."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        agency_id = (
            await conn.execute(
                insert(AGENCY).values(slug="lk-patch", name="Landkreis Patch", created_at=now).returning(AGENCY.c.id)
            )
        ).scalar_one()
        rows = [
            {
                "agency_id": agency_id,
                "host": f"host{index}.example.org",
                "port": 443,
                "checks": list(checks),
                "intervals": {},
                "labels": {},
                "expected_ports": [],
                "check_settings": {},
                "created_at": now,
            }
            for index in range(len(details))
        ]
        ids: list[int] = []
        for start in range(0, len(rows), 500):
            result = await conn.execute(insert(ENDPOINT).returning(ENDPOINT.c.id), rows[start : start + 500])
            ids += [row[0] for row in result]
        results = [
            {
                "endpoint_id": endpoint_id,
                "check": "ports",
                "status": "ok",
                "started_at": now,
                "duration_s": 1.0,
                "details": dict(detail),
                "observations": [],
            }
            for endpoint_id, detail in zip(ids, details, strict=True)
        ]
        for start in range(0, len(results), 500):
            await conn.execute(insert(LATEST), results[start : start + 500])
    return ids
