"""TLS check settings and typed facts. The facts are stored as JSON and re-judged without a new scan."""

from __future__ import annotations

from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from checks.base import CheckConfig, CheckDetails, Facts

# the certificate facts live with the trust code both certificate-judging checks share; re-exported for the TLS code
from checks.shared.cert_models import CertificateChain as CertificateChain
from checks.shared.cert_models import CertificateFacts as CertificateFacts
from checks.shared.cert_models import TrustVerdict as TrustVerdict

ProfileName = Literal["bsi_tr_02102_2", "mozilla_intermediate"]
PROTOCOLS: tuple[str, ...] = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# sslyze's scan command (a field of its AllScanCommandsAttempts) that lists each protocol's suites
CIPHER_COMMANDS: dict[str, str] = {
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}
StarttlsSetting = Literal["auto", "none", "smtp"]
SMTP_STARTTLS_PORTS = frozenset({25, 587})  # SMTP and submission (RFC 6409); 465 is implicit TLS (RFC 8314)
DH_PROBE = "dh_groups"  # our own ClientHello offering only DH suites (checks/tls/hello.py): a part of its own


class TlsConfig(CheckConfig):
    timeout_s: float = Field(
        default=120.0, gt=0, le=3600, description="deadline of one scan; what completed by then is judged"
    )
    network_timeout_s: int = Field(default=5, ge=1, le=60, description="sslyze socket timeout per connection")
    network_max_retries: int = Field(default=2, ge=0, le=5)
    connections_per_server: int = Field(
        default=5,
        ge=1,
        le=20,
        description="sslyze's parallel connections to one server (politeness); tests whose handshakes a reset or "
        "time-out cut short are run again one at a time, and a server that needed it is scanned one at a time "
        "from then on",
    )
    address: IPv4Address | IPv6Address | None = Field(
        default=None,
        description="connect here instead of resolving the host (the address the scope check approved); "
        "SNI and the name check still use the host",
    )
    ca_file: Path | None = Field(default=None, description="extra PEM trust anchors (an internal PKI's root)")
    profiles: tuple[ProfileName, ...] = Field(
        default=("bsi_tr_02102_2",), description="compliance profiles to report on"
    )
    http_headers: bool = Field(
        default=True, description="ask for HTTP headers (HSTS) over TLS (never through SMTP STARTTLS)"
    )
    starttls: StarttlsSetting = Field(
        default="auto",
        description="'smtp': greet, EHLO and STARTTLS (RFC 3207) before every TLS handshake, e.g. an MX; "
        "'none': TLS from the first byte; 'auto': 'smtp' on ports 25 and 587, else 'none' (465 is implicit TLS)",
    )
    expiry_warning_days: tuple[int, int, int] = Field(
        default=(30, 14, 7), description="days left at which tls.cert.expiring is low / medium / high"
    )
    hsts_min_max_age_s: int = Field(default=15_552_000, ge=0, description="180 days")
    full_scan_every_s: float = Field(
        default=0,
        ge=0,
        description="between full scans, one quick handshake; a full scan only when the certificate, protocol "
        "or cipher changed or this much time passed since the last one (0: always a full scan)",
    )

    def starttls_for(self, port: int) -> Literal["smtp"] | None:
        """The protocol spoken before TLS on `port` (None: TLS from the first byte)."""
        if self.starttls == "auto":
            return "smtp" if port in SMTP_STARTTLS_PORTS else None
        return "smtp" if self.starttls == "smtp" else None

    def asks_http(self, port: int) -> bool:
        """Whether the scan asks for HTTP headers: no HTTP is spoken after STARTTLS on a mail server."""
        return self.http_headers and self.starttls_for(port) is None

    @field_validator("expiry_warning_days")
    @classmethod
    def _descending(cls, value: tuple[int, int, int]) -> tuple[int, int, int]:
        if not (value[0] >= value[1] >= value[2] >= 0):
            raise ValueError("expiry_warning_days must be descending, e.g. (30, 14, 7)")
        return value

    @field_validator("profiles")
    @classmethod
    def _unique(cls, value: tuple[ProfileName, ...]) -> tuple[ProfileName, ...]:
        if len(set(value)) != len(value):
            raise ValueError("profiles are listed twice")
        return value


class AcceptedSuite(Facts):
    name: str
    bits: int
    group: str | None = None  # ephemeral key: curve name or "DH"
    group_bits: int | None = None


class HttpFacts(Facts):
    answered: bool  # an HTTP response came back over TLS
    hsts_max_age: int | None = None
    hsts_present: bool = False
    hsts_include_subdomains: bool = False
    error: str | None = None


class VulnFacts(Facts):
    heartbleed: bool | None = None
    ccs_injection: bool | None = None
    robot: str | None = None  # sslyze's RobotScanResultEnum value
    compression: bool | None = None
    secure_renegotiation: bool | None = None
    client_renegotiation: bool | None = None
    fallback_scsv: bool | None = None
    extended_master_secret: bool | None = None


class Handshake(Facts):
    """What one quick handshake shows: enough to tell whether the server changed since the full scan."""

    certificate_sha256: str
    protocol: str
    cipher: str


class TlsDetails(CheckDetails):
    host: str
    port: int
    sni: str
    # the scan went through SMTP STARTTLS (RFC 3207) before each handshake; None: TLS from the first byte
    starttls: Literal["smtp"] | None = None
    certificate: CertificateChain | None
    suites: dict[str, tuple[AcceptedSuite, ...]] = Field(
        default_factory=dict, description="accepted suites per supported protocol version"
    )
    curves: tuple[str, ...] = ()  # supported key-exchange curves (elliptic_curves scan)
    vulns: VulnFacts = VulnFacts()
    http: HttpFacts | None = None
    mozilla_intermediate: dict[str, str] | None = None  # sslyze's checker: requirement → problem
    # parts not tested in this run (sslyze scan command, or our own probe) → short reason; see checks/tls/facts.py
    scan_errors: dict[str, str] = Field(default_factory=dict)
    # sslyze's connections at a time that this server took; 1 when commands that failed in parallel worked one by one
    connection_limit: int | None = None
    # judged at scan time with the same pure functions evaluate() uses (for metrics and the UI)
    weakest_suite: str | None = None
    grade: str | None = None
    compliance: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    # quick probes between full scans (full_scan_every_s): the full scan's time and its handshake
    scanned_at: datetime | None = None
    handshake: Handshake | None = None

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(p for p in PROTOCOLS if p in self.suites)

    def tested(self, protocol: str) -> bool:
        """Whether this run enumerated `protocol`'s suites (absent from `suites` then means: not offered)."""
        command = next(c for c, label in CIPHER_COMMANDS.items() if label == protocol)
        return command not in self.scan_errors
