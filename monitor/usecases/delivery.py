"""Weekly report delivery: make each agency's report (through the injected ReportMaker), archive it, queue one
delivery per contact, send by SMTP; a failed send is retried with backoff from its persisted next attempt, so a
restart loses nothing. The schedule runs under the leader; the delivery rows are unique per (agency, week,
contact) and claimed by compare-and-set, so replicas racing never send twice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError

from monitor.aio import first_of
from monitor.mailer import Sender, SendFailed
from monitor.models import Language, parse_language
from monitor.report_mail import report_message
from monitor.report_schedule import ReportSchedule
from monitor.reports.maker import RenderedReport, ReportMaker
from monitor.reports.week import IsoWeek
from monitor.store.availability import Outage
from monitor.store.leader import Job
from monitor.store.report_store import DeliveryView, Recipient
from monitor.store.store import Store

log = logging.getLogger(__name__)

# Where the lead plugs the real renderer: a function from the Store to a ReportMaker (e.g. StoreReportMaker).
MakerFactory = Callable[[Store], ReportMaker]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    sender: str  # the From address
    retry_for: timedelta = timedelta(days=7)  # after this, a failing delivery is given up (and stays visible)
    first_retry: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=10)  # a send whose sender died is taken up again after this
    keep_weeks: int = 52
    batch: int = 50
    parallel: int = 4  # SMTP conversations at once

    def next_attempt(self, attempts: int, created_at: datetime, now: datetime) -> datetime | None:
        """After the `attempts`-th failed try: 1 min, 2 min, 4 min, … at most 6 h; None once retry_for is over."""
        delay = min(self.first_retry * 2 ** max(0, attempts - 1), self.max_backoff)
        moment = now + delay
        return moment if moment <= created_at + self.retry_for else None


@dataclass(frozen=True, slots=True)
class Prepared:
    agencies: int = 0
    rendered: int = 0
    queued: int = 0
    failed: tuple[str, ...] = ()  # agencies whose report could not be made: their contacts are not queued yet


@dataclass(frozen=True, slots=True)
class SendSummary:
    sent: int = 0
    failed: int = 0


class ReportDelivery:
    def __init__(self, store: Store, maker: ReportMaker, sender: Sender, policy: DeliveryPolicy) -> None:
        self.store = store
        self.maker = maker
        self.sender = sender
        self.policy = policy

    async def prepare(
        self, week: IsoWeek, agency: str | None = None, contacts_before: datetime | None = None
    ) -> Prepared:
        """Render and archive `week`'s PDF in each language its contacts need, and queue a delivery to each contact
        that has none for the week yet (contacts added after `contacts_before` wait for the next week)."""
        contacts, reports = self.store.contacts, self.store.reports
        slugs = [agency] if agency is not None else await contacts.agencies_with_contacts()
        agencies = rendered = queued = 0
        failed: list[str] = []
        for slug in slugs:
            already = await reports.queued_contacts(slug, str(week))
            todo = [c for c in await contacts.of_agency(slug, contacts_before) if c.id not in already]
            if not todo:
                continue
            agencies += 1
            try:
                for language in sorted({parse_language(c.language) for c in todo}):
                    if not await reports.has_archived(slug, str(week), language, "pdf"):
                        report = await self.maker(slug, week, language, "pdf")
                        rendered += await reports.archive(slug, str(week), language, "pdf", report.content)
            except (SQLAlchemyError, OSError):
                raise
            except Exception:  # one agency's report failing to render must not hold up the others'
                log.exception("the %s report of %s could not be made", week, slug)
                failed.append(slug)
                continue
            queued += await reports.queue(slug, str(week), [Recipient(c.id, c.email, c.language) for c in todo])
        return Prepared(agencies, rendered, queued, tuple(failed))

    async def send_due(self, agency: str | None = None) -> SendSummary:
        """Send every delivery that is due now, a batch at a time."""
        sent = failed = 0
        names: dict[str, str] = {}
        gate = asyncio.Semaphore(self.policy.parallel)

        async def one(delivery: DeliveryView) -> bool:
            async with gate:
                return await self._send(delivery, names)

        while True:
            lease_until = self.store.clock.now() + self.policy.lease
            claimed = await self.store.reports.claim_due(lease_until, self.policy.batch, agency)
            if not claimed:
                return SendSummary(sent, failed)
            results = await asyncio.gather(*(one(delivery) for delivery in claimed))
            sent += sum(results)
            failed += len(results) - sum(results)

    async def _send(self, delivery: DeliveryView, names: dict[str, str]) -> bool:
        reports, now = self.store.reports, self.store.clock.now()
        language: Language = parse_language(delivery.language)
        content = await reports.archived(delivery.agency, delivery.week, language, "pdf")
        if content is None:  # pruned, or never made: nothing to send, nothing to retry
            await reports.failed(delivery.id, "the archived report is missing", None)
            return False
        if delivery.agency not in names:
            names[delivery.agency] = (await self.store.registry.agency(delivery.agency)).name
        report = RenderedReport(delivery.agency, IsoWeek.parse(delivery.week), language, "pdf", content)
        message = report_message(
            report, names[delivery.agency], self.policy.sender, delivery.email, delivery.contact_name, now
        )
        try:
            await self.sender.send(message, delivery.email)
        except SendFailed as err:
            retry = self.policy.next_attempt(delivery.attempts + 1, delivery.created_at, self.store.clock.now())
            await reports.failed(delivery.id, str(err), retry)
            log.warning(
                "report %s %s to contact %d not delivered (attempt %d): %s; %s",
                delivery.agency, delivery.week, delivery.contact_id, delivery.attempts + 1, err,
                f"retrying at {retry:%Y-%m-%d %H:%M} UTC" if retry else "given up",
            )  # fmt: skip
            return False
        await reports.sent(delivery.id)
        return True

    async def prune(self, now: datetime) -> int:
        """Archived reports and deliveries older than keep_weeks weeks are deleted."""
        return await self.store.reports.prune(str(IsoWeek.of(now).previous(self.policy.keep_weeks)))

    async def send_week(self, week: IsoWeek, agency: str | None = None) -> tuple[Prepared, SendSummary]:
        """`posture report send`: prepare `week` (every current contact), make its failed deliveries due, send."""
        prepared = await self.prepare(week, agency)
        await self.store.reports.retry_now(agency, str(week))
        return prepared, await self.send_due(agency)


RETRY_PREPARE_S = 900.0  # a report that could not be made is tried again this much later


def delivery_job(delivery: ReportDelivery, schedule: ReportSchedule, tick_s: float = 60.0) -> Job:
    """The leader's loop: once the schedule's moment of this week has passed, last week's reports are prepared
    (once per week and process, again after RETRY_PREPARE_S for reports that could not be made; the database makes
    it idempotent across processes), and due deliveries are sent on every tick."""
    store = delivery.store

    async def run(stop: asyncio.Event) -> None:
        outage = Outage(log, "delivering weekly reports", store.url)
        prepared: IsoWeek | None = None
        retry_at = 0.0
        while not stop.is_set():
            try:
                now = store.clock.now()
                week = schedule.due_week(now)
                if week is not None and week != prepared and store.clock.monotonic() >= retry_at:
                    done = await delivery.prepare(week, contacts_before=schedule.moment_in(IsoWeek.of(now)))
                    if done.queued:
                        log.info("reports %s: %d agencies, %d deliveries queued", week, done.agencies, done.queued)
                    await delivery.prune(now)
                    if done.failed:
                        retry_at = store.clock.monotonic() + RETRY_PREPARE_S
                    else:
                        prepared = week
                summary = await delivery.send_due()
                if summary.sent or summary.failed:
                    log.info("reports: %d sent, %d failed (retried later)", summary.sent, summary.failed)
            except (SQLAlchemyError, OSError) as err:
                outage.failed(err, "the next tick catches up")
            else:
                outage.recovered()
            await first_of(stop, wait_s=tick_s)

    return run
