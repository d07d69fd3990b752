"""Benchmark: a week's report mails to every agency's contacts through a real SMTP server (aiosmtpd with STARTTLS)
on loopback, with a ReportMaker that hands out a ~100 KB PDF at once: what delivery itself costs (queueing, the
archive, one STARTTLS conversation per mail), not rendering (bench/reports.py).

Prints `delivery_total_s` (prepare + send, all agencies) and `delivery_mails_per_s`.
Usage: python bench/delivery.py [--agencies N] [--contacts N]
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import trustme

from monitor.mailer import SmtpConfig, SmtpSender
from monitor.models import Language
from monitor.reports.maker import RenderedReport, ReportFormat
from monitor.reports.week import IsoWeek
from monitor.store.audit import Actor
from monitor.store.engine import make_engine
from monitor.store.schema import upgrade
from monitor.store.store import Store
from monitor.usecases.delivery import DeliveryPolicy, ReportDelivery
from tests.servers import smtpd

ADDRESS, PORT = "127.0.55.20", 2525
ACTOR = Actor("bench", "bench")
PDF = b"%PDF-1.4\n" + b"0" * 100_000 + b"\n%%EOF\n"


class Counter:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


async def maker(agency: str, week: IsoWeek, language: Language, format: ReportFormat) -> RenderedReport:
    return RenderedReport(agency, week, language, format, PDF)


async def main(agencies: int, contacts: int) -> None:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(ADDRESS).configure_cert(context)
    with tempfile.TemporaryDirectory() as workdir:
        ca_file = Path(workdir) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        store = Store(make_engine(f"sqlite+aiosqlite:///{workdir}/posture.db"))
        await upgrade(store.engine)
        for number in range(agencies):
            slug = f"agency-{number:04d}"
            await store.registry.add_agency(slug, f"Behörde {number}", ACTOR)
            for contact in range(contacts):
                values = {"name": f"Kontakt {contact}", "email": f"k{contact}@{slug}.example", "role": "security",
                          "language": "de" if contact else "en"}  # fmt: skip
                await store.contacts.add(slug, values, ACTOR)
        counter = Counter()
        sender = SmtpSender(SmtpConfig(ADDRESS, PORT, "starttls", ca_file=ca_file))
        delivery = ReportDelivery(store, maker, sender, DeliveryPolicy(sender="posture@cert.example"))
        with smtpd(ADDRESS, context, PORT, handler=counter, require_starttls=True):
            started = time.perf_counter()
            prepared, summary = await delivery.send_week(IsoWeek(2026, 49))
            total = time.perf_counter() - started
        await store.close()
    assert summary.sent == counter.received == agencies * contacts, (summary, counter.received)
    print(f"agencies={agencies}")
    print(f"mails={summary.sent}")
    print(f"reports_archived={prepared.rendered}")
    print(f"delivery_total_s={total:.1f}")
    print(f"delivery_mails_per_s={summary.sent / total:.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=950)
    parser.add_argument("--contacts", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.agencies, args.contacts))
