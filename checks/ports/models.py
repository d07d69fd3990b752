"""Typed settings and facts of the ports check."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from checks.base import CheckConfig, CheckDetails
from checks.ports.portspec import PortSelection, format_ports, parse_port_list, parse_port_spec


class PortsConfig(CheckConfig):
    """Settings of one ports scan. Nothing here is passed to nmap verbatim: every value is validated and typed."""

    timeout_s: float = Field(default=180.0, gt=0, le=3600, description="deadline of one run (both nmap phases)")
    ports: str = Field(
        default="default",
        description="port SPEC: 'default', 'top:N', or a list such as '22,80,8000-8100' (CLI: --ports SPEC)",
    )
    expected_ports: frozenset[int] | None = Field(
        default=None,
        description="the agency's declared baseline of open TCP ports; None = no baseline, no ports.unexpected",
    )
    timing: int = Field(default=3, ge=0, le=5, description="nmap timing template -T0 … -T5 (3 = nmap's normal)")
    max_rate: float | None = Field(default=300.0, gt=0, le=100_000, description="nmap --max-rate (probes per second)")
    max_parallelism: int | None = Field(default=None, ge=1, le=1024, description="nmap --max-parallelism")
    host_timeout_s: float = Field(default=90.0, gt=0, le=3600, description="per-host limit of the open-port pass")
    version_detection: bool = Field(default=True, description="fingerprint open ports with -sV")
    version_intensity: int = Field(default=2, ge=0, le=9, description="-sV intensity; 2 is --version-light")
    version_host_timeout_s: float = Field(
        default=60.0, gt=0, le=3600, description="per-host limit of the version pass (a TLS port may take 30 s)"
    )
    full_scan_every_s: float = Field(
        default=0,
        ge=0,
        description="between full scans, a TCP connect probe of the ports open at the last full scan; nmap runs "
        "only when one of them closed, the address changed or this much time passed (0: always a full scan)",
    )
    probe_timeout_s: float = Field(default=3.0, gt=0, le=60, description="connect timeout of one probed port")

    @field_validator("ports", mode="before")
    @classmethod
    def _normalise_ports(cls, value: Any) -> Any:
        if isinstance(value, list | tuple | set | frozenset) and all(isinstance(p, int) for p in value):
            value = format_ports(value) if value else ""
        if isinstance(value, str):
            return parse_port_spec(value).canonical
        return value

    @field_validator("expected_ports", mode="before")
    @classmethod
    def _parse_expected(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(parse_port_list(value)) if value.strip() else frozenset()
        return value

    @field_validator("expected_ports")
    @classmethod
    def _check_expected(cls, value: frozenset[int] | None) -> frozenset[int] | None:
        bad = sorted(p for p in value or () if not 1 <= p <= 65535)
        if bad:
            raise ValueError(f"expected_ports outside 1-65535: {bad}")
        return value

    @model_validator(mode="after")
    def _deadline_covers_phases(self) -> PortsConfig:
        needed = self.host_timeout_s + (self.version_host_timeout_s if self.version_detection else 0.0)
        if self.timeout_s < needed:
            raise ValueError(
                f"timeout_s ({self.timeout_s:g}) must be at least host_timeout_s + version_host_timeout_s "
                f"({needed:g}); otherwise the run is cut before nmap's own per-host limits apply"
            )
        selection = self.selection
        count = selection.top if selection.top is not None else len(selection.ports)
        if self.max_rate is not None and count / self.max_rate > self.host_timeout_s:
            raise ValueError(
                f"{count} ports at max_rate {self.max_rate:g}/s need at least {count / self.max_rate:.0f} s, "
                f"more than host_timeout_s ({self.host_timeout_s:g}): raise max_rate or host_timeout_s"
            )
        return self

    @property
    def selection(self) -> PortSelection:
        return parse_port_spec(self.ports)


class OpenPort(BaseModel):
    """One open port as nmap reported it: the fingerprint the patch-status check matches against."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: Literal["tcp", "udp", "sctp"] = "tcp"
    port: int = Field(ge=1, le=65535)
    state: str = "open"
    service: str = Field(default="", description="nmap service name, e.g. 'ssh', 'http', 'redis'; '' if unknown")
    product: str = ""
    version: str = ""
    extrainfo: str = ""
    tunnel: str = Field(default="", description="'ssl' when nmap found the service wrapped in TLS")
    method: str = Field(default="", description="'probed' (version detection matched) or 'table' (port number guess)")
    confidence: int | None = Field(default=None, ge=0, le=10, description="nmap's conf, 0-10")
    cpes: tuple[str, ...] = Field(default=(), description="every CPE nmap reported, in nmap's order")

    @property
    def label(self) -> str:
        return f"{self.port}/{self.protocol}"


class PortsDetails(CheckDetails):
    """What one scan found. Stored as JSON; the next run reads it back as `ctx.peer_details["ports"]`."""

    address: str = Field(description="the IP address nmap scanned (the endpoint host, resolved once per run)")
    scanned: str = Field(description="the ports nmap actually scanned, as ranges: '21-23,80,443'")
    open_ports: tuple[OpenPort, ...] = ()
    version_scan: Literal["done", "timed_out", "skipped"] = Field(
        description="done: -sV ran; timed_out: -sV hit version_host_timeout_s (fingerprints missing); "
        "skipped: switched off or nothing open"
    )
    nmap_version: str = ""
    port_spec: str = Field(default="", description="the configured port SPEC of the full scan ('default', 'top:N', …)")
    scanned_at: datetime | None = Field(
        default=None, description="when nmap ran (connect probes in between keep the last full scan's facts)"
    )

    def open_set(self) -> frozenset[tuple[str, int]]:
        return frozenset((p.protocol, p.port) for p in self.open_ports)
