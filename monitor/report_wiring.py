"""How the daemon and the CLI build weekly report delivery from the settings, with the report renderer."""

from __future__ import annotations

from datetime import timedelta

from monitor.durations import parse_duration
from monitor.errors import InvalidInput
from monitor.mailer import Sender, SmtpConfig, SmtpSender
from monitor.reports.render import StoreReportMaker
from monitor.settings import Settings
from monitor.store.store import Store
from monitor.usecases.delivery import DeliveryPolicy, MakerFactory, ReportDelivery


def report_maker_factory() -> MakerFactory:
    """The renderer of the weekly reports, as a function of the Store: the report use case's data rendered as
    PDF in worker processes (monitor/reports/render.py)."""
    return StoreReportMaker


def smtp_config(settings: Settings) -> SmtpConfig | None:
    if settings.smtp_host is None:
        return None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password_file=settings.smtp_password_file,
        ca_file=settings.smtp_ca_file,
        timeout_s=settings.smtp_timeout_s,
    )


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    if not settings.report_from:
        raise InvalidInput("report_from", "the From address of the report mails is required with smtp_host")
    return DeliveryPolicy(
        sender=settings.report_from,
        retry_for=timedelta(seconds=parse_duration(settings.report_retry_for, minimum_s=1)),
        keep_weeks=settings.report_keep_weeks,
    )


def delivery_from(
    store: Store, settings: Settings, maker_factory: MakerFactory | None = None, sender: Sender | None = None
) -> ReportDelivery | None:
    """The delivery, or None when no mail server is configured."""
    config = smtp_config(settings)
    factory = maker_factory or report_maker_factory()
    if config is None:
        return None
    return ReportDelivery(store, factory(store), sender or SmtpSender(config), delivery_policy(settings))
