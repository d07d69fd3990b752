"""The tables. sqlmodel stays inside monitor/store; the rest of the daemon sees plain records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, UniqueConstraint
from sqlalchemy.sql.expression import false
from sqlmodel import Field, SQLModel

from monitor.store.columns import UtcDateTime


def _when(nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime, nullable=nullable, index=index))


def _json(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


def _endpoint_fk(primary_key: bool = False) -> Any:
    return Field(
        sa_column=Column(
            Integer, ForeignKey("endpoint.id", ondelete="CASCADE"), primary_key=primary_key, nullable=False
        )
    )


class Agency(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = _when()
    min_alert_severity: int | None = None  # None: the global POSTURE_ALERT_MIN_SEVERITY
    # per-check config overrides for all the agency's endpoints (between the global config and the endpoint's own)
    check_settings: dict[str, dict[str, Any]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}")
    )
    # the language of the agency's alerts (title, summary, remediation): "de" or "en"
    alert_language: str = Field(default="de", sa_column=Column(String(5), nullable=False, server_default="de"))
    # whether discovered candidates are registered at once instead of waiting in the inbox (docs/discovery.md)
    discovery_auto_register: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class Scope(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agency_id", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False))
    kind: str = Field(max_length=10)  # "domain" | "cidr"
    value: str = Field(max_length=253)
    created_at: datetime = _when()


class Endpoint(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("agency_id", "host", "port"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    host: str = Field(max_length=253)
    port: int
    checks: list[str] = _json()
    intervals: dict[str, float] = _json()  # seconds by check name; absent: the default interval
    labels: dict[str, str] = _json()
    expected_ports: list[int] = _json()
    check_settings: dict[str, dict[str, Any]] = _json()  # per-check config overrides, validated at registration
    created_at: datetime = _when()
    rescan_requested_at: datetime | None = _when(nullable=True)  # API re-scan: rate limit per endpoint


class CheckState(SQLModel, table=True):
    __tablename__ = "check_state"
    __table_args__ = (Index("ix_check_state_due", "next_due"),)
    endpoint_id: int = _endpoint_fk(primary_key=True)
    check: str = Field(max_length=40, primary_key=True)
    next_due: datetime = _when()
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires: datetime | None = _when(nullable=True)
    consecutive_failures: int = 0
    last_status: str | None = Field(default=None, max_length=20)
    last_run_at: datetime | None = _when(nullable=True)
    last_error: str | None = Field(default=None, max_length=400)  # the last run's short reason, when it failed
    # what the last run could not test (CheckResult.untested); SQL NULL when it tested everything, or failed
    last_untested: list[str] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


class LatestResult(SQLModel, table=True):
    __tablename__ = "latest_result"
    endpoint_id: int = _endpoint_fk(primary_key=True)
    check: str = Field(max_length=40, primary_key=True)
    status: str = Field(max_length=20)
    started_at: datetime = _when()
    duration_s: float
    details: dict[str, Any] | None = _json(nullable=True)
    observations: list[dict[str, Any]] = _json()
    error: str | None = Field(default=None, max_length=400)


class Finding(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("endpoint_id", "key"), Index("ix_finding_state", "state", "severity"))
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = _endpoint_fk()
    check: str = Field(max_length=40)
    key: str = Field(max_length=200)
    severity: int
    title: str = Field(max_length=400)
    detail: dict[str, Any] = _json()
    remediation: str = ""
    state: str = Field(max_length=10)  # "open" | "resolved"
    kev: bool = False
    first_seen: datetime = _when()
    last_seen: datetime = _when()
    resolved_at: datetime | None = _when(nullable=True)
    accepted_until: datetime | None = _when(nullable=True)
    accepted_reason: str | None = None
    accepted_by: str | None = Field(default=None, max_length=100)
    # lifecycle (see monitor/findings.py): remediation deadline, reminders, flapping
    due_at: datetime | None = _when(nullable=True)
    last_notified_at: datetime | None = _when(nullable=True)
    overdue_notified: bool = False
    transitions: list[str] = _json()  # ISO times of recent opened/resolved changes, for flap detection
    flapping: bool = False
    resolution: str | None = Field(default=None, max_length=20)  # "not_seen" | "fix_verified"


class ScanRun(SQLModel, table=True):
    __tablename__ = "scan_run"
    __table_args__ = (Index("ix_scan_run_endpoint", "endpoint_id", "check", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = _endpoint_fk()
    check: str = Field(max_length=40)
    status: str = Field(max_length=20)
    started_at: datetime = _when()
    duration_s: float
    observation_count: int = 0
    error: str | None = Field(default=None, max_length=400)
    worker: str = Field(max_length=64)


class Outbox(SQLModel, table=True):
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=36, unique=True)  # stays the same across retries
    type: str = Field(max_length=60)
    agency: str = Field(max_length=40)
    endpoint_id: int
    severity: int
    data: dict[str, Any] = _json()
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)
    attempts: int = 0


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(index=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=60)
    target: str = Field(max_length=300)
    detail: dict[str, Any] = _json()
    source: str = Field(max_length=100)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=10)  # "admin" | "analyst" | "agency" | "metrics"
    agency_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=True)
    )
    created_at: datetime = _when()
    revoked_at: datetime | None = _when(nullable=True)
    last_used_at: datetime | None = _when(nullable=True)
    label: str | None = Field(default=None, max_length=100)


class ScopeRequest(SQLModel, table=True):
    """A domain an agency proposes; it joins the scope once its DNS TXT record is seen or an admin approves."""

    __tablename__ = "scope_request"
    __table_args__ = (UniqueConstraint("agency_id", "value"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False))
    value: str = Field(max_length=253)
    verification_token: str = Field(max_length=64)
    state: str = Field(max_length=10)  # "pending" | "active" | "rejected"
    created_at: datetime = _when()
    decided_at: datetime | None = _when(nullable=True)
    decided_by: str | None = Field(default=None, max_length=100)  # "dns" or the admin's actor name


class WebSession(SQLModel, table=True):
    """A signed-in web UI session: only the hash of its cookie value is stored, and it dies with its token."""

    __tablename__ = "web_session"
    session_hash: str = Field(max_length=64, primary_key=True)
    token_id: int = Field(sa_column=Column(Integer, ForeignKey("api_token.id", ondelete="CASCADE"), nullable=False))
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _when()
    expires_at: datetime = _when(index=True)


class Contact(SQLModel, table=True):
    """Who receives an agency's weekly report, in which language."""

    __table_args__ = (UniqueConstraint("agency_id", "email"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)  # stored lower-cased in the domain part, compared as stored
    role: str = Field(max_length=20)  # "security" | "it" | "management"
    language: str = Field(max_length=5)  # "de" | "en"
    created_at: datetime = _when()


class ArchivedReport(SQLModel, table=True):
    """One rendered weekly report, kept POSTURE_REPORT_KEEP_WEEKS weeks (a PDF is ~100 KB: a BLOB is fine)."""

    __tablename__ = "archived_report"
    __table_args__ = (UniqueConstraint("agency_id", "week", "language", "format"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False))
    week: str = Field(max_length=8, index=True)  # "2026-W49": sorts as the weeks do
    language: str = Field(max_length=5)
    format: str = Field(max_length=5)  # "pdf" | "html" | "json"
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = _when()


class Delivery(SQLModel, table=True):
    """One weekly report for one contact: unique per (agency, week, contact), so replicas never send twice."""

    __table_args__ = (
        UniqueConstraint("agency_id", "week", "contact_id"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False))
    week: str = Field(max_length=8)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    email: str = Field(max_length=254)  # the address it went (or goes) to, as it was then
    language: str = Field(max_length=5)
    status: str = Field(max_length=10)  # "queued" | "sending" | "sent" | "failed"
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=400)
    next_attempt_at: datetime | None = _when(nullable=True)
    lease_expires: datetime | None = _when(nullable=True)  # a "sending" row whose sender died is retried after this
    created_at: datetime = _when()
    sent_at: datetime | None = _when(nullable=True)


