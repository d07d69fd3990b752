"""What the API's handlers share: settings, stores, the resolver; kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

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

IPNetwork = IPv4Network | IPv6Network


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
    auth_max_failures: int = 10  # failed sign-ins per client address or token within auth_failure_window_s …
    auth_failure_window_s: float = 60.0  # … before its failures are answered 429 until the window ends
    # peers whose X-Forwarded-For names the client (the reverse proxies in front); empty: the peer is the client
    trusted_proxies: Sequence[IPNetwork] = ()
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
        trusted_proxies=tuple(ip_network(cidr, strict=False) for cidr in settings.trusted_proxies),
        check_configs=check_configs(settings),
    )


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


def client_address(request: web.Request) -> str:
    """The client: the peer address, or, when the peer is a trusted proxy, the address that proxy (and any
    trusted proxy before it) says it forwarded for: the right-most `X-Forwarded-For` entry that is not a trusted
    proxy. A client cannot choose its address by sending the header itself: an untrusted peer's header is ignored,
    and a trusted proxy appends what it saw to whatever the client sent."""
    peer = request.remote or "unknown"
    proxies = services(request).config.trusted_proxies
    if not proxies or not _within(peer, proxies):
        return peer
    forwarded = [hop.strip() for header in request.headers.getall("X-Forwarded-For", []) for hop in header.split(",")]
    for hop in reversed(forwarded):
        if not _within(hop, proxies):
            return hop if _address(hop) is not None else peer
    return peer


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _within(text: str, networks: Sequence[IPNetwork]) -> bool:
    address = _address(text)
    return address is not None and any(address in network for network in networks)
