"""The API's bodies, queries and replies: one set of pydantic models for handlers and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.models import AssetKind, Language

SeverityLabel = Literal["info", "low", "medium", "high", "critical"]
# monitor.models.EndpointStatus and CheckHealth (tests/api/test_endpoint_status.py keeps them equal)
EndpointStatusLabel = Literal["ok", "pending", "incomplete", "failing", "unreachable"]
CheckHealthLabel = Literal["pending", "ok", "incomplete", "unreachable", "timed_out", "misconfigured", "crashed"]
Role = Literal["admin", "analyst", "agency", "metrics"]
SLUG = r"^[a-z0-9-]{2,40}$"
MAX_INT = 2**31 - 1


class Body(BaseModel):
    """A request body: unknown fields are an error, and JSON types are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query-string parameters: unknown ones are an error; numbers arrive as text."""

    model_config = ConfigDict(extra="forbid")


class Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Reply):
    code: str = Field(description="machine-readable, e.g. invalid_input, not_found, out_of_scope")
    message: str = Field(description="one human sentence")
    field: str | None = Field(description="the body field, query parameter or path part at fault")


class Error(Reply):
    error: ErrorDetail


# --- agencies, scopes, tokens (CERT admins) ----------------------------------------------------------------


class AgencyCreate(Body):
    slug: str = Field(pattern=SLUG, description="2-40 of a-z, 0-9, '-'; used in MQTT topics")
    name: str = Field(min_length=1, max_length=200)


class Agency(Reply):
    slug: str
    name: str
    endpoints: int


class AgencyList(Reply):
    items: list[Agency]


class AgencyUpdate(Body):
    """At least one of the fields; a field left out stays as it is."""

    check_settings: dict[str, dict[str, Any] | None] | None = Field(
        default=None,
        description="per-check settings for all the agency's endpoints, as a JSON merge patch (RFC 7396): "
        'a value sets a key, null goes back to the global setting; e.g. {"tls": {"ca_file": "/etc/posture/'
        'land-ca.pem", "profiles": ["bsi_tr_02102_2"]}}. Paths are absolute, on the scanner host.',
    )
    alert_language: Language | None = Field(
        default=None, description="the language of the agency's alerts: title, summary and remediation"
    )

    @field_validator("check_settings", "alert_language", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it as it is")
        return value

    @model_validator(mode="after")
    def _something(self) -> AgencyUpdate:
        if self.check_settings is None and self.alert_language is None:
            raise ValueError("nothing to change: give check_settings, alert_language or both")
        return self


class AgencyDetail(Reply):
    slug: str
    name: str
    endpoints: int
    check_settings: dict[str, dict[str, Any]] = Field(
        description="the agency's own check settings: between the global config and an endpoint's own"
    )
    alert_language: Language = Field(description="the language of the agency's alerts (default German)")


class ScopeCreate(Body):
    value: str = Field(min_length=1, max_length=253, description="a domain (suffix match) or a CIDR")


class Scope(Reply):
    id: int
    agency: str
    kind: Literal["domain", "cidr"]
    value: str
    created_at: datetime


class ScopeList(Reply):
    items: list[Scope]


class ScopeRequestCreate(Body):
    value: str = Field(min_length=1, max_length=253, description="a domain the agency owns")


class ScopeRequest(Reply):
    id: int
    agency: str
    value: str
    state: Literal["pending", "active", "rejected"]
    txt_record: str = Field(description="publish this TXT record on the domain, then POST …/verify")
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class ScopeRequestList(Reply):
    items: list[ScopeRequest]


class ScopeRequestQuery(Query):
    state: Literal["pending", "active", "rejected"] | None = None


class ScopeDecision(Body):
    approve: bool


class TokenCreate(Body):
    role: Role
    agency: str | None = Field(default=None, pattern=SLUG, description="required for, and only for, role agency")
    label: str | None = Field(default=None, min_length=1, max_length=100, description="who or what holds it")


class Token(Reply):
    id: int
    role: Role
    agency: str | None
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(Token):
    token: str = Field(description="the bearer token; shown only this once, stored only as a hash")


class TokenList(Reply):
    items: list[Token]


# --- endpoints (agency staff, their own agency) -------------------------------------------------------------

Labels = dict[str, str]


class EndpointCreate(Body):
    host: str = Field(min_length=1, max_length=255, description="host name (IDNA allowed) or IP literal")
    port: int = Field(ge=1, le=65535)
    checks: list[str] | None = Field(default=None, min_length=1, max_length=20, description="default: all")
    agency: str | None = Field(default=None, pattern=SLUG, description="admins only; staff register for their own")
    labels: Labels | None = Field(default=None, max_length=20)
    expected_ports: list[int] | None = Field(default=None, max_length=100)
    interval: str | None = Field(default=None, max_length=20, description="e.g. 15m, 1h, 1d; minimum 5s")


class EndpointUpdate(Body):
    checks: list[str] | None = Field(default=None, min_length=1, max_length=20)
    labels: Labels | None = Field(default=None, max_length=20)
    expected_ports: list[int] | None = Field(default=None, max_length=100)
    interval: str | None = Field(default=None, max_length=20, description='e.g. 15m, 1h, 1d; "": the default')


class CheckRun(Reply):
    name: str = Field(description="the check")
    status: CheckHealthLabel = Field(
        description="its last scan run: ok; incomplete (ran, but could not test every part: see `untested`); "
        "unreachable, timed_out, misconfigured (our side: settings, a missing tool, out of scope), crashed (a bug); "
        "pending: not run yet"
    )
    consecutive_failures: int = Field(
        description="unreachable or timed-out runs in a row; at POSTURE_UNREACHABLE_AFTER of them (default 3) the "
        "endpoint.unreachable alert is sent and the endpoint's status is unreachable"
    )
    last_run_at: datetime | None
    next_due: datetime
    reason: str | None = Field(
        description="why the last run failed, or which parts it could not test: a short English technical text; "
        "null when it ran to completion and tested everything, or has not run"
    )
    untested: list[str] = Field(description="incomplete: the finding keys (or `prefix.*` families) not tested")


class Endpoint(Reply):
    id: int
    agency: str
    host: str
    port: int
    checks: list[str]
    labels: Labels
    expected_ports: list[int]
    intervals: dict[str, float] = Field(description="seconds, by check; absent: the default interval")
    created_at: datetime
    open_findings: int
    worst_severity: SeverityLabel | None
    last_scan_at: datetime | None
    status: EndpointStatusLabel = Field(
        description="the worst of its checks' last scan runs, in this order: unreachable (a check failed to reach "
        "it POSTURE_UNREACHABLE_AFTER runs in a row, the rule of the endpoint.unreachable alert), failing (a check's "
        "last run did not complete: unreachable or timed out fewer times than that, misconfigured, crashed), "
        "incomplete (a check ran but could not test every part), pending (a check has not run yet), ok"
    )
    checks_status: list[CheckRun] = Field(
        description="each check's last scan run, in the order of `checks`: in the replies about one endpoint "
        "(GET, POST, PATCH); always empty in the list (GET /endpoints), which has `status` only"
    )


class EndpointPage(Reply):
    items: list[Endpoint]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class EndpointQuery(Query):
    limit: int = Field(default=100, ge=1, le=500)
    after: int = Field(default=0, ge=0, le=MAX_INT, description="the last id of the previous page")
    agency: str | None = Field(default=None, pattern=SLUG, description="admins and analysts: one agency")
    host: str | None = Field(default=None, min_length=1, max_length=253, description="this name or below it")
    status: EndpointStatusLabel | None = Field(default=None, description="only the endpoints of this status")


# --- domains (agency staff, their own agency): names judged as a whole (DNSSEC, mail) ----------------------------


class DomainCreate(Body):
    name: str = Field(
        min_length=1, max_length=255, description="a name inside the agency's domain scope (IDNA allowed)"
    )
    checks: list[str] | None = Field(
        default=None, min_length=1, max_length=20, description="default: every domain check"
    )
    agency: str | None = Field(default=None, pattern=SLUG, description="admins only; staff register for their own")
    labels: Labels | None = Field(default=None, max_length=20)
    interval: str | None = Field(default=None, max_length=20, description="e.g. 15m, 1h, 1d; minimum 5s")


class DomainUpdate(Body):
    checks: list[str] | None = Field(default=None, min_length=1, max_length=20)
    labels: Labels | None = Field(default=None, max_length=20)
    interval: str | None = Field(default=None, max_length=20, description='e.g. 15m, 1h, 1d; "": the default')


class Domain(Reply):
    id: int
    agency: str
    name: str = Field(description="the domain, in its ASCII (IDNA) form")
    checks: list[str]
    labels: Labels
    intervals: dict[str, float] = Field(description="seconds, by check; absent: the default interval")
    created_at: datetime
    open_findings: int
    worst_severity: SeverityLabel | None
    last_scan_at: datetime | None
    status: EndpointStatusLabel = Field(description="the worst of its checks' last scan runs, as an endpoint's")
    checks_status: list[CheckRun] = Field(
        description="each check's last scan run: in the replies about one domain; always empty in the list"
    )


class DomainPage(Reply):
    items: list[Domain]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class DomainQuery(Query):
    limit: int = Field(default=100, ge=1, le=500)
    after: int = Field(default=0, ge=0, le=MAX_INT, description="the last id of the previous page")
    agency: str | None = Field(default=None, pattern=SLUG, description="admins and analysts: one agency")
    name: str | None = Field(default=None, min_length=1, max_length=253, description="this name or below it")
    status: EndpointStatusLabel | None = Field(default=None, description="only the domains of this status")


class ScanRequested(Reply):
    endpoint_id: int
    requested_at: datetime
    checks: list[str] = Field(description="the checks now due; a fix seen by them resolves its finding")


# --- findings -------------------------------------------------------------------------------------------------


class Finding(Reply):
    id: int
    agency: str
    endpoint_id: int = Field(description="the id of the finding's asset: an endpoint, or a domain (see `asset_kind`)")
    endpoint: str = Field(description="the asset's name: host:port ([v6]:port) for an endpoint, the name of a domain")
    asset_kind: AssetKind
    check: str
    key: str
    severity: SeverityLabel
    title: str
    detail: dict[str, object] = Field(description="evidence from the scanned server: untrusted text")
    remediation: str
    state: Literal["open", "resolved", "accepted"]
    kev: bool
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    resolution: str | None
    due_at: datetime | None
    accepted_until: datetime | None
    accepted_reason: str | None
    accepted_by: str | None
    flapping: bool


class FindingPage(Reply):
    items: list[Finding]
    next_after: int | None


class Run(Reply):
    started_at: datetime
    status: str
    duration_s: float
    observation_count: int
    error: str | None


class FindingDetail(Finding):
    history: list[Run]


class FindingQuery(Query):
    limit: int = Field(default=100, ge=1, le=500)
    after: int = Field(default=0, ge=0, le=MAX_INT)
    agency: str | None = Field(default=None, pattern=SLUG)
    endpoint_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    severity: SeverityLabel | None = Field(default=None, description="this severity or higher")
    check: str | None = Field(default=None, min_length=1, max_length=40)
    key: str | None = Field(default=None, min_length=1, max_length=200)
    state: Literal["open", "resolved", "accepted"] | None = None


class ExportQuery(Query):
    agency: str | None = Field(default=None, pattern=SLUG)
    severity: SeverityLabel | None = None
    check: str | None = Field(default=None, min_length=1, max_length=40)
    state: Literal["open", "resolved", "accepted"] | None = None
    dialect: Literal["excel-de", "rfc4180"] = Field(
        default="excel-de",
        description="excel-de: UTF-8 with BOM, `;`-separated (German Excel opens it as it is); "
        "rfc4180: UTF-8 without BOM, comma-separated (for scripts)",
    )
    lang: Literal["de", "en"] = Field(
        default="de",
        description="the language of `title` and `remediation`: de, the finding catalogue's German; en, the texts "
        "the checks stored (they can name a CVE's product and version). Use `key` to match findings in scripts.",
    )


class AcceptRisk(Body):
    reason: str = Field(min_length=1, max_length=1000)
    until: AwareDatetime = Field(description="when alerts resume, with a time zone; at most a year ahead")


# --- discovery ---------------------------------------------------------------------------------------------------

DiscoveryState = Literal["candidate", "registered", "dismissed"]


class Discovery(Reply):
    id: int
    agency: str
    host: str = Field(description="a host name (ASCII) or an IP address; data seen on the network, shown escaped")
    port: int | None = Field(description="the port of the service seen; null: a name without a known service")
    sources: list[Literal["dns", "sweep", "certs", "ct"]]
    evidence: dict[str, Any] = Field(description="by source: where it was seen (up to five sightings each)")
    exposure: SeverityLabel = Field(description="the port's exposure class (RDP, databases: high); at least low")
    state: DiscoveryState
    first_seen: datetime
    last_seen: datetime
    decided_at: datetime | None
    decided_by: str | None
    reason: str | None = Field(description="why it was dismissed")
    asset_id: int | None = Field(description="the endpoint or domain it was registered as")


class DiscoveryPage(Reply):
    items: list[Discovery]


class DiscoveryQuery(Query):
    state: DiscoveryState | None = Field(default=None, description="only these; default: all")
    agency: str | None = Field(default=None, pattern=SLUG, description="admins and analysts: one agency")
    limit: int = Field(default=200, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=MAX_INT)


class DiscoveryConfirm(Body):
    as_: Literal["endpoint", "domain"] | None = Field(
        default=None, alias="as", description="default: an endpoint when a port is known"
    )
    port: int | None = Field(default=None, ge=1, le=65535, description="for a name seen without a service")


class DiscoveryConfirmed(Reply):
    discovery: Discovery
    asset_id: int
    asset_kind: AssetKind


class DiscoveryDismiss(Body):
    reason: str = Field(min_length=1, max_length=300)


class DiscoverySettings(Body):
    auto_register: bool = Field(description="register candidates at once instead of keeping them in the inbox")


class DiscoverySettingsReply(Reply):
    agency: str
    auto_register: bool


# --- contacts and weekly reports ---------------------------------------------------------------------------------

ContactRole = Literal["security", "it", "management"]


class ContactCreate(Body):
    name: str = Field(max_length=400, description="the person or the team, 1-200 characters")
    email: str = Field(max_length=400, description="where the weekly report goes, e.g. it-sicherheit@behoerde.example")
    role: ContactRole = "security"
    language: Language = Field(default="de", description="the language of the reports this contact receives")


class ContactUpdate(Body):
    """At least one of the fields; a field left out stays as it is."""

    name: str | None = Field(default=None, max_length=400)
    email: str | None = Field(default=None, max_length=400)
    role: ContactRole | None = None
    language: Language | None = None


class Contact(Reply):
    id: int
    agency: str
    name: str
    email: str
    role: ContactRole
    language: Language
    created_at: datetime


class ContactList(Reply):
    items: list[Contact]


class ReportFile(Reply):
    language: Language
    format: Literal["pdf", "html", "json"]
    size: int = Field(description="bytes")
    created_at: datetime
    url: str | None = Field(description="where to download it (the PDF), below /api/v1")


class ReportDelivery(Reply):
    contact_id: int
    contact_name: str
    email: str
    language: Language
    status: Literal["queued", "sending", "sent", "failed"] = Field(
        description="failed with next_attempt_at: retried then; failed without: given up (`posture report send` "
        "tries again)"
    )
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None


class WeeklyReport(Reply):
    week: str = Field(description="ISO week, e.g. 2026-W49")
    files: list[ReportFile]
    deliveries: list[ReportDelivery]


class WeeklyReportList(Reply):
    items: list[WeeklyReport] = Field(description="newest week first")


class ReportQuery(Query):
    language: Language = Field(default="de", description="the report's language")
