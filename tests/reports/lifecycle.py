"""A database filled through the real lifecycle (WorkQueue claims, Recorder, risk acceptance, re-scan requests)
over twelve simulated weeks, for the report tests. The story and what the report of 2026-W48 must say:

- 127.0.50.1:443 (tls, web): tls.cert.expired HIGH from W41 (its subject is hostile HTML), overdue since 5 Nov;
  tls.cert.self_signed MEDIUM from W41, escalated to HIGH in W48 (deadline 5 Nov: overdue);
  tls.cert.weak_signature MEDIUM from W41, fixed and verified by a requested re-scan in W48;
  tls.cert.expiring MEDIUM new in W48; web.headers.csp_missing LOW from W45, risk accepted until 15 Dec.
- 127.0.50.2:22 (ports, patch): patch.cve.CVE-2024-6387 CRITICAL KEV (CISA due 20 Nov: overdue) from W41;
  ports.exposed.redis MEDIUM opened W46, resolved W47, reopened W48; patch.version_disclosed LOW from W41,
  resolved in W48.
- 127.0.50.3:443 (tls): fine until W48, then unreachable three runs in a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.cadence import Cadence
from monitor.clock import FakeClock
from monitor.models import CheckResult, CheckStatus, Observation, Severity
from monitor.reports.week import IsoWeek
from monitor.store.audit import Actor
from monitor.store.finding_queries import FindingFilter
from monitor.store.store import Store
from monitor.usecases.recording import Recorder

ACTOR = Actor("test")
AGENCY = "lk-bericht"
AGENCY_NAME = "Landkreis Berichtshausen"
WEEK = IsoWeek(2026, 48)
HOSTILE = "<script>alert('pwned')</script><b>evil</b>"
WEB, SSH, DOWN = "127.0.50.1", "127.0.50.2", "127.0.50.3"

EXPIRED = Observation("tls.cert.expired", Severity.HIGH, "certificate expired", {"subject": HOSTILE})
SELF_SIGNED = Observation("tls.cert.self_signed", Severity.MEDIUM, "self-signed certificate")
SELF_SIGNED_HIGH = Observation("tls.cert.self_signed", Severity.HIGH, "self-signed certificate")
WEAK = Observation("tls.cert.weak_signature", Severity.MEDIUM, "SHA-1 signature")
EXPIRING = Observation("tls.cert.expiring", Severity.MEDIUM, "certificate expires soon")
CSP = Observation("web.headers.csp_missing", Severity.LOW, "no Content-Security-Policy")
KEV = Observation(
    "patch.cve.CVE-2024-6387",
    Severity.CRITICAL,
    "OpenSSH 9.3p1: CVE-2024-6387 (regreSSHion)",
    {"kev": True, "due_date": "2026-11-20", "banner": "SSH-2.0-OpenSSH_9.3p1 <img src=x onerror=alert(1)>"},
)
REDIS = Observation("ports.exposed.redis", Severity.MEDIUM, "Redis reachable from the internet")
DISCLOSED = Observation("patch.version_disclosed", Severity.LOW, "version disclosed")

Plan = dict[tuple[str, str], tuple[Observation, ...] | CheckStatus]


def _at(day: int, month: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


async def _scan(store: Store, recorder: Recorder, clock: FakeClock, when: datetime, plan: Mapping[Any, Any]) -> None:
    clock.advance((when - clock.now()).total_seconds())
    claim = await recorder.queue.claim(clock.now(), 1000)
    done = []
    for item in claim.items:
        outcome = plan.get((item.host, item.check), ())
        if isinstance(outcome, CheckStatus):
            result: CheckResult[None] = CheckResult(
                item.check, item.endpoint_id, outcome, clock.now(), 1.0, None, (), error="connection refused"
            )
        else:
            result = CheckResult(item.check, item.endpoint_id, CheckStatus.OK, clock.now(), 1.0, None, outcome)
        done.append((item, result))
    assert await recorder.record(done) == len(done)


async def fill(store: Store, clock: FakeClock) -> dict[str, int]:
    """Runs the story; returns the endpoint ids by host."""
    await store.upgrade()
    await store.registry.add_agency(AGENCY, AGENCY_NAME, ACTOR)
    await store.registry.add_scope(AGENCY, "127.0.0.0/8", ACTOR)
    cadence = Cadence(3600)
    ids = {
        WEB: (await store.registry.add_endpoint(AGENCY, WEB, 443, ["tls", "web"], cadence, ACTOR)).id,
        SSH: (await store.registry.add_endpoint(AGENCY, SSH, 22, ["ports", "patch"], cadence, ACTOR)).id,
        DOWN: (await store.registry.add_endpoint(AGENCY, DOWN, 443, ["tls"], cadence, ACTOR)).id,
    }
    recorder = Recorder(store.work_queue("test", cadence, 600))
    plan: Plan = {
        (WEB, "tls"): (EXPIRED, SELF_SIGNED, WEAK),
        (SSH, "patch"): (KEV, DISCLOSED),
    }
    await _scan(store, recorder, clock, _at(6, 10), plan)  # W41
    await _scan(store, recorder, clock, _at(20, 10), plan)  # W43
    plan[(WEB, "web")] = (CSP,)
    await _scan(store, recorder, clock, _at(3), plan)  # W45
    csp = await _finding_id(store, "web.headers.csp_missing")
    await store.findings.accept_risk(csp, None, _at(15, 12), "replaced in December", ACTOR)
    plan[(SSH, "ports")] = (REDIS,)
    await _scan(store, recorder, clock, _at(10), plan)  # W46
    plan[(SSH, "ports")] = ()
    await _scan(store, recorder, clock, _at(17), plan)  # W47: redis closed
    plan[(SSH, "ports")] = (REDIS,)
    plan[(SSH, "patch")] = (KEV,)
    plan[(WEB, "tls")] = (EXPIRED, SELF_SIGNED_HIGH, WEAK, EXPIRING)
    await _scan(store, recorder, clock, _at(24), plan)  # W48: redis back, escalation, new, version hidden
    await store.endpoints.request_rescan(ids[WEB], None, timedelta(0), ACTOR)
    plan[(WEB, "tls")] = (EXPIRED, SELF_SIGNED_HIGH, EXPIRING)
    for day in (25, 26, 27):
        plan[(DOWN, "tls")] = CheckStatus.UNREACHABLE
        await _scan(store, recorder, clock, _at(day), plan)
    clock.advance((_at(3, 12) - clock.now()).total_seconds())  # the report is made the next week
    return ids


async def _finding_id(store: Store, key: str) -> int:
    (finding,) = await store.findings.page(FindingFilter(key=key))
    return finding.id
