"""Check settings work for domains as for endpoints: the agency's and the domain's own settings reach the dnssec
check through the scheduler, and an agency's change re-judges the stored facts without asking DNS again."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from checks.base import DNS_NAMESERVERS, Check
from monitor.cadence import Cadence
from monitor.errors import InvalidInput
from monitor.scheduler import Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE, FINDING, SCAN_RUN
from monitor.usecases.recording import Recorder
from monitor.usecases.registration import DomainRequest, Registration, RegistrationRules
from monitor.usecases.rejudging import Rejudging
from tests.api.conftest import FakeResolver
from tests.dns_lab import DnsLab, Zone, dns_lab

ACTOR = Actor("test")
CONFIGS = {name: check.config_model() for name, check in REGISTRY.items()}
CADENCE = Cadence(86_400, rng=random.Random(1))


@pytest.fixture(scope="module")
def lab() -> Any:
    with dns_lab([Zone("monthly")]) as running:  # signatures valid for 30 days from now
        yield running


async def _scan_all_due(engine: AsyncEngine, lab: DnsLab, expected: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=func.now()))
    store = Store(engine)
    queue = store.work_queue("test", CADENCE, 600)
    checks: dict[str, Check[Any, Any]] = {"dnssec": REGISTRY["dnssec"]()}
    resources = {DNS_NAMESERVERS: (lab.resolver,)}
    scheduler = Scheduler(queue, checks, CONFIGS, Limits(concurrency=4), resources=resources)
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    async with asyncio.timeout(30):
        while scheduler.recorded < expected:
            await asyncio.sleep(0.05)
    stop.set()
    await task


async def _open(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(FINDING.c.key, FINDING.c.severity).where(FINDING.c.state == "open"))
        return {row.key: row.severity for row in rows}


async def test_agency_and_domain_settings_reach_the_check_and_a_change_rejudges_without_a_query(
    engine: AsyncEngine, lab: DnsLab
) -> None:
    store = Store(engine)
    recorder = Recorder(store.work_queue("test", CADENCE, 600))
    rejudging = Rejudging(store, recorder, {"dnssec": REGISTRY["dnssec"]()}, CONFIGS)
    rules = RegistrationRules(CADENCE, CONFIGS, tuple(REGISTRY))
    registration = Registration(store, FakeResolver(), rules, rejudging.agency_settings_changed)
    await registration.add_agency("lk-dns", "Landkreis DNS", ACTOR)
    await registration.add_scope("lk-dns", "dnssec.test", ACTOR)
    with pytest.raises(InvalidInput, match="expiry_warning_days"):  # refused when written, never at scan time
        await registration.register_domain(
            "lk-dns",
            DomainRequest(lab.domain("monthly"), check_settings={"dnssec": {"expiry_warning_days": -1}}),
            ACTOR,
        )
    await registration.register_domain("lk-dns", DomainRequest(lab.domain("monthly"), checks=("dnssec",)), ACTOR)
    await _scan_all_due(engine, lab, 1)
    assert await _open(engine) == {}  # 30 days left: nothing within the default 7 days

    # the agency warns 40 days ahead: judged again at once from the stored signatures, without a query
    await registration.change_agency_settings("lk-dns", {"dnssec": {"expiry_warning_days": 40}}, ACTOR)
    assert "dns.dnssec.signature_expiring" in await _open(engine)
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one() == 1

    await registration.change_agency_settings("lk-dns", {"dnssec": None}, ACTOR)
    assert await _open(engine) == {}
