"""Fixtures of the API tests: a real aiohttp server on 127.0.0.1 over a real SQLite database, seeded agencies."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from monitor.api.app import build_app
from monitor.api.context import ApiConfig
from monitor.scope import IpAddress
from monitor.scope_resolution import HostUnresolvable
from monitor.store.access_store import AccessStore
from monitor.store.audit import Actor
from monitor.store.registry import Registry
from monitor.store.store import Store
from monitor.store.tables import FINDING

SEED = Actor("test-seed", "test")


@dataclass
class FakeResolver:
    """DNS as the test says it is: names to addresses, names to TXT records; anything else does not exist."""

    names: dict[str, list[str]] = field(default_factory=dict)
    txts: dict[str, list[str]] = field(default_factory=dict)

    async def addresses(self, host: str) -> list[IpAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in self.names:
            raise HostUnresolvable(host, "the name does not exist (NXDOMAIN)")
        return [ipaddress.ip_address(a) for a in self.names[host]]

    async def txt(self, name: str) -> list[str]:
        return self.txts.get(name, [])


@dataclass
class Tokens:
    admin: str
    analyst: str
    agency_a: str
    agency_b: str


class Api:
    """The test client with a bearer token per call."""

    def __init__(self, client: TestClient[Any, Any], tokens: Tokens, engine: AsyncEngine) -> None:
        self.client = client
        self.tokens = tokens
        self.engine = engine

    async def call(self, method: str, path: str, token: str | None, json: Any = None, **kwargs: Any) -> tuple[int, Any]:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.client.request(method, path, json=json, headers=headers, **kwargs) as response:
            return response.status, await _body(response)


async def _body(response: ClientResponse) -> Any:
    if response.content_type == "application/json":
        return await response.json()
    return await response.text()


async def seed(engine: AsyncEngine) -> Tokens:
    registry, access = Registry(engine), AccessStore(engine)
    await registry.add_agency("lk-a", "Landkreis A", SEED)
    await registry.add_agency("lk-b", "Landkreis B", SEED)
    await registry.add_scope("lk-a", "lk-a.example", SEED)
    await registry.add_scope("lk-a", "127.0.0.0/8", SEED)  # loopback, on purpose: the tests' servers live there
    await registry.add_scope("lk-b", "lk-b.example", SEED)
    return Tokens(
        admin=(await access.create_token("admin", None, "cert", SEED)).token,
        analyst=(await access.create_token("analyst", None, None, SEED)).token,
        agency_a=(await access.create_token("agency", "lk-a", "staff a", SEED)).token,
        agency_b=(await access.create_token("agency", "lk-b", "staff b", SEED)).token,
    )


async def add_finding(engine: AsyncEngine, endpoint_id: int, **values: Any) -> int:
    now = datetime.now(UTC)
    row = {
        "endpoint_id": endpoint_id,
        "check": "reachability",
        "key": "tls.cert.expired",
        "severity": 3,
        "title": "The certificate has expired",
        "detail": {"subject": "CN=www.lk-a.example"},
        "remediation": "Renew the certificate.",
        "state": "open",
        "kev": False,
        "first_seen": now - timedelta(days=1),
        "last_seen": now,
        "transitions": [],
        "overdue_notified": False,
        "flapping": False,
    } | values
    async with engine.begin() as conn:
        return int((await conn.execute(insert(FINDING).values(row).returning(FINDING.c.id))).scalar_one())


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver(
        names={
            "www.lk-a.example": ["81.169.0.10"],
            "intranet.lk-a.example": ["10.0.0.5"],
            "local.lk-a.example": ["127.0.0.9"],
            "www.lk-b.example": ["81.169.0.20"],
        }
    )


@pytest.fixture
async def api(engine: AsyncEngine, resolver: FakeResolver) -> AsyncIterator[Api]:
    tokens = await seed(engine)
    config = ApiConfig(check_names=("reachability",), rescan_min_interval=timedelta(minutes=5))
    server = TestServer(build_app(Store(engine), config, resolver), host="127.0.0.1")
    async with TestClient(server) as client:
        yield Api(client, tokens, engine)
