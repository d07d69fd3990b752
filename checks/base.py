"""The check contract: `run` gathers facts (I/O only), `evaluate` judges them (pure)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.models import AssetKind, Observation, OpenFinding, Severity, Target, key_matches


class CheckError(Exception):
    """Base of the errors a check raises on purpose; the runner maps each type to a status."""


class TargetUnreachable(CheckError):
    """Refused, reset, DNS failure, no handshake possible: the target's side."""


class CheckMisconfigured(CheckError):
    """Our side: a missing binary, an impossible configuration."""


class PeerDetailsUnreadable(CheckError):
    """Stored details of a check this one depends on no longer parse as that check's details model (a schema
    change): our side, never "nothing found"."""


class InvalidSetting(CheckError):
    """A setting that is well-formed but unusable on this host (a file that is absent or does not parse)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class CheckConfig(BaseModel):
    """Base of every check's settings; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=30.0, gt=0, le=3600, description="deadline of one run")


class Facts(BaseModel):
    """Base of the typed facts inside a check's details (a certificate, a DS record): strict and frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckDetails(Facts):
    """Base of every check's typed facts; stored as JSON and re-judged without a new scan."""


@dataclass(frozen=True, slots=True)
class Texts:
    """The reader-facing texts of one catalogue entry in one language."""

    title: str
    meaning: str
    remediation: str


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """One entry of the finding catalogue. A key ending in `.*` names a family (`patch.cve.*`).

    `title`, `meaning` and `remediation` are English; `de` holds the German texts for agency staff. A reader's
    language picks one set through `texts`.
    """

    key: str
    severity: Severity
    title: str
    meaning: str
    remediation: str
    de: Texts | None = None

    def matches(self, key: str) -> bool:
        return key_matches(self.key, key)

    def translation(self, language: str) -> Texts | None:
        """The entry's own translation for `language` (a tag such as "de" or "de-DE"), None for English or a
        language it lacks."""
        return self.de if language.split("-", 1)[0].strip().lower() == "de" else None

    def texts(self, language: str) -> Texts:
        """The texts for `language`: German where the entry has them, English otherwise."""
        return self.translation(language) or Texts(self.title, self.meaning, self.remediation)

    def observe(
        self,
        detail: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        severity: Severity | None = None,
        title: str | None = None,
        remediation: str | None = None,
    ) -> Observation:
        concrete = key or self.key
        if not self.matches(concrete):
            raise ValueError(f"key {concrete!r} does not belong to catalogue entry {self.key!r}")
        return Observation(
            key=concrete,
            severity=self.severity if severity is None else severity,
            title=title or self.title,
            detail=dict(detail or {}),
            remediation=self.remediation if remediation is None else remediation,
        )


@dataclass(frozen=True, slots=True)
class MetricFamily:
    """A gauge a check exports for every endpoint it ran on; `agency` and `endpoint` labels come first."""

    name: str  # posture_<check>_…, with a unit suffix where there is a unit
    documentation: str
    labels: tuple[str, ...] = ()  # the labels after agency and endpoint


@dataclass(frozen=True, slots=True)
class MetricSample:
    name: str  # a MetricFamily's name
    labels: tuple[str, ...]  # values of that family's labels, in order
    value: float


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check may read but not own."""

    executor: Executor | None = None
    # the judgement's notion of "now" (certificate expiry); a field, so evaluate() stays pure
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # latest details of other checks on the same endpoint, by check name (the patch check reads `ports`)
    peer_details: Mapping[str, Any] = field(default_factory=dict)
    # shared, read-only services (vulnerability database, trust stores), by name
    resources: Mapping[str, Any] = field(default_factory=dict)
    # when the runner stops waiting (event loop time), set by the runner: a check may stop a little earlier and
    # return what it has, marking the rest untested (see `Check.untested`)
    deadline: float | None = None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One line of a check's summary: a label in the reader's language and a value. `server_text`: the value is
    what a scanned server sent (shown as data, never as markup); `note`: our words after it (flags, a verdict)."""

    label: str
    value: str
    server_text: bool = False
    note: str = ""


