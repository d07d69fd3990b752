"""Registration: agencies, their scope and check settings, their assets (endpoints and domains) and re-scans. One
implementation of each rule (validation, the scope with the addresses a name resolves to now, labels, audit), called
by the CLI, the API, the web UI and the demo."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from checks import REGISTRY, Registry, on_by_default
from checks.base import CheckConfig
from monitor.cadence import Cadence, cadence_from
from monitor.durations import MIN_INTERVAL_S, parse_duration
from monitor.errors import InvalidInput, OutOfScope
from monitor.models import DOMAIN_PORT, AssetKind, Language, parse_language
from monitor.scope import ScopeEntry, in_scope, normalise_host, parse_ip, parse_port
from monitor.scope_resolution import DnsResolver, HostUnresolvable, Resolver, ScopeViolation, check_addresses
from monitor.settings import Settings, check_configs
from monitor.store.audit import Actor
from monitor.store.endpoint_store import EndpointView
from monitor.store.registry import AgencyRecord
from monitor.store.store import Store
from monitor.usecases.check_settings import endpoint_config, patch_check_settings, stored_check_settings

MAX_LABEL_KEY = 64
MAX_LABEL_VALUE = 200


@dataclass(frozen=True, slots=True)
class RegistrationRules:
    cadence: Cadence
    check_configs: Mapping[str, CheckConfig]  # the global configs, under which stored settings are validated
    check_names: Sequence[str]  # the checks an asset may be registered for, of both kinds
    rescan_min_interval: timedelta = timedelta(minutes=5)
    registry: Registry = field(default_factory=lambda: REGISTRY)  # where the kinds of check_names are looked up

    def names_for(self, kind: AssetKind) -> list[str]:
        """The checks that run on assets of `kind` (a check declares its kind: `Check.asset_kind`)."""
        return [name for name in self.check_names if check_kind(name, self.registry) == kind]


def check_kind(name: str, registry: Registry = REGISTRY) -> AssetKind:
    check = registry.get(name)
    return "endpoint" if check is None else check.asset_kind


@dataclass(frozen=True, slots=True)
class EndpointRequest:
    host: str  # as the user typed it
    port: int
    checks: Sequence[str] | None = None  # None: every check
    interval: str | None = None  # e.g. "6h"; None: the default cadence
    labels: Mapping[str, str] | None = None
    expected_ports: Sequence[int] | None = None
    check_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the endpoint's own overrides


@dataclass(frozen=True, slots=True)
class DomainRequest:
    name: str  # as the user typed it
    checks: Sequence[str] | None = None  # None: every domain check
    interval: str | None = None
    labels: Mapping[str, str] | None = None
    check_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # the domain's own overrides


@dataclass(frozen=True, slots=True)
class EndpointChange:
    checks: Sequence[str] | None = None  # None: unchanged
    interval: str | None = None
    labels: Mapping[str, str] | None = None
    expected_ports: Sequence[int] | None = None


# Re-judges an agency's stored facts of the named checks after its settings changed (recording's job).
SettingsChanged = Callable[[str, Sequence[str]], Awaitable[Any]]


class Registration:
    def __init__(
        self,
        store: Store,
        resolver: Resolver,
        rules: RegistrationRules,
        on_settings_changed: SettingsChanged | None = None,
    ) -> None:
        self.store = store
        self.resolver = resolver
        self.rules = rules
        self.on_settings_changed = on_settings_changed

    # --- agencies and scope -------------------------------------------------------------------------------------

    async def add_agency(self, slug: str, name: str, actor: Actor) -> AgencyRecord:
        return await self.store.registry.add_agency(slug, name, actor)

    async def add_scope(self, agency: str, value: str, actor: Actor) -> ScopeEntry:
        return await self.store.registry.add_scope(agency, value, actor)

    async def change_agency_settings(
        self, agency: str, patch: Mapping[str, Any] | None, actor: Actor, alert_language: str | None = None
    ) -> AgencyRecord:
        """Apply a JSON merge patch to the agency's check settings, validated as they are written, and set the
        language of its alerts (None: unchanged). The stored facts of every check whose settings changed are judged
        again at once (a new profile needs no scan)."""
        configs = self.rules.check_configs
        record = await self.store.registry.change_agency(
            agency,
            actor,
            None
            if patch is None
            else lambda current: stored_check_settings(configs, patch_check_settings(current, patch)),
            None if alert_language is None else alert_language_of(alert_language),
        )
        if self.on_settings_changed is not None and patch:
            await self.on_settings_changed(agency, [name for name in patch if name in configs])
        return record

    # --- endpoints ----------------------------------------------------------------------------------------------

    async def register_endpoint(self, agency: str, request: EndpointRequest, actor: Actor) -> EndpointView:
        checks = self.known_checks(request.checks, "endpoint", parse_port(request.port))
        intervals = interval_seconds(request.interval, checks)
        labels = valid_labels(request.labels)
        ports = valid_ports(request.expected_ports) or []
        overrides = await self._endpoint_settings(agency, checks, request.check_settings, ports)
        host = await self.in_scope_host(agency, request.host)
        record = await self.store.registry.add_endpoint(
            agency, host, parse_port(request.port), checks, self.rules.cadence, actor, intervals, labels, ports,
            overrides,
        )  # fmt: skip
        return await self.store.endpoints.get(record.id, None)

    async def update_endpoint(
        self,
        endpoint_id: int,
        agency_id: int | None,
        change: EndpointChange,
        actor: Actor,
        kind: AssetKind = "endpoint",
    ) -> EndpointView:
        """Change an endpoint's, or a domain's, checks, interval and labels (a domain has no expected ports)."""
        current = await self.store.endpoints.get(endpoint_id, agency_id, kind)
        checks = self.known_checks(change.checks, kind) if change.checks is not None else None
        if kind == "domain" and change.expected_ports is not None:
            raise InvalidInput("expected_ports", "a domain has no ports: expected ports belong to an endpoint")
        return await self.store.endpoints.update(
            current.id,
            agency_id,
            actor,
            self.rules.cadence,
            checks=checks,
            intervals=interval_seconds(change.interval, checks or current.checks),
            labels=valid_labels(change.labels),
            expected_ports=valid_ports(change.expected_ports),
            kind=kind,
        )

    async def remove_endpoint(
        self, endpoint_id: int, agency_id: int | None, actor: Actor, kind: AssetKind = "endpoint"
    ) -> None:
        await self.store.endpoints.remove(endpoint_id, agency_id, actor, kind)

    async def request_rescan(
        self, endpoint_id: int, agency_id: int | None, actor: Actor, kind: AssetKind = "endpoint"
    ) -> tuple[datetime, list[str]]:
        """Every check of the asset due now, at most once per the rules' interval (429 until then)."""
        return await self.store.endpoints.request_rescan(
            endpoint_id, agency_id, self.rules.rescan_min_interval, actor, kind
        )

    # --- domains ------------------------------------------------------------------------------------------------

    async def register_domain(self, agency: str, request: DomainRequest, actor: Actor) -> EndpointView:
        """A domain inside the agency's domain scope, for the checks that judge a name (DNSSEC, mail)."""
        checks = self.known_checks(request.checks, "domain")
        intervals = interval_seconds(request.interval, checks)
        labels = valid_labels(request.labels)
        overrides = await self._endpoint_settings(agency, checks, request.check_settings, ())
        name = await self.in_scope_domain(agency, request.name)
        record = await self.store.registry.add_endpoint(
            agency, name, DOMAIN_PORT, checks, self.rules.cadence, actor, intervals, labels, (), overrides
        )
        return await self.store.endpoints.get(record.id, None, "domain")

    # --- the rules ----------------------------------------------------------------------------------------------

    def known_checks(self, names: Sequence[str] | None, kind: AssetKind, port: int | None = None) -> list[str]:
        """The named checks, each once, in the order given; None: every check of the asset's kind that runs on
        `port` by default (`Check.default_ports`)."""
        known = self.rules.names_for(kind)
        if names is None:
            found = self.rules.registry
            return [n for n in known if port is None or n not in found or on_by_default(found[n], port)]
        if not names:
            raise InvalidInput("checks", "at least one check is needed")
        other: AssetKind = "domain" if kind == "endpoint" else "endpoint"
        wrong_kind = [name for name in names if name in self.rules.names_for(other)]
        if wrong_kind:
            raise InvalidInput(
                "checks", f"{', '.join(wrong_kind)} runs on {other}s, not on {kind}s; {kind} checks: {', '.join(known)}"
            )
        unknown = [name for name in names if name not in known]
        if unknown:
            raise InvalidInput("checks", f"unknown check {', '.join(unknown)}; known: {', '.join(known)}")
        return list(dict.fromkeys(names))

    async def in_scope_domain(self, agency: str, raw_name: str) -> str:
        """The name normalised, if it lies inside one of the agency's domain scopes. Nothing is looked up: the
        checks of a domain ask DNS about the name itself, and a name that does not exist is their finding."""
        name = domain_name(raw_name, "name")
        scopes = [entry for _, entry in await self.store.registry.list_scopes(agency)]
        if not in_scope(name, scopes):
            allowed = ", ".join(entry.value for entry in scopes if entry.kind == "domain") or "no domain scope yet"
            raise OutOfScope("name", f"{name} is outside the domain scope of {agency!r} (scope: {allowed})")
        return name

    async def in_scope_host(self, agency: str, raw_host: str) -> str:
        """The host normalised, if it and every address it resolves to now lie inside the agency's scope."""
        scopes = [entry for _, entry in await self.store.registry.list_scopes(agency)]
        return await self.admitted_host(agency, raw_host, scopes)

    async def admitted_host(self, agency: str, raw_host: str, scopes: Sequence[ScopeEntry]) -> str:
        """`in_scope_host` with the agency's scopes already read (discovery asks this of many names at once)."""
        host = normalise_host(raw_host)
        allowed = ", ".join(entry.value for entry in scopes) or "nothing yet: add a scope first"
        if not in_scope(host, scopes):  # refused before any DNS query: a third party's name is never looked up
            raise OutOfScope("host", f"{host} is outside the scope of {agency!r} (scope: {allowed})")
        try:
            check_addresses(host, await self.resolver.addresses(host), scopes)
        except HostUnresolvable as err:
            raise InvalidInput("host", f"{host} does not resolve: {err.reason}") from None
        except ScopeViolation as err:
            raise OutOfScope("host", f"{host}: {err.reason} (scope of {agency!r}: {allowed})") from None
        return host

    async def _endpoint_settings(
        self,
        agency: str,
        checks: Sequence[str],
        overrides: Mapping[str, Mapping[str, Any]],
        expected_ports: Sequence[int],
    ) -> dict[str, dict[str, Any]]:
        """The endpoint's own check settings, refused now if they could not run later (with the agency's)."""
        configs = self.rules.check_configs
        agency_settings = (await self.store.registry.agency(agency)).check_settings
        for name in checks:
            endpoint_config(configs[name], overrides.get(name), expected_ports, agency=agency_settings.get(name))
        return stored_check_settings(configs, overrides)