METADATA = SQLModel.metadata


# --- vulnerability database (patch check): filled by `posture vulndb update`, read into memory at start ---------


class VulnSource(SQLModel, table=True):
    """One feed's state: which version is loaded, from where, when."""

    __tablename__ = "vuln_source"
    source: str = Field(max_length=10, primary_key=True)  # "kev" | "nvd" | "eol"
    version: str = Field(max_length=100)
    origin: str = Field(max_length=500)
    records: int = 0
    updated_at: datetime = _when()


class VulnKev(SQLModel, table=True):
    """CISA Known Exploited Vulnerabilities: one row per catalog entry."""

    __tablename__ = "vuln_kev"
    cve_id: str = Field(max_length=20, primary_key=True)
    vendor_project: str = Field(max_length=200)
    product: str = Field(max_length=200)
    name: str = Field(max_length=400)
    date_added: str = Field(max_length=10)
    due_date: str = Field(max_length=10)
    required_action: str
    known_ransomware: bool = False
    short_description: str = ""


class VulnCve(SQLModel, table=True):
    """An NVD CVE record, reduced to what matching and findings need."""

    __tablename__ = "vuln_cve"
    cve_id: str = Field(max_length=20, primary_key=True)
    severity: str = Field(max_length=10)
    score: float | None = None
    vector: str | None = Field(default=None, max_length=200)
    cvss_version: str | None = Field(default=None, max_length=5)
    description: str = ""
    published: str = Field(default="", max_length=32)
    last_modified: str = Field(default="", max_length=32)
    status: str = Field(default="", max_length=40)


