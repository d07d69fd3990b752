"""Agency settings reach the TLS check through the daemon's path: the store's claim, the scheduler, the real check.

An agency with its own PKI (a private test CA; the server sends only its leaf): without the agency's CA bundle the
leaf's issuer is unknown (an incomplete chain); with it, trusted. The agency's compliance profile decides which
compliance finding is reported.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from checks.base import Check
from checks.tls import TlsCheck, TlsConfig
from monitor.cadence import Cadence
from monitor.scheduler import Limits, Scheduler
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.store import Store
from monitor.store.tables import CHECK_STATE, FINDING, SCAN_RUN
from monitor.store.work import WorkQueue
from monitor.usecases.check_settings import patch_check_settings, stored_check_settings
from monitor.usecases.recording import Recorder
from monitor.usecases.registration import EndpointRequest, Registration, RegistrationRules
from monitor.usecases.rejudging import Rejudging
from tests.api.conftest import FakeResolver
from tests.servers import answer_http

HOST = "127.0.0.41"
ACTOR = Actor("test")
CONFIGS = {name: check.config_model() for name, check in REGISTRY.items()}


@pytest.fixture
async def agency_server(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    """A TLS server of an agency whose certificate comes from the agency's own CA; that CA's root as PEM."""
    authority = trustme.CA(organization_name="Land Test PKI")
    ca_file = tmp_path / "land-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(HOST).configure_cert(context)
    server = await asyncio.start_server(answer_http, HOST, 0, ssl=context)
    yield server.sockets[0].getsockname()[1], ca_file
    server.close()
    await server.wait_closed()


async def scan_all_due(engine: AsyncEngine, expected: int) -> None:
    """Make every check due now and let the real scheduler run them until `expected` results are recorded."""
    async with engine.begin() as conn:
        await conn.execute(update(CHECK_STATE).values(next_due=datetime.now(UTC) - timedelta(seconds=1)))
    queue = WorkQueue(engine, "test", Cadence(86_400, rng=random.Random(1)), lease_s=600)
    checks: dict[str, Check[Any, Any]] = {"tls": TlsCheck()}
    scheduler = Scheduler(queue, checks, {"tls": TlsConfig()}, Limits(concurrency=4), resolver=FakeResolver())
    stop = asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    async with asyncio.timeout(90):
        while scheduler.recorded < expected:
            await asyncio.sleep(0.05)
    stop.set()
    await task


async def open_keys(engine: AsyncEngine, endpoint_id: int) -> set[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(FINDING.c.key).where(FINDING.c.endpoint_id == endpoint_id, FINDING.c.state == "open")
        )
        return {row.key for row in rows}


async def set_agency(registry: Registry, slug: str, patch: dict[str, Any]) -> None:
    await registry.change_agency(
        slug, ACTOR, lambda current: stored_check_settings(CONFIGS, patch_check_settings(current, patch))
    )


async def test_the_agency_ca_bundle_and_profile_reach_the_check_through_the_scheduler(
    engine: AsyncEngine, agency_server: tuple[int, Path]
) -> None:
    port, ca_file = agency_server
    registry = Registry(engine)
    for slug in ("land-a", "land-b"):  # the same server, registered by two agencies; only land-a has the PKI
        await registry.add_agency(slug, slug.title(), ACTOR)
        await registry.add_scope(slug, "127.0.0.0/8", ACTOR)
    cadence = Cadence(86_400)
    ours = await registry.add_endpoint("land-a", HOST, port, ["tls"], cadence, ACTOR)
    theirs = await registry.add_endpoint("land-b", HOST, port, ["tls"], cadence, ACTOR)

    await scan_all_due(engine, 2)
    for endpoint in (ours, theirs):  # global settings only: the private root is unknown, BSI is the default
        keys = await open_keys(engine, endpoint.id)
        assert {"tls.cert.incomplete_chain", "tls.compliance.bsi_tr_02102_2"} <= keys
        assert "tls.compliance.mozilla_intermediate" not in keys

    await set_agency(registry, "land-a", {"tls": {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"]}})
    await scan_all_due(engine, 2)
    ours_now = await open_keys(engine, ours.id)
    assert "tls.cert.incomplete_chain" not in ours_now  # trusted through the agency's bundle
    assert "tls.compliance.mozilla_intermediate" in ours_now  # the agency's profile…
    assert "tls.compliance.bsi_tr_02102_2" not in ours_now  # …instead of the default
    theirs_now = await open_keys(engine, theirs.id)
    assert {"tls.cert.incomplete_chain", "tls.compliance.bsi_tr_02102_2"} <= theirs_now  # land-b is unchanged


async def test_an_endpoint_setting_wins_over_its_agency(engine: AsyncEngine, agency_server: tuple[int, Path]) -> None:
    port, ca_file = agency_server
    registry = Registry(engine)
    await registry.add_agency("land-a", "Land A", ACTOR)
    await registry.add_scope("land-a", "127.0.0.0/8", ACTOR)
    await set_agency(registry, "land-a", {"tls": {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"]}})
    endpoint = await registry.add_endpoint(
        "land-a", HOST, port, ["tls"], Cadence(86_400), ACTOR, check_settings={"tls": {"profiles": ["bsi_tr_02102_2"]}}
    )
    await scan_all_due(engine, 1)
    keys = await open_keys(engine, endpoint.id)
    assert "tls.cert.incomplete_chain" not in keys  # the agency's CA bundle still applies
    assert "tls.compliance.bsi_tr_02102_2" in keys and "tls.compliance.mozilla_intermediate" not in keys


async def test_an_agency_profile_change_rejudges_the_stored_facts_without_a_scan(
    engine: AsyncEngine, agency_server: tuple[int, Path]
) -> None:
    port, _ = agency_server
    store = Store(engine)
    cadence = Cadence(86_400)
    rejudging = Rejudging(store, Recorder(store.work_queue("test", cadence, 600)), {"tls": TlsCheck()}, CONFIGS)
    rules = RegistrationRules(cadence, CONFIGS, ("tls",))
    registration = Registration(store, FakeResolver(), rules, rejudging.agency_settings_changed)
    await registration.add_agency("land-a", "Land A", ACTOR)
    await registration.add_scope("land-a", "127.0.0.0/8", ACTOR)
    endpoint = await registration.register_endpoint("land-a", EndpointRequest(HOST, port, ["tls"]), ACTOR)
    await scan_all_due(engine, 1)
    keys = await open_keys(engine, endpoint.id)
    assert "tls.compliance.bsi_tr_02102_2" in keys and "tls.compliance.mozilla_intermediate" not in keys
    async with engine.connect() as conn:
        runs = (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one()

    await registration.change_agency_settings("land-a", {"tls": {"profiles": ["mozilla_intermediate"]}}, ACTOR)

    keys = await open_keys(engine, endpoint.id)  # at once: no check is due for a day
    assert "tls.compliance.mozilla_intermediate" in keys and "tls.compliance.bsi_tr_02102_2" not in keys
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(SCAN_RUN))).scalar_one() == runs  # no scan