def registration_from(settings: Settings, store: Store, resolver: Resolver | None = None) -> Registration:
    """Registration with the daemon's rules and resolver (POSTURE_DNS_SERVERS), for the CLI and the demo."""
    rules = RegistrationRules(cadence_from(settings), check_configs(settings), tuple(REGISTRY))
    return Registration(store, resolver or DnsResolver(settings.dns_servers), rules)


def domain_name(raw: str, field: str) -> str:
    """A domain's canonical name (IDNA, lower case, no trailing dot); an IP address or a port is refused."""
    name = normalise_host(raw, field)
    if parse_ip(name) is not None:
        raise InvalidInput(field, f"{name} is an IP address; a domain is a name such as example.niedersachsen.de")
    return name


def interval_seconds(raw: str | None, checks: Sequence[str]) -> dict[str, float] | None:
    """Each check's interval: None leaves them as they are, "" goes back to the default."""
    if raw is None:
        return None
    if raw == "":
        return {}
    try:
        seconds = parse_duration(raw, minimum_s=MIN_INTERVAL_S)
    except ValueError as err:
        raise InvalidInput("interval", str(err)) from None
    return dict.fromkeys(checks, seconds)


def valid_labels(labels: Mapping[str, str] | None) -> dict[str, str] | None:
    if labels is None:
        return None
    for key, value in labels.items():
        if not key.strip() or len(key) > MAX_LABEL_KEY or len(value) > MAX_LABEL_VALUE:
            raise InvalidInput("labels", f"keys 1-{MAX_LABEL_KEY} characters, values up to {MAX_LABEL_VALUE}")
    return dict(labels)


def valid_ports(ports: Sequence[int] | None) -> list[int] | None:
    return None if ports is None else [parse_port(port, "expected_ports") for port in ports]


def alert_language_of(text: str) -> Language:
    try:
        return parse_language(text)
    except ValueError as err:
        raise InvalidInput("alert_language", str(err)) from None
