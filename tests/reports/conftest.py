"""A store whose database went through twelve weeks of the findings lifecycle (tests/reports/lifecycle.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from monitor.clock import FakeClock
from monitor.store.store import Store
from tests.reports.lifecycle import fill


@pytest.fixture
async def filled(sqlite_url: str) -> AsyncIterator[Store]:
    clock = FakeClock(datetime(2026, 10, 5, 6, 0, tzinfo=UTC))
    store = Store.open(sqlite_url, clock)
    await fill(store, clock)
    try:
        yield store
    finally:
        await store.close()
