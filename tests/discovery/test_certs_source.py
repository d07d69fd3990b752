"""The certs source: the names of a certificate the TLS check really saw (a loopback server with a test CA's
certificate) become candidates when they lie inside the agency's scope; a name outside every scope is never looked
up, and nothing is contacted but the stored facts."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import trustme
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from checks.base import CheckContext
from checks.tls import TlsCheck
from checks.tls.models import TlsConfig
from monitor.cadence import Cadence
from monitor.discovery.certs import StoredNames
from monitor.models import CheckStatus, Target
from monitor.runner import execute
from monitor.scope_resolution import DnsResolver
from monitor.store.audit import Actor
from monitor.store.store import Store
from monitor.store.tables import ENDPOINT, LATEST
from monitor.usecases.discovery import Discovery
from monitor.usecases.registration import Registration, RegistrationRules
from tests.api.dns_server import Zone, dns_server

SEED = Actor("seed", "test")
SERVER = "127.0.62.1"


@pytest.fixture
def zone() -> Iterator[tuple[Zone, str]]:
    found = Zone({"app.lk-a.example": {"A": ["127.0.62.5"]}, "lk-a.example": {"A": ["127.0.62.6"]}})
    with dns_server(found) as server:
        yield found, server


async def _tls_details(tmp_path: Any) -> dict[str, Any]:
    """What the TLS check stores after scanning a server whose certificate names four hosts."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("www.lk-a.example", "app.lk-a.example", "*.lk-a.example", "other.example.org").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = await asyncio.start_server(lambda r, w: w.close(), SERVER, 8443, ssl=context)
    try:
        cfg = TlsConfig.model_validate({"ca_file": ca_file, "network_timeout_s": 2, "network_max_retries": 0})
        result = await execute(TlsCheck(), Target("www.lk-a.example", 8443, 1, address=SERVER), cfg, CheckContext())
    finally:
        server.close()
        await server.wait_closed()
    assert result.status == CheckStatus.OK, result.error
    assert result.details is not None
    return result.details.model_dump(mode="json")


async def test_certificate_names_in_scope_become_candidates(
    engine: AsyncEngine, zone: tuple[Zone, str], tmp_path: Any
) -> None:
    store = Store(engine)
    await store.registry.add_agency("lk-a", "Landkreis A", SEED)
    await store.registry.add_scope("lk-a", "lk-a.example", SEED)
    await store.registry.add_scope("lk-a", "127.0.62.0/24", SEED)
    details = await _tls_details(tmp_path)
    async with engine.begin() as conn:
        endpoint_id = (
            await conn.execute(
                insert(ENDPOINT).returning(ENDPOINT.c.id).values(
                    agency_id=(await store.registry.agency("lk-a")).id, host="www.lk-a.example", port=8443,
                    checks=["tls"], intervals={}, labels={}, expected_ports=[], check_settings={},
                    created_at=datetime.now(UTC),
                )
            )
        ).scalar_one()  # fmt: skip
        await conn.execute(
            insert(LATEST).values(
                endpoint_id=endpoint_id, check="tls", status="ok", started_at=datetime.now(UTC), duration_s=1.0,
                details=details, observations=[],
            )
        )  # fmt: skip
    resolver = DnsResolver([zone[1]], timeout_s=2.0)
    configs = {name: check.config_model() for name, check in REGISTRY.items()}
    registration = Registration(store, resolver, RegistrationRules(Cadence(3600.0), configs, ("tls",)))
    discovery = Discovery(store, registration, {"certs": StoredNames(store.discovery, "certs")})

    outcome = await discovery.discover("lk-a", ["certs"])

    assert outcome.sources[0].sightings == 4
    new = {c.host: c for c in outcome.new}
    # www.lk-a.example is registered; *.lk-a.example stands for lk-a.example itself
    assert set(new) == {"app.lk-a.example", "lk-a.example"}
    assert new["lk-a.example"].evidence["certs"][0]["wildcard"] is True
    assert new["app.lk-a.example"].evidence["certs"][0]["seen_on"] == "www.lk-a.example:8443"
    assert dict(outcome.refused) == {"other.example.org": "outside the agency's scope"}
    assert "other.example.org" not in zone[0].asked
    async with engine.connect() as conn:
        assert (await conn.execute(select(ENDPOINT.c.host))).scalars().all() == ["www.lk-a.example"]
