"""The rules around delivery that need no server: the schedule, the backoff, the settings, `report send`'s errors."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.cli_report_send import send
from monitor.errors import InvalidInput
from monitor.mailer import SmtpConfig
from monitor.report_schedule import ReportSchedule
from monitor.reports.week import IsoWeek
from monitor.settings import Settings, SettingsError, load_settings
from monitor.store.store import Store
from monitor.usecases.delivery import DeliveryPolicy
from tests.delivery.conftest import SENDER, SMTP_ADDRESS, SMTP_PORT, Mailbox, PdfMaker, agency_with_contacts


def test_the_schedule_is_berlin_wall_time_in_summer_and_winter() -> None:
    schedule = ReportSchedule.parse("mon 07:00")
    assert str(schedule) == "MON 07:00"
    assert schedule.moment_in(IsoWeek(2026, 49)) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # CET
    assert schedule.moment_in(IsoWeek(2026, 27)) == datetime(2026, 6, 29, 5, 0, tzinfo=UTC)  # CEST
    assert schedule.due_week(datetime(2026, 11, 30, 5, 59, tzinfo=UTC)) is None
    assert schedule.due_week(datetime(2026, 11, 30, 6, 0, tzinfo=UTC)) == IsoWeek(2026, 48)
    assert schedule.due_week(datetime(2026, 12, 6, 22, 0, tzinfo=UTC)) == IsoWeek(2026, 48)  # Sunday 23:00
    assert ReportSchedule.parse("FRI 16:30").due_week(datetime(2026, 12, 4, 15, 30, tzinfo=UTC)) == IsoWeek(2026, 48)


@pytest.mark.parametrize("text", ["MONDAY 07:00", "MON", "MON 25:00", "07:00 MON", ""])
def test_a_malformed_schedule_names_the_setting(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTURE_REPORT_SCHEDULE", text)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert len(caught.value.problems) == 1 and "report_schedule" in caught.value.problems[0]


def test_the_from_address_and_plain_smtp_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTURE_REPORT_FROM", "posture@localhost")
    with pytest.raises(SettingsError, match="report_from"):
        load_settings()
    with pytest.raises(InvalidInput, match="smtp_tls"):
        SmtpConfig("mail.land.example", 25, "none")
    assert SmtpConfig("127.0.0.1", 25, "none").tls == "none"  # a local relay


def test_the_backoff_doubles_up_to_six_hours_and_gives_up_after_retry_for() -> None:
    policy = DeliveryPolicy(sender=SENDER)
    start = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
    delays = [policy.next_attempt(n, start, start) for n in (1, 2, 3, 10, 20)]
    assert [d - start for d in delays if d] == [timedelta(minutes=m) for m in (1, 2, 4, 360, 360)]
    late = start + timedelta(days=7)
    assert policy.next_attempt(30, start, late) is None


def _args(**values: str | None) -> argparse.Namespace:
    return argparse.Namespace(agency=values.get("agency"), week=values.get("week"))


async def test_report_send_sends_a_chosen_week_and_names_what_is_wrong(
    engine: AsyncEngine, smtp_server: Mailbox, ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(engine)
    await agency_with_contacts(store)
    unconfigured = Settings()
    with pytest.raises(InvalidInput, match="smtp_host"):
        await send(_args(), unconfigured, store, lambda _store: PdfMaker())
    settings = Settings(smtp_host=SMTP_ADDRESS, smtp_port=SMTP_PORT, smtp_ca_file=ca_file, report_from=SENDER)
    with pytest.raises(InvalidInput) as caught:
        await send(_args(week="2026-W60"), settings, store, lambda _store: PdfMaker())
    assert caught.value.field == "week"
    assert await send(_args(agency="lk-a", week="2026-W10"), settings, store, lambda _store: PdfMaker()) == 0
    assert "reports 2026-W10: 2 made, 2 deliveries queued, 2 sent, 0 failed" in capsys.readouterr().out
    assert len(smtp_server.received) == 2
