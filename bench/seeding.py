"""One agency with its scope and assets, all due now, written straight into a store: how the benchmarks that drive
the real scheduler start (bench/dnssec.py, bench/mail.py, bench/web.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from monitor.store.tables import AGENCY, CHECK_STATE, ENDPOINT, SCOPE


async def seed_due_assets(
    engine: Any, scopes: Sequence[tuple[str, str]], hosts: Sequence[str], port: int, check: str
) -> None:
    """Agency 1 with `scopes` ((kind, value): "domain" or "cidr"), and `hosts` at `port` (DOMAIN_PORT for domains),
    ids 1…n, each registered for `check` and due a second ago."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(AGENCY).values(id=1, slug="bench", name="Bench", created_at=now))
        await conn.execute(
            insert(SCOPE), [{"agency_id": 1, "kind": kind, "value": value, "created_at": now} for kind, value in scopes]
        )
        rows = [
            {"id": i, "agency_id": 1, "host": host, "port": port, "checks": [check], "intervals": {},
             "labels": {}, "expected_ports": [], "created_at": now}
            for i, host in enumerate(hosts, start=1)
        ]  # fmt: skip
        await conn.execute(insert(ENDPOINT), rows)
        due = now - timedelta(seconds=1)
        states = [
            {"endpoint_id": i, "check": check, "next_due": due, "consecutive_failures": 0}
            for i in range(1, len(hosts) + 1)
        ]
        await conn.execute(insert(CHECK_STATE), states)
