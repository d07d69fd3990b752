"""The mail that carries a weekly report: a German subject and body (English for an English-speaking contact) and
the PDF attached."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from monitor.models import Language
from monitor.reports.maker import RenderedReport

_SUBJECT: dict[Language, str] = {
    "de": "Wöchentlicher Sicherheitsbericht {agency}: KW {week} / {year}",
    "en": "Weekly security posture report {agency}: week {week} of {year}",
}
_BODY: dict[Language, str] = {
    "de": (
        "Guten Tag {name},\n\n"
        "anbei der Sicherheitsbericht für {agency} über die Kalenderwoche {week}/{year} "
        "({start} bis {end}) als PDF.\n"
        "Er zeigt, was sich geändert hat, die offenen Befunde mit ihren Fristen und was zu tun ist.\n\n"
        "Frühere Berichte finden Sie in der Weboberfläche unter „Berichte“.\n\n"
        "Diese Nachricht wurde automatisch vom Posture-Monitor des CERT versandt.\n"
    ),
    "en": (
        "Hello {name},\n\n"
        "attached is the security posture report of {agency} for ISO week {week} of {year} "
        "({start} to {end}) as a PDF.\n"
        "It shows what changed, the open findings with their deadlines and what to do.\n\n"
        "Earlier reports are in the web UI under “Reports”.\n\n"
        "This message was sent automatically by the CERT's posture monitor.\n"
    ),
}
_DATE = {"de": "%d.%m.%Y", "en": "%Y-%m-%d"}


def report_message(
    report: RenderedReport, agency_name: str, sender: str, recipient: str, recipient_name: str, now: datetime
) -> EmailMessage:
    language = report.language
    week = report.week
    values = {
        "agency": agency_name,
        "name": recipient_name,
        "week": f"{week.week:02d}",
        "year": str(week.year),
        "start": week.monday.strftime(_DATE[language]),
        "end": (week.monday + timedelta(days=6)).strftime(_DATE[language]),
    }
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = " ".join(_SUBJECT[language].format(**values).split())  # no line breaks from a name
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("posture-report", domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_BODY[language].format(**values))
    message.add_attachment(report.content, maintype="application", subtype="pdf", filename=report.filename)
    message["Content-Language"] = language  # after the content: setting the content drops Content-* headers
    return message
