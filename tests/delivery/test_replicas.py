"""Two replicas on one PostgreSQL database send each week's report to each contact once: under the leader, and
even when both send at the same moment (the unique delivery row and its compare-and-set claim)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.clock import FakeClock
from monitor.report_schedule import ReportSchedule
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.usecases.delivery import delivery_job
from tests.delivery.conftest import MONDAY_AFTER, WEEK, Mailbox, PdfMaker, agency_with_contacts, delivery
from tests.waiting import until


@pytest.fixture
async def replicas(postgres_url: str) -> AsyncIterator[tuple[Store, Store, FakeClock]]:
    clock = FakeClock(MONDAY_AFTER - timedelta(days=3))  # the contacts exist before Monday's 07:00
    first, second = Store(make_engine(postgres_url), clock), Store(make_engine(postgres_url), clock)
    try:
        await upgrade(first.engine)
        await agency_with_contacts(first)
        await agency_with_contacts(first, "lk-b", "Landkreis B")
        clock.advance(3 * 86400)
        yield first, second, clock
    finally:
        await first.close()
        await second.close()


async def test_two_replicas_sending_at_once_send_each_mail_once(
    replicas: tuple[Store, Store, FakeClock], smtp_server: Mailbox, ca_file: Path
) -> None:
    first, second, _ = replicas
    makers = PdfMaker(), PdfMaker()
    results = await asyncio.gather(
        delivery(first, makers[0], ca_file).send_week(WEEK), delivery(second, makers[1], ca_file).send_week(WEEK)
    )
    assert sum(summary.sent for _, summary in results) == 4
    assert sum(prepared.queued for prepared, _ in results) == 4
    assert sorted(rcpt[0] for rcpt, _, _ in smtp_server.received) == [
        "cio@lk-a.example", "cio@lk-b.example", "it-sicherheit@lk-a.example", "it-sicherheit@lk-b.example"
    ]  # fmt: skip
    for slug in ("lk-a", "lk-b"):
        assert {(d.status, d.attempts) for d in await first.reports.deliveries(slug)} == {("sent", 1)}


async def test_the_schedule_runs_under_the_leader_and_sends_once(
    replicas: tuple[Store, Store, FakeClock], smtp_server: Mailbox, ca_file: Path
) -> None:
    first, second, _ = replicas
    schedule = ReportSchedule.parse("MON 07:00")
    makers = PdfMaker(), PdfMaker()
    stop = asyncio.Event()
    jobs = [
        asyncio.create_task(store.lead("reports", delivery_job(delivery(store, maker, ca_file), schedule, 0.2), stop))
        for store, maker in zip((first, second), makers, strict=True)
    ]
    try:
        await until(lambda: len(smtp_server.received) >= 4, 20, "four mails")
        await asyncio.sleep(1.0)  # a second leader, had there been one, would have sent by now
    finally:
        stop.set()
        await asyncio.gather(*jobs)
    assert len(smtp_server.received) == 4
    assert [len(maker.calls) for maker in makers].count(0) == 1, "only the leader renders"
    assert sorted(call[0] for maker in makers for call in maker.calls) == ["lk-a", "lk-a", "lk-b", "lk-b"]
