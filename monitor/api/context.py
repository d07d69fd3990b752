"""What the API's handlers share: settings, stores, the resolver; kept on the aiohttp application."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web

from checks import REGISTRY, Registry
from checks.base import CheckConfig
from monitor.api.throttle import FailedAuthLimiter
from monitor.cadence import Cadence, cadence_from
from monitor.scope_resolution import DnsResolver, Resolver
from monitor.settings import Settings, check_configs
from monitor.store.access_store import AccessStore
from monitor.store.endpoint_store import EndpointStore
from monitor.store.finding_queries import FindingQueries
from monitor.store.scope_requests import ScopeStore
from monitor.store.store import Store
from monitor.usecases.discovery import Discovery
from monitor.usecases.registration import Registration, RegistrationRules, SettingsChanged

IPNetwork = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class ApiConfig:
    cadence: Cadence = field(default_factory=lambda: Cadence(3600.0))
    check_names: Sequence[str] = field(default_factory=lambda: tuple(REGISTRY))
    check_registry: Registry = field(default_factory=lambda: REGISTRY)  # the checks' classes: a check's asset kind
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
    store: Store
    config: ApiConfig
    resolver: Resolver
    auth_limiter: FailedAuthLimiter
    on_settings_changed: SettingsChanged | None = None

    @classmethod
    def build(
        cls,
        store: Store,
        config: ApiConfig,
        resolver: Resolver | None = None,
        on_settings_changed: SettingsChanged | None = None,
    ) -> Services:
        return cls(
            store=store,
            config=config,
            resolver=resolver or DnsResolver(config.dns_servers, config.dns_timeout_s),
            auth_limiter=FailedAuthLimiter(config.auth_max_failures, config.auth_failure_window_s, clock=store.clock),
            on_settings_changed=on_settings_changed,
        )

    @property
    def registration(self) -> Registration:
        config = self.config
        rules = RegistrationRules(
            config.cadence, config.check_configs, config.check_names, config.rescan_min_interval, config.check_registry
        )
        return Registration(self.store, self.resolver, rules, self.on_settings_changed)

    @property
    def discovery(self) -> Discovery:
        """The inbox's decisions (confirm, dismiss); the daemon runs the sources."""
        return Discovery(self.store, self.registration)

    @property
    def access(self) -> AccessStore:
        return self.store.access

    @property
    def endpoints(self) -> EndpointStore:
        return self.store.endpoints

    @property
    def findings(self) -> FindingQueries:
        return self.store.findings

    @property
    def scopes(self) -> ScopeStore:
        return self.store.scopes


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
