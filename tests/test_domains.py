"""Domains as assets: stored beside endpoints, scheduled and recorded by the same machinery, named by their name."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks.base import Check
from monitor.alert_format import cloudevent, intelmq_event
from monitor.cadence import Cadence
from monitor.errors import NotFound
from monitor.findings import Policy
from monitor.models import DOMAIN_PORT, Target, asset_name
from monitor.scheduler import OUT_OF_SCOPE, Limits, Scheduler
from monitor.scope import IpAddress
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointStore
from monitor.store.outbox_store import OutboxStore
from monitor.store.registry import Registry
from monitor.store.tables import AUDIT_LOG, CHECK_STATE, FINDING, SCAN_RUN
from monitor.store.work import WorkQueue
from monitor.usecases.recording import Recorder
from tests.fake_checks import FAKE_REGISTRY, DomainFindingCheck, FakeConfig
from tests.integration.test_alerts import data_schema

ACTOR = Actor("test")
CADENCE = Cadence(default_interval_s=3600, jitter=0.0, rng=random.Random(1))
AGENCY = "lk-domains"


class NoLookups:
    """A resolver that fails the test when asked: a domain's checks ask DNS themselves, the scheduler never."""

    async def addresses(self, host: str) -> list[IpAddress]:
        raise AssertionError(f"the scheduler resolved {host}")

    async def txt(self, name: str) -> list[str]:
        raise AssertionError(f"the scheduler asked TXT of {name}")


async def _seed(engine: AsyncEngine, assets: list[tuple[str, int, str]]) -> list[int]:
    registry = Registry(engine)
    await registry.add_agency(AGENCY, "Landkreis Domains", ACTOR)
    await registry.add_scope(AGENCY, "lk-domains.test", ACTOR)
    await registry.add_scope(AGENCY, "127.0.0.0/8", ACTOR)
    ids = [
        (await registry.add_endpoint(AGENCY, host, port, [check], CADENCE, ACTOR)).id for host, port, check in assets
    ]
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    return ids


def _scheduler(engine: AsyncEngine) -> Scheduler:
    queue = WorkQueue(engine, "test-1", CADENCE, lease_s=60)
    checks: dict[str, Check[Any, Any]] = {name: cls() for name, cls in FAKE_REGISTRY.items()}
    configs = dict.fromkeys(FAKE_REGISTRY, FakeConfig(timeout_s=1.0))
    recorder = Recorder(queue, Policy(unreachable_after=2))
    return Scheduler(queue, checks, configs, Limits(), recorder=recorder, resolver=NoLookups())


async def _run_until_runs(engine: AsyncEngine, sched: Scheduler, runs: int) -> list[Any]:
    stop = asyncio.Event()
    task = asyncio.create_task(sched.run(stop))
    try:
        async with asyncio.timeout(10):
            while True:
                async with engine.connect() as conn:
                    rows = (await conn.execute(select(SCAN_RUN))).all()
                if len(rows) >= runs:
                    return list(rows)
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def test_a_domain_is_named_by_its_name_and_an_endpoint_by_host_and_port() -> None:
    assert asset_name("www.lk-domains.test", DOMAIN_PORT) == "www.lk-domains.test"
    assert asset_name("www.lk-domains.test", 443) == "www.lk-domains.test:443"
    assert asset_name("::1", 443) == "[::1]:443"
    assert Target("lk-domains.test", DOMAIN_PORT).kind == "domain"
    assert Target("lk-domains.test", 443).kind == "endpoint"


async def test_the_store_keeps_the_kinds_apart(engine: AsyncEngine) -> None:
    domain_id, endpoint_id = await _seed(
        engine, [("lk-domains.test", DOMAIN_PORT, "domainfinding"), ("127.0.0.2", 443, "noop")]
    )
    registry = Registry(engine)
    assert [d.name for d in await registry.list_endpoints(AGENCY, "domain")] == ["lk-domains.test"]
    assert [e.name for e in await registry.list_endpoints(AGENCY)] == ["127.0.0.2:443"]
    store = EndpointStore(engine)
    assert [v.id for v in await store.page(None, kind="domain")] == [domain_id]
    assert [v.id for v in await store.page(None)] == [endpoint_id]
    assert (await store.get(domain_id, None, "domain")).host == "lk-domains.test"
    # an id of the other kind is not found, whichever way it is asked for
    with pytest.raises(NotFound, match=f"no endpoint with id {domain_id}"):
        await store.get(domain_id, None)
    with pytest.raises(NotFound, match=f"no domain with id {endpoint_id}"):
        await store.get(endpoint_id, None, "domain")
    with pytest.raises(NotFound):
        await store.remove(domain_id, None, ACTOR)  # DELETE /endpoints/{a domain's id}
    await store.remove(domain_id, None, ACTOR, "domain")
    async with engine.connect() as conn:
        audit = (await conn.execute(select(AUDIT_LOG.c.action, AUDIT_LOG.c.detail).order_by(AUDIT_LOG.c.id))).all()
    assert ("domain.add", {"name": "lk-domains.test"}) in [(row.action, row.detail) for row in audit]
    assert audit[-1].action == "domain.remove"


async def test_the_scheduler_runs_a_domain_check_on_the_name_without_resolving_it(engine: AsyncEngine) -> None:
    DomainFindingCheck.targets.clear()
    (domain_id,) = await _seed(engine, [("lk-domains.test", DOMAIN_PORT, "domainfinding")])
    runs = await _run_until_runs(engine, _scheduler(engine), 1)
    assert [(run.status, run.endpoint_id) for run in runs] == [("ok", domain_id)]
    (target,) = DomainFindingCheck.targets
    assert (target.host, target.port, target.address, target.endpoint_id) == ("lk-domains.test", 0, None, domain_id)
    async with engine.connect() as conn:
        finding = (await conn.execute(select(FINDING))).one()
    assert (finding.endpoint_id, finding.key) == (domain_id, "fake.noticed")
    # the alert names the domain: CloudEvents subject, IntelMQ source.fqdn (and no port)
    (event,) = await OutboxStore(engine).pending(10)
    assert event.data["endpoint"] == "lk-domains.test" and event.data["asset_kind"] == "domain"
    assert event.data["port"] is None
    jsonschema.validate(event.data, data_schema())  # the schema docs/alerts.md publishes
    assert event.data["link"].endswith(f"/findings/{finding.id}")
    assert cloudevent(event, "posture-monitor")["subject"] == f"{AGENCY}/lk-domains.test"
    intelmq = intelmq_event(event, "posture-monitor")
    assert intelmq["source.fqdn"] == "lk-domains.test" and "source.port" not in intelmq


async def test_a_check_of_the_wrong_kind_or_outside_the_scope_is_refused(engine: AsyncEngine) -> None:
    DomainFindingCheck.targets.clear()
    wrong_kind, outside = await _seed(
        engine, [("lk-domains.test", DOMAIN_PORT, "noop"), ("elsewhere.test", DOMAIN_PORT, "domainfinding")]
    )
    runs = {run.endpoint_id: run for run in await _run_until_runs(engine, _scheduler(engine), 2)}
    assert (runs[wrong_kind].status, runs[wrong_kind].error) == (
        "misconfigured",
        "noop runs on endpoints, not on domains",
    )
    assert (runs[outside].status, runs[outside].error) == ("misconfigured", OUT_OF_SCOPE)
    assert DomainFindingCheck.targets == []  # nothing ran on the name outside the scope
