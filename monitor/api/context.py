"""What the API's handlers share: settings, stores, the resolver; kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from checks import REGISTRY
from checks.base import CheckConfig
from monitor.api.throttle import FailedAuthLimiter
from monitor.cadence import Cadence, cadence_from
from monitor.scope_resolution import DnsResolver, Resolver
from monitor.settings import Settings, check_configs
from monitor.store.access_store import AccessStore
from monitor.store.endpoint_store import EndpointStore
from monitor.store.finding_queries import FindingQueries
from monitor.store.registry import Registry
from monitor.store.scope_requests import ScopeStore


@dataclass(frozen=True, slots=True)
class ApiConfig:
    cadence: Cadence = field(default_factory=lambda: Cadence(3600.0))
    check_names: Sequence[str] = field(default_factory=lambda: tuple(REGISTRY))
    dns_servers: Sequence[str] = ()  # IP or IP:PORT; empty: the system's resolvers
    dns_timeout_s: float = 3.0
    rescan_min_interval: timedelta = timedelta(minutes=5)
    max_body_bytes: int = 64 * 1024
    secure_cookies: bool = False  # set behind TLS: the session cookie then carries Secure
    max_accept_days: int = 366
    auth_max_failures: int = 10  # failed sign-ins per client address within auth_failure_window_s …
    auth_failure_window_s: float = 60.0  # … before the address is refused (429) until the window ends
    # the global check configs, under which agency settings are validated
    check_configs: Mapping[str, CheckConfig] = field(
        default_factory=lambda: {name: check.config_model() for name, check in REGISTRY.items()}
    )


@dataclass(slots=True)
class Services:
    engine: AsyncEngine
    config: ApiConfig
    resolver: Resolver
    access: AccessStore
    registry: Registry
    endpoints: EndpointStore
    findings: FindingQueries
    scopes: ScopeStore
    auth_limiter: FailedAuthLimiter

    @classmethod
    def build(cls, engine: AsyncEngine, config: ApiConfig, resolver: Resolver | None = None) -> Services:
        return cls(
            engine=engine,
            config=config,
            resolver=resolver or DnsResolver(config.dns_servers, config.dns_timeout_s),
            access=AccessStore(engine),
            registry=Registry(engine),
            endpoints=EndpointStore(engine),
            findings=FindingQueries(engine),
            scopes=ScopeStore(engine),
            auth_limiter=FailedAuthLimiter(config.auth_max_failures, config.auth_failure_window_s),
        )


SERVICES = web.AppKey("services", Services)


def api_config(settings: Settings) -> ApiConfig:
    """The API's configuration from the daemon's settings: the same cadence as the CLI; Secure cookies when
    the UI is served over https."""
    return ApiConfig(
        cadence=cadence_from(settings),
        dns_servers=tuple(settings.dns_servers),
        secure_cookies=settings.ui_base_url.startswith("https://"),
        check_configs=check_configs(settings),
    )


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def client_address(request: web.Request) -> str:
    """`from where` for the audit log: the peer address (a proxy in front should be configured to pass it)."""
    return request.remote or "unknown"