@dataclass(frozen=True, slots=True)
class NameSeen:
    """A host name a check saw in its facts (a certificate's SAN, a zone transfer's records), with where it was
    seen: discovery's candidates beyond what the agency registered (`Check.names_seen`)."""

    name: str
    source: str  # the discovery source it feeds: "certs", "dns"
    evidence: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PortExposure:
    """What a service on a port is, known from the port alone: the finding key of its class and its severity."""

    key: str  # e.g. "ports.exposed.rdp"
    severity: Severity


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """What a check's latest details say at a glance, in one language, for the asset's page (see `Check.summary`):
    a title ("Web security"), a headline ("Grade B+ (80 of 100 points)") and the facts behind it."""

    title: str
    headline: str
    rows: tuple[SummaryRow, ...] = ()


C = TypeVar("C", bound=CheckConfig)
D = TypeVar("D", bound=CheckDetails)
P = TypeVar("P", bound=CheckDetails)


def read_peer(ctx: CheckContext, name: str, model: type[P]) -> P | None:
    """The latest details of check `name` in `ctx`, as that check's details `model`; None when there are none.

    Peers arrive as models from a run and as their stored JSON from the store. A shape that does not parse raises
    PeerDetailsUnreadable: a dependency read as "no facts" would resolve every finding it backs.
    """
    value = ctx.peer_details.get(name)
    if value is None or isinstance(value, model):
        return value
    try:
        return model.model_validate(value.model_dump(mode="json") if isinstance(value, BaseModel) else value)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "details"
        raise PeerDetailsUnreadable(f"stored {name} details do not parse ({where}: {first['msg']})") from None


# CheckContext.resources key: the DNS resolvers a check that asks DNS itself must ask (POSTURE_DNS_SERVERS), as
# (address, port) pairs; absent or empty: the system's resolvers (resolv.conf)
DNS_NAMESERVERS = "dns_nameservers"
# CheckContext.resources key: the name suffixes of hosted mail providers whose MX hosts the mail check may probe
# although no scope holds them (POSTURE_MAIL_PROVIDERS); absent or empty: none
MAIL_PROVIDERS = "mail_providers"


class VulnToolkit(Protocol):
    """What the daemon needs to keep a vulnerability database for the check that declares it (`Check.vulndb`):
    read feeds, build the in-memory database from feeds or from the store's rows, look a banner up."""

    seed_dir: Path  # the bundled feeds, matched against until the first `posture vulndb update`

    def feeds_from_dir(self, folder: Path) -> Any: ...

    def database_from_snapshot(self, snapshot: Any) -> Any: ...

    def database_from_rows(self, rows: Any) -> Any: ...

    def lookup(self, db: Any, text: str, today: date) -> list[dict[str, Any]]: ...


