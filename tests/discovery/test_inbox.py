"""The discovery use case: sightings become candidates only inside the agency's scope (registration's rule, with
real DNS answers from a loopback server); the inbox keeps them, alerts once, and confirms, dismisses or registers them
at once. The sources themselves are tested on their own; here they are the sightings they return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from monitor.cadence import Cadence
from monitor.clock import FakeClock
from monitor.discovery.models import AgencyAssets, Sighting
from monitor.errors import InvalidInput, NotFound
from monitor.models import Severity
from monitor.scope_resolution import DnsResolver
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.store.tables import AUDIT_LOG, ENDPOINT, OUTBOX
from monitor.usecases.discovery import Discovery
from monitor.usecases.registration import EndpointRequest, Registration, RegistrationRules
from tests.api.dns_server import Zone, dns_server

STAFF = Actor("staff", "test")
CONFIGS = {name: check.config_model() for name, check in REGISTRY.items()}
NET = "127.0.60"  # this file's loopback addresses


@pytest.fixture
def zone() -> Iterator[tuple[Zone, str]]:
    records = {
        "vpn.lk-a.example": {"A": [f"{NET}.5"]},
        "app.lk-a.example": {"A": [f"{NET}.10"]},
        "idle.lk-a.example": {"A": [f"{NET}.11"]},
        "www.lk-a.example": {"A": [f"{NET}.2"]},
        # a non-public address outside the agency's networks: a dangling or hijacked name, never a candidate
        "test.lk-a.example": {"A": ["10.9.9.9"]},
        "elsewhere.example.org": {"A": [f"{NET}.6"]},
    }
    found = Zone(records)
    with dns_server(found) as server:
        yield found, server


class Sources:
    """Per-agency sources that return what the test says they saw."""

    def __init__(self) -> None:
        self.seen: dict[str, list[Sighting]] = {}

    def source(self, name: str) -> Any:
        async def run(agency: AgencyAssets) -> list[Sighting]:
            return list(self.seen.get(name, []))

        return run


@pytest.fixture
async def world(engine: AsyncEngine, zone: tuple[Zone, str]) -> AsyncIterator[tuple[Discovery, Sources, Store]]:
    store = Store(engine, FakeClock())
    for slug in ("lk-a", "lk-b"):
        await store.registry.add_agency(slug, slug.upper(), STAFF)
    await store.registry.add_scope("lk-a", "lk-a.example", STAFF)
    await store.registry.add_scope("lk-a", f"{NET}.0/24", STAFF)
    await store.registry.add_scope("lk-b", "lk-b.example", STAFF)
    resolver = DnsResolver([zone[1]], timeout_s=2.0)
    registration = Registration(
        store, resolver, RegistrationRules(Cadence(3600.0), CONFIGS, ("reachability", "dnssec"))
    )
    await registration.register_endpoint("lk-a", EndpointRequest("www.lk-a.example", 443, ["reachability"]), STAFF)
    sources = Sources()
    discovery = Discovery(
        store,
        registration,
        {name: sources.source(name) for name in ("dns", "sweep", "certs")},
        ui_base_url="https://posture.example",
    )
    yield discovery, sources, store


def _seen(host: str, port: int | None, source: str = "dns", **evidence: Any) -> Sighting:
    return Sighting(host, port, source, evidence)  # type: ignore[arg-type]


async def test_only_what_the_scope_admits_becomes_a_candidate(
    world: tuple[Discovery, Sources, Store], zone: tuple[Zone, str]
) -> None:
    discovery, sources, store = world
    sources.seen["dns"] = [
        _seen("vpn.lk-a.example", None, record="A"),
        _seen("test.lk-a.example", None, record="A"),  # resolves to 10.9.9.9: outside the networks
        _seen("elsewhere.example.org", None, record="MX"),  # outside the domain scope: never even looked up
        _seen("www.lk-a.example", None, record="A"),  # registered already
        _seen("gone.lk-a.example", None, record="A"),  # does not resolve
    ]
    sources.seen["sweep"] = [
        _seen(f"{NET}.7", 3389, "sweep", service="ms-wbt-server"),
        _seen(f"{NET}.7", 443, "sweep", service="https"),
        _seen("127.0.61.7", 22, "sweep", service="ssh"),  # outside the CIDR scope
    ]
    outcome = await discovery.discover("lk-a", ["dns", "sweep"])
    candidates = {(c.host, c.port): c for c in await store.discovery.candidates(None)}
    assert set(candidates) == {("vpn.lk-a.example", None), (f"{NET}.7", 3389), (f"{NET}.7", 443)}
    assert candidates[(f"{NET}.7", 3389)].exposure == Severity.HIGH  # RDP: the ports catalogue's class
    assert candidates[(f"{NET}.7", 443)].exposure == Severity.LOW
    assert candidates[("vpn.lk-a.example", None)].sources == ("dns",)
    refused = dict(outcome.refused)
    assert set(refused) == {"test.lk-a.example", "elsewhere.example.org", "gone.lk-a.example", "127.0.61.7"}
    assert "10.9.9.9" in refused["test.lk-a.example"]
    assert "elsewhere.example.org" not in zone[0].asked
    assert all(c.agency == "lk-a" for c in candidates.values())
    assert await store.discovery.candidates((await store.registry.agency("lk-b")).id) == []


async def test_a_new_candidate_is_alerted_once_and_a_dismissed_one_stays_dismissed(
    world: tuple[Discovery, Sources, Store], engine: AsyncEngine
) -> None:
    discovery, sources, store = world
    sources.seen["sweep"] = [_seen(f"{NET}.7", 5432, "sweep", service="postgresql")]
    sources.seen["certs"] = [_seen("vpn.lk-a.example", None, "certs", subject="CN=vpn.lk-a.example")]
    first = await discovery.discover("lk-a", ["sweep", "certs"])
    assert len(first.new) == 2
    again = await discovery.discover("lk-a", ["sweep", "certs"])
    assert again.new == []
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OUTBOX.c.type, OUTBOX.c.severity, OUTBOX.c.data))).all()
    assert sorted((row.type, row.severity) for row in rows) == [("asset.discovered", 1), ("asset.discovered", 3)]
    database = next(row.data for row in rows if row.severity == 3)
    assert database["host"] == f"{NET}.7" and database["port"] == 5432
    assert database["title"] == f"Neues System entdeckt: {NET}.7:5432"  # the agency's alert language
    assert database["link"].startswith("https://posture.example/discoveries/")

    postgres = next(c for c in first.new if c.port == 5432)
    dismissed = await discovery.dismiss(postgres.id, None, "  Testsystem des Dienstleisters ", STAFF)
    assert dismissed.state == "dismissed" and dismissed.reason == "Testsystem des Dienstleisters"
    await discovery.discover("lk-a", ["sweep"])
    assert (await store.discovery.get(postgres.id, None)).state == "dismissed"
    with pytest.raises(InvalidInput, match="reason"):
        await discovery.dismiss(postgres.id, None, "   ", STAFF)
    async with engine.connect() as conn:
        actions = (await conn.execute(select(AUDIT_LOG.c.action))).scalars().all()
    assert "discovery.dismissed" in actions


async def test_confirm_registers_through_registration(world: tuple[Discovery, Sources, Store]) -> None:
    discovery, sources, store = world
    sources.seen["dns"] = [_seen("vpn.lk-a.example", None)]
    sources.seen["sweep"] = [_seen(f"{NET}.7", 8443, "sweep")]
    await discovery.discover("lk-a", ["dns", "sweep"])
    by_port = {c.port: c for c in await store.discovery.candidates(None)}
    lk_b = (await store.registry.agency("lk-b")).id
    with pytest.raises(NotFound):  # another agency's candidate does not exist for lk-b
        await discovery.confirm(by_port[8443].id, lk_b, STAFF)
    view, endpoint = await discovery.confirm(by_port[8443].id, None, STAFF)
    assert (endpoint.host, endpoint.port) == (f"{NET}.7", 8443)
    assert view.state == "registered" and view.asset_id == endpoint.id
    with pytest.raises(InvalidInput, match="registered already"):
        await discovery.confirm(by_port[8443].id, None, STAFF)
    with pytest.raises(InvalidInput, match="without a service"):
        await discovery.confirm(by_port[None].id, None, STAFF)
    view, domain = await discovery.confirm(by_port[None].id, None, STAFF, "domain")
    assert domain.host == "vpn.lk-a.example" and domain.port == 0
    # registered now: the same sightings make nothing new
    assert (await discovery.discover("lk-a", ["dns", "sweep"])).new == []


async def test_auto_register_registers_services_and_names_that_answer_on_443(
    world: tuple[Discovery, Sources, Store], engine: AsyncEngine
) -> None:
    discovery, sources, store = world
    await store.discovery.set_auto_register("lk-a", True, STAFF)
    server = await asyncio.start_server(lambda r, w: w.close(), f"{NET}.10", 443)
    try:
        sources.seen["dns"] = [_seen("app.lk-a.example", None), _seen("idle.lk-a.example", None)]
        sources.seen["sweep"] = [_seen(f"{NET}.8", 22, "sweep")]
        outcome = await discovery.discover("lk-a", ["dns", "sweep"])
    finally:
        server.close()
        await server.wait_closed()
    assert sorted(c.display for c in outcome.registered) == [f"{NET}.8:22", "app.lk-a.example"]
    async with engine.connect() as conn:
        hosts = set((await conn.execute(select(ENDPOINT.c.host, ENDPOINT.c.port))).all())
    assert {("app.lk-a.example", 443), (f"{NET}.8", 22)} <= hosts
    waiting = [c.host for c in await store.discovery.candidates(None, "candidate")]
    assert waiting == ["idle.lk-a.example"]  # nothing answers on its 443: a person decides


async def test_a_failing_source_is_reported_and_the_others_still_run(world: tuple[Discovery, Sources, Store]) -> None:
    discovery, sources, _store = world

    async def broken(agency: AgencyAssets) -> list[Sighting]:
        raise RuntimeError("nmap exited with status 1: boom")

    discovery.sources = {**discovery.sources, "sweep": broken}
    sources.seen["dns"] = [_seen("vpn.lk-a.example", None)]
    outcome = await discovery.discover("lk-a", ["sweep", "dns"])
    assert [(s.source, s.status) for s in outcome.sources] == [("sweep", "failed"), ("dns", "ok")]
    assert outcome.sources[0].error == "nmap exited with status 1: boom"
    assert [c.host for c in outcome.new] == ["vpn.lk-a.example"]


async def test_the_sources_run_on_their_schedule_and_the_first_sweeps_are_spread(
    world: tuple[Discovery, Sources, Store],
) -> None:
    discovery, sources, store = world
    clock = store.clock
    assert isinstance(clock, FakeClock)
    runs: list[tuple[str, str]] = []

    def counting(name: str) -> Any:
        async def run(agency: AgencyAssets) -> list[Sighting]:
            runs.append((agency.slug, name))
            return list(sources.seen.get(name, []))

        return run

    discovery.sources = {name: counting(name) for name in ("dns", "sweep", "certs")}
    sources.seen["dns"] = [_seen("vpn.lk-a.example", None)]
    week, day = 7 * 86400.0, 86400.0
    intervals = {"dns": day, "sweep": week, "certs": 6 * 3600.0, "ct": 3600.0}
    assert await discovery.run_due(["dns", "sweep", "certs"], intervals) == 1  # vpn.lk-a.example: new
    assert sorted(runs) == [("lk-a", "certs"), ("lk-a", "dns"), ("lk-b", "certs"), ("lk-b", "dns")]
    runs.clear()
    assert await discovery.run_due(["dns", "sweep", "certs"], intervals) == 0
    assert runs == []  # nothing due again yet
    clock.advance(day + 1)
    await discovery.run_due(["dns", "sweep", "certs"], intervals)
    assert ("lk-a", "dns") in runs and ("lk-b", "dns") in runs
    sweeps = set()
    for _ in range(7):  # within a week, each agency's first sweep has come, at different times
        runs.clear()
        clock.advance(day)
        await discovery.run_due(["sweep"], intervals)
        sweeps.update((slug, clock.now()) for slug, name in runs if name == "sweep")
    assert sorted(slug for slug, _ in sweeps) == ["lk-a", "lk-b"]
    assert len({when for _, when in sweeps}) == 2
    status = {row["source"]: row for row in await store.discovery.runs("lk-a")}
    assert status["dns"]["last_status"] == "ok" and status["dns"]["last_found"] == 0
