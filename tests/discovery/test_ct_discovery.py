"""The ct source as the daemon runs it: a loopback RFC 6962 log with real certificates; names inside an agency's
domain scope become that agency's candidates, others produce nothing and are never looked up; the cursor is stored
and a restart resumes from it; a log that shrinks is skipped with its cursor kept."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.discovery.wiring import discovery_from
from monitor.settings import Settings
from monitor.store.audit import Actor
from monitor.store.store import Store
from tests.api.dns_server import Zone, dns_server
from tests.ct_log import CtCa, CtLogServer, running_log

SEED = Actor("seed", "test")


@pytest.fixture
def zone() -> Iterator[tuple[Zone, str]]:
    found = Zone(
        {
            "vpn.lk-a.example": {"A": ["127.0.63.5"]},
            "test.lk-a.example": {"A": ["127.0.63.6"]},
            "portal.lk-b.example": {"A": ["127.0.63.7"]},
            "new.lk-a.example": {"A": ["127.0.63.8"]},
        }
    )
    with dns_server(found) as server:
        yield found, server


async def _agencies(store: Store) -> None:
    for slug in ("lk-a", "lk-b"):
        await store.registry.add_agency(slug, slug.upper(), SEED)
        await store.registry.add_scope(slug, f"{slug}.example", SEED)
        await store.registry.add_scope(slug, "127.0.63.0/24", SEED)


async def test_ct_names_go_to_the_agency_whose_scope_holds_them_and_the_cursor_survives_a_restart(
    engine: AsyncEngine, zone: tuple[Zone, str]
) -> None:
    ca = CtCa()
    entries = [
        ca.entry(["vpn.lk-a.example"]),
        ca.entry(["portal.lk-b.example", "www.other.example.org"], precert=True),
        ca.entry(["mail.stadt-fremd.example"]),  # no agency's scope
        ca.entry(["*.lk-a.example", "test.lk-a.example"]),
    ]
    async with running_log(CtLogServer(entries), host="127.0.63.1") as log:
        settings = Settings(
            ct_logs=[log.url], ct_backlog=1000, dns_servers=[zone[1]], ui_base_url="http://127.0.0.1:8080"
        )
        store = Store(engine)
        await _agencies(store)
        outcomes = await discovery_from(settings, store).read_ct()
        found = {slug: sorted(c.host for c in outcome.new) for slug, outcome in outcomes.items()}
        # *.lk-a.example stands for lk-a.example, which does not resolve: nothing answers there
        assert found == {"lk-a": ["test.lk-a.example", "vpn.lk-a.example"], "lk-b": ["portal.lk-b.example"]}
        assert not {"mail.stadt-fremd.example", "www.other.example.org"} & set(zone[0].asked)
        vpn = next(c for c in outcomes["lk-a"].new if c.host == "vpn.lk-a.example")
        assert vpn.evidence["ct"][0]["index"] == 0 and vpn.evidence["ct"][0]["log"] == log.url
        root = base64.b64encode(log.root_hash(4)).decode()
        cursor = {"log_url": log.url, "next_index": 4, "tree_size": 4, "root_hash": root}
        assert await store.discovery.ct_cursor(log.url) == cursor

        # a restart: a new store and use case on the same database read only what was logged since
        log.append(ca.entry(["new.lk-a.example"]))
        requests_before = len(log.requests)
        restarted = Store(engine)
        outcomes = await discovery_from(settings, restarted).read_ct()
        assert [c.host for c in outcomes["lk-a"].new] == ["new.lk-a.example"] and outcomes["lk-b"].new == []
        asked = [path for path in log.requests[requests_before:] if "get-entries" in path]
        assert asked == ["/ct/v1/get-entries?start=4&end=4"]
        assert (await restarted.discovery.ct_cursor(log.url) or {})["next_index"] == 5

        # the log shrinks: skipped, its cursor kept, the error noted
        log.shrink(2)
        await discovery_from(settings, restarted).read_ct()
        assert (await restarted.discovery.ct_cursor(log.url) or {})["next_index"] == 5