class Check(ABC, Generic[C, D]):
    name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[CheckConfig]]
    details_model: ClassVar[type[CheckDetails]]
    findings: ClassVar[tuple[FindingSpec, ...]] = ()
    # the first part of the check's finding keys: its name, unless it shares a family of keys with other checks
    # (the DNS checks: `dns.dnssec.*`); see `key_prefix`
    finding_prefix: ClassVar[str | None] = None
    # the kind of asset the check runs on: an endpoint (host:port) or a domain (a name; Target.port is DOMAIN_PORT)
    asset_kind: ClassVar[AssetKind] = "endpoint"
    # the ports on which an endpoint registered without naming its checks gets this one (None: every port); named
    # explicitly, a check runs on any port of its kind (the web check: 443 by default, any port when asked for)
    default_ports: ClassVar[frozenset[int] | None] = None
    # checks whose details this one reads through CheckContext.peer_details; they run first
    depends_on: ClassVar[tuple[str, ...]] = ()
    # True: the check also reads its own previous details (drift: "a port opened since the last scan")
    reads_previous: ClassVar[bool] = False
    # the finding keys judged against the previous details (drift): stored facts judged again have no previous scan
    # to compare with, so a re-judgement leaves these findings as they are
    compares_with_previous: ClassVar[tuple[str, ...]] = ()

    # the metric families this check exports from its latest details (see `metrics`)
    metric_families: ClassVar[tuple[MetricFamily, ...]] = ()

    # the vulnerability database this check reads as CheckContext.resources["vulndb"]; when the database changes,
    # the daemon re-judges every stored result of the check
    vulndb: ClassVar[VulnToolkit | None] = None

    # True: the exporter also hands this check its endpoints' open findings (see `finding_metrics`)
    uses_findings: ClassVar[bool] = False

    def finding_metrics(self, findings: Sequence[OpenFinding]) -> Iterable[MetricSample]:
        """Samples of `metric_families` from one endpoint's open findings of this check (may be empty)."""
        return ()

    def metrics(self, details: D, now: datetime) -> Iterable[MetricSample]:
        """Samples of `metric_families` from one endpoint's latest details at `now`. Pure; bounded cardinality."""
        return ()

    @classmethod
    def key_prefix(cls) -> str:
        """Every finding key of the check starts with this and a dot."""
        return cls.finding_prefix or cls.name

    @classmethod
    def peer_names(cls) -> tuple[str, ...]:
        """The checks whose latest details the daemon hands to this one through CheckContext.peer_details."""
        return cls.depends_on + ((cls.name,) if cls.reads_previous else ())

    @abstractmethod
    async def run(self, target: Target, cfg: C, ctx: CheckContext) -> D:
        """Gather facts. Raise TargetUnreachable / CheckMisconfigured; never judge here."""

    @abstractmethod
    def evaluate(self, details: D, cfg: C, ctx: CheckContext) -> list[Observation]:
        """Judge facts. Pure: no I/O, no clock beyond what `details` carries."""

    def rejudged(self, details: D, cfg: C, ctx: CheckContext) -> D:
        """The details a judgement stands on, given the config and the context, with the verdicts recorded next to
        the facts (grades, compliance) derived again: for a run's facts and for stored ones alike (fresher peer
        facts, today's database, an agency's new profile). Pure; the details unchanged by default."""
        return details

    def judged(self, details: D, cfg: C, ctx: CheckContext) -> tuple[D, list[Observation]]:
        """`rejudged`, then `evaluate`: what the runner calls. A check whose verdicts come from its own
        observations (the TLS grade) overrides it to evaluate once."""
        details = self.rejudged(details, cfg, ctx)
        return details, self.evaluate(details, cfg, ctx)

    def untested(self, details: D) -> tuple[str, ...]:
        """Finding keys (or `prefix.*` families) that `details` could not test: a run that did not look at a part
        must not resolve a finding an earlier run raised for it. Pure; empty when the run was complete."""
        return ()

    def summary(self, details: D, language: str) -> CheckSummary | None:
        """The latest details at a glance for a reader of `language` ("de", "en"; German for a tag starting with
        "de", English otherwise), shown on the asset's page; None: the check shows none (the default). Pure."""
        return None

    def names_seen(self, details: D) -> Sequence[NameSeen]:
        """Host names in the latest details that discovery may propose (a certificate's names, a transferred
        zone's); discovery keeps only those inside the agency's scope. Pure; empty by default."""
        return ()

    @classmethod
    def exposure_of(cls, port: int) -> PortExposure | None:
        """The exposure class of a service listening on `port`, known from the port number alone (discovery's
        sweep sees no more); None: this check has no catalogue of ports (the default)."""
        return None

    @classmethod
    def check_settings_on_host(cls, cfg: C) -> None:
        """What pydantic cannot check: does the config work on this host (files exist and parse)?

        Run when settings are written (start-up, CLI, API), not at every scan. Raise InvalidSetting.
        """

    @classmethod
    def requirement_text(cls, finding_key: str, requirement: str, language: str) -> str | None:
        """What `requirement` of a compliance finding `finding_key` expects, for a reader of `language` ("de",
        "en"); None when the check has no such text (the reader then sees the text the finding stored)."""
        return None

    @classmethod
    def spec(cls, key: str) -> FindingSpec:
        for entry in cls.findings:
            if entry.matches(key):
                return entry
        raise KeyError(f"{cls.name}: no catalogue entry for {key!r}")


# --- small network helpers the checks share --------------------------------------------------------------


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def probe_tls_context() -> ssl.SSLContext:
    """A client context that completes a handshake with anything: for probing. Judging TLS is the TLS check's job."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context


async def accepts(address: str, port: int, timeout_s: float) -> bool:
    """Whether `address` accepts a TCP connection on `port` within `timeout_s` (closed again at once)."""
    try:
        async with asyncio.timeout(timeout_s):
            _, writer = await asyncio.open_connection(address, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):  # a reset on close still proves the port accepted
        await writer.wait_closed()
    return True


async def close_stream(writer: asyncio.StreamWriter, wait_s: float) -> None:
    """Close (TLS close_notify, then FIN) and wait for the peer at most `wait_s`; a peer that does not finish the
    close in that time, or a `wait_s` already spent, is cut off (RST)."""
    if wait_s <= 0:
        writer.transport.abort()
        return
    writer.close()
    try:
        async with asyncio.timeout(wait_s):
            await writer.wait_closed()
    except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
        writer.transport.abort()
