"""Settings: POSTURE_* environment variables over an optional TOML file; strict, validated at start."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import stat
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as SourceError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from checks import REGISTRY, Registry
from checks.base import CheckConfig, InvalidSetting
from monitor.discovery.ct import CtLog
from monitor.discovery.models import SOURCES as DISCOVERY_SOURCES
from monitor.durations import MIN_INTERVAL_S, parse_duration
from monitor.errors import InvalidInput
from monitor.models import Severity
from monitor.report_schedule import ReportSchedule
from monitor.scope import normalise_host, parse_ip
from monitor.scope_resolution import nameserver_address
from monitor.usecases.contacts import email_address

ENV_PREFIX = "POSTURE_"
CONFIG_FILE_ENV = "POSTURE_CONFIG_FILE"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/posture.db"
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The config file of the load_settings call in progress: per thread and per asyncio task, unlike a class attribute.
_file_source: ContextVar[TomlConfigSettingsSource | None] = ContextVar("_file_source", default=None)


_WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 (compared with, never bound to)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# a sweep is the loudest source: weekly; names in DNS and certificates change more often; CT logs grow by the minute
DISCOVERY_INTERVALS = {"dns": "1d", "sweep": "7d", "certs": "6h", "ct": "1h"}


class SettingsError(Exception):
    """Settings are invalid: one line per problem, each naming the setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB",
        repr=False,  # may hold a password
    )
    http_addr: str = Field(default="127.0.0.1:8080", description="HOST:PORT for /metrics, /healthz, the API")
    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://user:pass@host:1883 or mqtts://…; unset: alerts stay in the outbox",
        repr=False,  # may hold a password
    )
    instance_id: str = Field(default_factory=socket.gethostname, description="names this instance")
    concurrency: int = Field(default=32, ge=1, le=10_000, description="checks running at once, in all")
    per_host_concurrency: int = Field(default=1, ge=1, le=100, description="checks running at once per host")
    default_interval: str = Field(default="1h", description="interval of an endpoint without its own")
    first_runs_per_s: float = Field(
        default=10.0,
        gt=0,
        le=1000,
        description="first runs of newly registered checks admitted per second (a new endpoint runs within seconds)",
    )
    jitter: float = Field(default=0.1, ge=0, le=0.5, description="± share of the interval added at random")
    risk_interval_factor: float = Field(
        default=0.5, gt=0, le=1, description="interval multiplier while high/critical findings are open"
    )
    grace_period_s: float = Field(default=10.0, ge=0, le=600, description="shutdown grace for running checks")
    lease_s: float = Field(default=900.0, ge=10, description="how long a claimed check is owned")
    unreachable_after: int = Field(default=3, ge=1, le=100, description="failed runs before endpoint.unreachable")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    ui_base_url: str = Field(
        default="", description="base of links to findings in alerts, as users reach the UI; empty: http://HTTP_ADDR"
    )
    alert_min_severity: str = Field(default="low", description="events below this severity are not alerted")
    alert_format: Literal["cloudevents", "intelmq"] = Field(
        default="cloudevents", description="MQTT payload: CloudEvents 1.0 JSON, or IntelMQ harmonization"
    )
    mqtt_protocol: Literal["5", "3.1.1"] = Field(default="5", description="MQTT protocol version")
    mqtt_ca_file: Path | None = Field(default=None, description="CA bundle to verify an mqtts:// broker")
    mqtt_cert_file: Path | None = Field(default=None, description="client certificate (PEM) for mqtts://")
    mqtt_key_file: Path | None = Field(default=None, description="client key (PEM) for mqtts://")
    mqtt_password_file: Path | None = Field(default=None, description="file holding the MQTT password")
    mqtt_topic_prefix: str = Field(default="posture/v1", description="prefix of every topic")
    reopen_window: str = Field(default="90d", description="a finding back within this reopens the old one")
    reminder_critical: str = Field(default="7d", description="re-announce open critical findings this often")
    reminder_high: str = Field(default="14d", description="re-announce open high findings this often")
    reminder_medium: str = Field(default="60d", description="re-announce open medium findings this often")
    deadline_critical: str = Field(default="15d", description="remediation deadline of critical findings")
    deadline_high: str = Field(default="30d", description="remediation deadline of high findings (KEV: CISA's)")
    flap_threshold: int = Field(default=4, ge=2, le=100, description="open/resolve changes that make a flap")
    flap_window: str = Field(default="1d", description="window for flap_threshold")
    dns_servers: list[str] = Field(
        default_factory=list, description="name servers for scan-time resolution and TXT verification; [] = system"
    )
    mail_providers: list[str] = Field(
        default_factory=list,
        description="name suffixes of hosted mail providers whose MX hosts the mail check may probe although no "
        'agency\'s scope holds them (e.g. "mail.protection.outlook.com"); [] = probe in-scope MX hosts only',
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="CIDRs of the reverse proxies in front of the API/UI, whose X-Forwarded-For names the client",
    )
    vulndb_refresh_s: float = Field(
        default=300.0, ge=5, le=86400, description="how often the daemon looks for a new vulnerability database"
    )
    metrics_refresh_s: float = Field(default=15.0, ge=0.5, le=600, description="how often /metrics is re-rendered")
    scan_history_days: int = Field(default=90, ge=1, le=3650, description="scan runs older than this are deleted")
    sweep_interval_s: float = Field(default=60.0, ge=1, le=3600, description="how often reminders/deadlines run")
    smtp_host: str | None = Field(default=None, description="mail server for the weekly reports; unset: none sent")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="its port (587: submission with STARTTLS)")
    smtp_tls: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (required), tls (implicit, port 465), none (loopback hosts only)"
    )
    smtp_username: str | None = Field(default=None, description="SMTP AUTH user; unset: no authentication")
    smtp_password_file: Path | None = Field(default=None, description="file holding the SMTP password")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the mail server; unset: system")
    smtp_timeout_s: float = Field(default=60.0, gt=0, le=600, description="time limit of one SMTP conversation")
    report_from: str = Field(default="", description="From address of the report mails (required with smtp_host)")
    report_schedule: str = Field(default="MON 07:00", description="weekday and time (Europe/Berlin) reports go out")
    report_keep_weeks: int = Field(default=52, ge=1, le=520, description="archived reports older than this are deleted")
    report_retry_for: str = Field(default="7d", description="a failed delivery is retried with backoff for this long")
    checks: dict[str, dict[str, Any]] = Field(default_factory=dict, description="per-check settings by name")
    discovery_sources: list[str] = Field(
        default_factory=lambda: [str(name) for name in DISCOVERY_SOURCES],
        description="the discovery sources the daemon runs: dns, sweep, certs, ct (docs/discovery.md); [] = none",
    )
    discovery_intervals: dict[str, str] = Field(
        default_factory=lambda: dict(DISCOVERY_INTERVALS),
        description='how often each source runs per agency (ct: for all), e.g. {"sweep": "7d"}; unnamed: default',
    )
    ct_logs: list[str] = Field(
        default_factory=list,
        description="Certificate Transparency logs to read: an RFC 6962 log's URL, or static:URL for a static-ct-api "
        "(tiles) log; [] = the ct source reads nothing",
    )
    ct_backlog: int = Field(
        default=0,
        ge=0,
        le=10_000_000,
        description="entries before its current end that a CT log read for the first time starts from (0: only new)",
    )
    sweep_max_rate: int = Field(default=300, ge=1, le=100_000, description="packets per second of the address sweep")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        file_source = _file_source.get()
        return (init_settings, env_settings) if file_source is None else (init_settings, env_settings, file_source)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if scheme not in {"sqlite+aiosqlite", "postgresql+asyncpg"}:
            raise ValueError("must start with sqlite+aiosqlite:/// or postgresql+asyncpg://")
        try:  # the messages name the part at fault, never the value: the URL may hold a password
            make_url(value)
        except ValueError:
            raise ValueError("is not a valid URL (is the port a number?)") from None
        except ArgumentError:
            raise ValueError("is not a valid URL") from None
        return value

    @field_validator("http_addr")
    @classmethod
    def _http_addr(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{value!r} is not HOST:PORT")
        return value

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
            raise ValueError("must look like mqtt://user:pass@host:1883 or mqtts://host:8883")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("port is not a number in 1-65535") from None
        return value

    @field_validator("smtp_host")
    @classmethod
    def _smtp_host(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else normalise_host(value, "smtp_host")

    @field_validator("report_schedule")
    @classmethod
    def _report_schedule(cls, value: str) -> str:
        try:
            return str(ReportSchedule.parse(value))
        except InvalidInput as err:
            raise ValueError(err.reason) from None

    @field_validator("report_from")
    @classmethod
    def _report_from(cls, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return email_address(value)
        except InvalidInput as err:
            raise ValueError(err.reason) from None

    @field_validator("ui_base_url")
    @classmethod
    def _ui_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment):
            raise ValueError("must look like https://posture.example.org or http://HOST:PORT (or be empty)")
        try:
            _ = parts.port
        except ValueError:
            raise ValueError("port is not a number in 1-65535") from None
        return value.rstrip("/")

    @field_validator("instance_id")
    @classmethod
    def _instance_id(cls, value: str) -> str:
        if not _INSTANCE_ID.match(value):
            raise ValueError("1-64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
        return value

    @field_validator("default_interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_duration(value, minimum_s=MIN_INTERVAL_S)
        return value

    @field_validator(
        "reopen_window",
        "reminder_critical",
        "reminder_high",
        "reminder_medium",
        "deadline_critical",
        "deadline_high",
        "flap_window",
        "report_retry_for",
    )
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value, minimum_s=1)
        return value

    @field_validator("discovery_sources")
    @classmethod
    def _discovery_sources(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in DISCOVERY_SOURCES]
        if unknown:
            raise ValueError(f"unknown source {unknown[0]!r}; known: {', '.join(DISCOVERY_SOURCES)}")
        return list(dict.fromkeys(value))

    @field_validator("discovery_intervals")
    @classmethod
    def _discovery_intervals(cls, value: dict[str, str]) -> dict[str, str]:
        for name, interval in value.items():
            if name not in DISCOVERY_SOURCES:
                raise ValueError(f"unknown source {name!r}; known: {', '.join(DISCOVERY_SOURCES)}")
            parse_duration(interval, minimum_s=60)
        return {**DISCOVERY_INTERVALS, **value}

    @field_validator("ct_logs")
    @classmethod
    def _ct_logs(cls, value: list[str]) -> list[str]:
        for spec in value:
            CtLog.parse(spec)
        return value

    @field_validator("dns_servers")
    @classmethod
    def _dns_servers(cls, value: list[str]) -> list[str]:
        for spec in value:
            nameserver_address(spec)
        return value

    @field_validator("mail_providers")
    @classmethod
    def _mail_providers(cls, value: list[str]) -> list[str]:
        suffixes = [normalise_host(suffix.strip().removeprefix("*."), "mail_providers") for suffix in value]
        addresses = [suffix for suffix in suffixes if parse_ip(suffix) is not None]
        if addresses:
            raise ValueError(f"{addresses[0]} is an address; a provider is named by a DNS name suffix")
        return suffixes

    @field_validator("trusted_proxies")
    @classmethod
    def _trusted_proxies(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not an IP address or CIDR") from None
        return value

    @field_validator("alert_min_severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        return Severity.parse(value).label

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _topic_prefix(cls, value: str) -> str:
        if not value or any(ch in value for ch in "+#\x00") or value.startswith("/") or value.endswith("/"):
            raise ValueError("must be a topic path without wildcards or leading/trailing '/'")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @property
    def default_interval_s(self) -> float:
        return parse_duration(self.default_interval)

    @property
    def http_host_port(self) -> tuple[str, int]:
        host, _, port = self.http_addr.rpartition(":")
        return host.strip("[]"), int(port)

    # --- links in alerts: where users reach the UI -------------------------------------------------------------

    @property
    def own_base(self) -> str:
        """This daemon's own HTTP address as a URL (a wildcard address by the host's name)."""
        host, port = self.http_host_port
        if host in _WILDCARDS:
            host = socket.gethostname()
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def ui_base(self) -> str:
        """Base of the links in alerts: POSTURE_UI_BASE_URL, or else this daemon's own address."""
        return self.ui_base_url or self.own_base

    def ui_base_mismatch(self) -> str | None:
        """Why alert links may not reach this daemon (one line), or None when POSTURE_UI_BASE_URL is its address."""
        if not self.ui_base_url:
            return None
        parts = urlsplit(self.ui_base_url)
        link_host = (parts.hostname or "").lower()
        link_port = parts.port or (443 if parts.scheme == "https" else 80)
        host, port = self.http_host_port
        same_host = host in _WILDCARDS or link_host == host.lower() or (_loopback(link_host) and _loopback(host))
        if same_host and link_port == port:
            return None
        return (
            f"POSTURE_UI_BASE_URL {self.ui_base_url} is not this daemon's address http://{self.http_addr}: "
            "the links in alerts lead elsewhere unless a reverse proxy there forwards to this address"
        )


def load_settings(
    config_file: Path | None = None,
    registry: Registry = REGISTRY,
) -> Settings:
    """Settings from the environment and an optional TOML file, or SettingsError naming every problem."""
    env = os.environ
    path = config_file or (Path(env[CONFIG_FILE_ENV]) if env.get(CONFIG_FILE_ENV) else None)
    file_source = _read_toml(path) if path else None
    known = set(Settings.model_fields)
    problems = [
        f"{name}: unknown setting (known: {', '.join(ENV_PREFIX + k.upper() for k in sorted(known))})"
        for name in sorted(env)
        if name.startswith(ENV_PREFIX) and name != CONFIG_FILE_ENV and name[len(ENV_PREFIX) :].lower() not in known
    ]
    if problems:
        raise SettingsError(problems)
    token = _file_source.set(file_source)
    try:
        settings = Settings()
    except ValidationError as err:
        raise SettingsError(_describe(err, path)) from None
    except SourceError as err:  # a list or table setting whose environment value is not JSON
        found = re.search(r'field "(\w+)"', str(err))
        name = ENV_PREFIX + found.group(1).upper() if found else "environment"
        raise SettingsError([f"{name}: not valid JSON (a list or table setting takes JSON, e.g. [] or {{}})"]) from None
    finally:
        _file_source.reset(token)
    check_configs(settings, registry)
    return settings


def check_configs(settings: Settings, registry: Registry = REGISTRY) -> dict[str, CheckConfig]:
    """Each registered check's validated config; unknown check names and keys are errors."""
    problems = [
        f"checks.{name}: unknown check (known: {', '.join(sorted(registry))})"
        for name in settings.checks
        if name not in registry
    ]
    configs: dict[str, CheckConfig] = {}
    for name, check in registry.items():
        try:
            configs[name] = check.config_model.model_validate(settings.checks.get(name, {}))
            check.check_settings_on_host(configs[name])
        except ValidationError as err:
            problems += [f"checks.{name}.{line}" for line in _describe(err, None)]
        except InvalidSetting as err:
            problems.append(f"checks.{name}.{err}")
    if problems:
        raise SettingsError(problems)
    return configs


def _read_toml(path: Path) -> TomlConfigSettingsSource:
    try:  # the source silently skips a path that is missing or not a regular file
        regular = stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        raise SettingsError([f"config file {path}: not found"]) from None
    except OSError as err:
        raise SettingsError([f"config file {path}: {err}"]) from None
    if not regular:
        raise SettingsError([f"config file {path}: not a regular file"])
    try:  # absolute(): the source would expand a leading ~, reading another file than the one checked
        return TomlConfigSettingsSource(Settings, toml_file=path.absolute())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SettingsError([f"config file {path}: {err}"]) from None
    except UnicodeDecodeError as err:
        raise SettingsError([f"config file {path}: not UTF-8 text (byte {err.start})"]) from None


def _describe(err: ValidationError, path: Path | None) -> list[str]:
    where = f" (in {path})" if path else ""
    lines = []
    for problem in err.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown setting"
        lines.append(f"{field}: {message}{where}")
    return lines


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("alembic", "sslyze"):  # sslyze logs two very long INFO lines per scan
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLevelName(level)))
