"""Domain types shared by the daemon and the checks: frozen, free of I/O."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Generic, Literal, Protocol, TypeVar, get_args


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            allowed = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (allowed: {allowed})") from None


# the languages agency staff read findings and alerts in: German by default, English on request
Language = Literal["de", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "de"


def parse_language(text: str) -> Language:
    for language in LANGUAGES:
        if text == language:
            return language
    raise ValueError(f"{text!r} is not one of the languages {', '.join(LANGUAGES)}")


class CheckStatus(StrEnum):
    OK = "ok"  # ran to completion (observations may be non-empty)
    UNREACHABLE = "unreachable"  # refused, DNS failure, handshake impossible
    TIMED_OUT = "timed_out"
    MISCONFIGURED = "misconfigured"  # our side: bad config, missing binary, out of scope
    CRASHED = "crashed"  # a bug: traceback logged, short reason in the result


class CheckHealth(StrEnum):
    """One check of an endpoint as its page shows it: the status of its last scan run, or that it has not run."""

    PENDING = "pending"  # not run yet
    OK = "ok"  # ran to completion and tested everything
    INCOMPLETE = "incomplete"  # ran to completion, but could not test every part (CheckResult.untested)
    UNREACHABLE = "unreachable"
    TIMED_OUT = "timed_out"
    MISCONFIGURED = "misconfigured"
    CRASHED = "crashed"


class EndpointStatus(StrEnum):
    """An endpoint's health, the worst of its checks' last scan runs. Members in rising order: the worst wins.
    The rules, in SQL, are `monitor/store/endpoint_store.py`'s; docs/api.md explains them."""

    OK = "ok"  # every check ran to completion and tested everything
    PENDING = "pending"  # a check has not run yet (a new endpoint: none has)
    INCOMPLETE = "incomplete"  # a check ran to completion but could not test every part
    FAILING = "failing"  # a check's last run did not complete (unreachable, timed out, misconfigured, crashed)
    UNREACHABLE = "unreachable"  # a check failed to reach it `unreachable_after` runs in a row: alerted as such


# The kinds of registered assets. A domain is stored as an asset without a port (DOMAIN_PORT): the scheduler, findings,
# alerts and metrics treat both kinds alike, and a check declares the kind it runs on (`Check.asset_kind`).
AssetKind = Literal["endpoint", "domain"]
ASSET_KINDS: tuple[AssetKind, ...] = get_args(AssetKind)
DOMAIN_PORT = 0  # never a TCP port: parse_port refuses it


def asset_kind(port: int) -> AssetKind:
    return "domain" if port == DOMAIN_PORT else "endpoint"


def asset_name(host: str, port: int) -> str:
    """How an asset is named wherever it is shown: `host:port` (`[v6]:port`) for an endpoint, the name for a domain."""
    if port == DOMAIN_PORT:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class ScopeRule(Protocol):
    """An agency's scope, as a check asks it before it connects beyond its own target (a domain's MX hosts)."""

    def owns(self, host: str, addresses: Sequence[str]) -> bool:
        """The agency's: `host` lies in its domain scope, or every one of its `addresses` in its CIDRs."""
        ...

    def forbidden(self, addresses: Sequence[str]) -> tuple[str, ...]:
        """Of `addresses`, those never to be contacted: non-public ones that no CIDR of the scope holds."""
        ...


@dataclass(frozen=True, slots=True)
class Target:
    """What a check looks at: one registered endpoint or domain, or an ad-hoc host or name for `posture scan`."""

    host: str
    port: int
    endpoint_id: int | None = None
    agency: str | None = None
    # The address the scheduler resolved and checked against the scope: checks connect to it rather than resolve
    # the name again, so a DNS answer that changes in between (rebinding) cannot point them elsewhere.
    address: str | None = None
    # Every address the name resolved to, all checked against the scope; `address` is one that answered.
    addresses: tuple[str, ...] = ()
    # The agency's scope, for a check that connects beyond the target itself (a domain's mail servers): it may
    # connect only to hosts this scope admits. None: a one-off `posture scan`, which probes what it is asked to.
    scope: ScopeRule | None = None

    @property
    def connect_to(self) -> str:
        return self.address or self.host

    @property
    def kind(self) -> AssetKind:
        return asset_kind(self.port)

    @property
    def display(self) -> str:
        return asset_name(self.host, self.port)


@dataclass(frozen=True, slots=True)
class Observation:
    """One finding as seen in one run. `detail` holds evidence; attacker-controlled strings stay data."""

    key: str
    severity: Severity
    title: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    remediation: str = ""


D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class CheckResult(Generic[D]):
    check: str
    endpoint_id: int | None
    status: CheckStatus
    started_at: datetime
    duration_s: float
    details: D | None = None  # typed facts, set when status is OK
    observations: tuple[Observation, ...] = ()
    error: str | None = None  # short reason when status is not OK
    untested: tuple[str, ...] = ()  # finding keys or `prefix.*` families this run could not test (never resolved)


def key_matches(pattern: str, key: str) -> bool:
    """`pattern` is a finding key, or a family `prefix.*` that matches every key below the prefix."""
    if pattern.endswith(".*"):
        return key.startswith(pattern[:-1]) and len(key) > len(pattern) - 1
    return key == pattern


class EventType(StrEnum):
    FINDING_OPENED = "finding.opened"
    FINDING_ESCALATED = "finding.escalated"
    FINDING_RESOLVED = "finding.resolved"
    FINDING_REMINDER = "finding.reminder"
    FINDING_OVERDUE = "finding.overdue"
    FINDING_ACCEPTANCE_EXPIRED = "finding.acceptance_expired"
    FINDING_FLAPPING = "finding.flapping"
    ENDPOINT_UNREACHABLE = "endpoint.unreachable"
    ENDPOINT_RECOVERED = "endpoint.recovered"


@dataclass(frozen=True, slots=True)
class FindingEvent:
    """A change worth telling someone about; alerts are edges, never levels."""

    type: EventType
    endpoint_id: int
    check: str
    key: str
    severity: Severity
    title: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    remediation: str = ""


@dataclass(frozen=True, slots=True)
class OpenFinding:
    """An open finding as a check's metrics see it."""

    key: str
    severity: Severity
    detail: Mapping[str, Any] = field(default_factory=dict)
