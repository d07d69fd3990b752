"""`posture report send [--agency SLUG] [--week 2026-W49]`: make, archive and mail a week's reports now (the
schedule's work, by hand), and send whatever failed before for that week again.

`posture report send` (monitor/cli_reports.py) calls `send`; its `--agency` and `--week` are the report command's.
"""

from __future__ import annotations

import argparse

from monitor.errors import InvalidInput
from monitor.report_wiring import delivery_from
from monitor.reports.week import IsoWeek
from monitor.settings import Settings
from monitor.store.store import Store
from monitor.usecases.delivery import MakerFactory


async def send(
    args: argparse.Namespace, settings: Settings, store: Store, maker_factory: MakerFactory | None = None
) -> int:
    if settings.smtp_host is None:
        raise InvalidInput("smtp_host", "no mail server configured (POSTURE_SMTP_HOST)")
    delivery = delivery_from(store, settings, maker_factory)
    assert delivery is not None  # a mail server is configured
    week = IsoWeek.parse(args.week, "week") if args.week else IsoWeek.last_complete(store.clock.now())
    if args.agency is not None:
        await store.registry.agency(args.agency)  # an unknown agency: one line naming it
    prepared, summary = await delivery.send_week(week, args.agency)
    print(
        f"reports {week}: {prepared.rendered} made, {prepared.queued} deliveries queued, {summary.sent} sent, "
        f"{summary.failed} failed (retried by the daemon; see `GET /api/v1/agencies/SLUG/reports`)"
    )
    return 0 if summary.failed == 0 else 1
