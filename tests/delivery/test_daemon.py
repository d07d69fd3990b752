"""The daemon runs the weekly reports under its leader when a mail server is configured, and says once that it
does not when none is."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import Registry
from monitor.app import Daemon
from monitor.reports.week import IsoWeek
from monitor.settings import Settings
from monitor.store.store import Store
from monitor.store.tables import CONTACT
from tests.delivery.conftest import SENDER, SMTP_ADDRESS, SMTP_PORT, Mailbox, PdfMaker, agency_with_contacts
from tests.waiting import until

NO_CHECKS: Registry = {}


async def test_the_daemon_mails_last_weeks_reports_to_the_contacts(
    engine: AsyncEngine, sqlite_url: str, smtp_server: Mailbox, ca_file: Path
) -> None:
    store = Store(engine)
    await agency_with_contacts(store)
    async with engine.begin() as conn:  # contacts from before this week's Monday 07:00
        await conn.execute(update(CONTACT).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    settings = Settings(
        database_url=sqlite_url, http_addr="127.0.0.1:0", instance_id="reports-1", grace_period_s=0,
        smtp_host=SMTP_ADDRESS, smtp_port=SMTP_PORT, smtp_ca_file=ca_file, report_from=SENDER,
    )  # fmt: skip
    maker = PdfMaker()
    daemon = Daemon(settings, NO_CHECKS, report_maker=lambda _store: maker)
    task = asyncio.create_task(daemon.run(handle_signals=False))
    try:
        await until(lambda: len(smtp_server.received) == 2, 20, "two report mails")
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)
    week = str(IsoWeek.last_complete(datetime.now(UTC)))
    assert sorted(call[1] for call in maker.calls) == [week, week]
    assert {d.status for d in await store.reports.deliveries("lk-a")} == {"sent"}


async def test_without_a_mail_server_the_daemon_says_so_once(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    from monitor.store.engine import make_engine
    from monitor.store.schema import upgrade

    engine = make_engine(sqlite_url)
    await upgrade(engine)
    await engine.dispose()
    settings = Settings(database_url=sqlite_url, http_addr="127.0.0.1:0", instance_id="reports-2", grace_period_s=0)
    daemon = Daemon(settings, NO_CHECKS, report_maker=lambda _store: PdfMaker())
    with caplog.at_level(logging.WARNING, logger="monitor.app"):
        task = asyncio.create_task(daemon.run(handle_signals=False))
        await until(lambda: daemon.http_port is not None, 20, "the daemon started")
        await asyncio.sleep(0.3)
        daemon.request_stop()
        await asyncio.wait_for(task, 30)
    lines = [r.getMessage() for r in caplog.records if "weekly reports are not sent" in r.getMessage()]
    assert lines == ["POSTURE_SMTP_HOST is not set: weekly reports are not sent"]