class VulnCpeMatch(SQLModel, table=True):
    """One vulnerable cpeMatch entry of a CVE's configurations."""

    __tablename__ = "vuln_cpe_match"
    __table_args__ = (Index("ix_vuln_cpe_match_product", "vendor", "product"),)
    id: int | None = Field(default=None, primary_key=True)
    cve_id: str = Field(max_length=20, index=True)
    part: str = Field(max_length=1)
    vendor: str = Field(max_length=100)
    product: str = Field(max_length=150)
    version: str = Field(max_length=100)
    update: str = Field(max_length=100)
    sw_edition: str = Field(max_length=100)
    start_including: str | None = Field(default=None, max_length=100)
    start_excluding: str | None = Field(default=None, max_length=100)
    end_including: str | None = Field(default=None, max_length=100)
    end_excluding: str | None = Field(default=None, max_length=100)
    platform: bool = False


class VulnEolProduct(SQLModel, table=True):
    __tablename__ = "vuln_eol_product"
    product: str = Field(max_length=60, primary_key=True)
    title: str = Field(max_length=200)
    cpes: list[str] = _json()


class VulnEolCycle(SQLModel, table=True):
    __tablename__ = "vuln_eol_cycle"
    product: str = Field(max_length=60, primary_key=True)
    cycle: str = Field(max_length=40, primary_key=True)
    release_date: str | None = Field(default=None, max_length=10)
    eol: str = Field(max_length=10)  # "true" | "false" | YYYY-MM-DD
    latest: str | None = Field(default=None, max_length=60)
    lts: bool = False


class DiscoveryCandidate(SQLModel, table=True):
    """A host, or a service on a host, that discovery saw inside an agency's scope and nobody registered yet."""

    __tablename__ = "discovery_candidate"
    __table_args__ = (UniqueConstraint("agency_id", "host", "port"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    host: str = Field(max_length=253)
    port: int  # 0: a name (or address) without a known service
    sources: list[str] = _json()  # "dns", "sweep", "certs", "ct"
    evidence: dict[str, Any] = _json()  # the latest evidence per source
    exposure: int  # the Severity of its exposure class (an RDP or database port: high)
    state: str = Field(max_length=12)  # "candidate" | "registered" | "dismissed"
    first_seen: datetime = _when()
    last_seen: datetime = _when()
    decided_at: datetime | None = _when(nullable=True)
    decided_by: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=300)  # why it was dismissed
    asset_id: int | None = None  # the endpoint or domain it became


class DiscoveryRun(SQLModel, table=True):
    """When each source last ran for an agency, and when it is due again ("ct" is one run for all agencies)."""

    __tablename__ = "discovery_run"
    agency_id: int = Field(sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True))
    source: str = Field(max_length=10, primary_key=True)
    next_due: datetime = _when()
    last_run_at: datetime | None = _when(nullable=True)
    last_status: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, max_length=400)
    last_found: int = 0


class CtLogCursor(SQLModel, table=True):
    """How far each Certificate Transparency log has been read: it survives restarts."""

    __tablename__ = "ct_log_cursor"
    log_url: str = Field(max_length=500, primary_key=True)
    cursor: dict[str, Any] = _json()
    updated_at: datetime = _when()
    last_error: str | None = Field(default=None, max_length=400)


# The table handles the queries use, typed, declared once (sqlmodel does not type `Model.__table__`).
_TABLES = SQLModel.metadata.tables
AGENCY: Table = _TABLES["agency"]
SCOPE: Table = _TABLES["scope"]
ENDPOINT: Table = _TABLES["endpoint"]
CHECK_STATE: Table = _TABLES["check_state"]
LATEST: Table = _TABLES["latest_result"]
FINDING: Table = _TABLES["finding"]
SCAN_RUN: Table = _TABLES["scan_run"]
OUTBOX: Table = _TABLES["outbox"]
AUDIT_LOG: Table = _TABLES["audit_log"]
API_TOKEN: Table = _TABLES["api_token"]
SCOPE_REQUEST: Table = _TABLES["scope_request"]
WEB_SESSION: Table = _TABLES["web_session"]
CONTACT: Table = _TABLES["contact"]
ARCHIVED_REPORT: Table = _TABLES["archived_report"]
DELIVERY: Table = _TABLES["delivery"]
VULN_SOURCE: Table = _TABLES["vuln_source"]
VULN_KEV: Table = _TABLES["vuln_kev"]
VULN_CVE: Table = _TABLES["vuln_cve"]
VULN_CPE_MATCH: Table = _TABLES["vuln_cpe_match"]
VULN_EOL_PRODUCT: Table = _TABLES["vuln_eol_product"]
VULN_EOL_CYCLE: Table = _TABLES["vuln_eol_cycle"]
DISCOVERY_CANDIDATE: Table = _TABLES["discovery_candidate"]
DISCOVERY_RUN: Table = _TABLES["discovery_run"]
CT_LOG_CURSOR: Table = _TABLES["ct_log_cursor"]
