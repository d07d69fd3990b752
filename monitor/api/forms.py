"""The web UI's forms: each field read from what was posted, each mistake a sentence in the reader's language.

A form is checked here before any use case sees it, so that every message names the field and the fix in the
reader's words (not a library's English); the use cases check the same rules again for the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.durations import MIN_INTERVAL_S, parse_duration
from monitor.errors import InvalidInput
from monitor.scope import normalise_host, parse_ip
from monitor.usecases.registration import MAX_LABEL_KEY, MAX_LABEL_VALUE

MAX_LABELS = 20
MAX_EXPECTED_PORTS = 100
_HOST_WITH_PORT = re.compile(r"^[^:\[\]]+:\d+$")  # "www.example.de:443"; an IPv6 literal has several colons
_URL_PARTS = ("://", "/", "?", "#", "@")


@dataclass
class Form:
    """What was typed (shown again as it was), and the message for each field at fault."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)


def host_error(raw: str, words: Mapping[str, str]) -> str | None:
    """Why `raw` is no host name or address, in the reader's words; None when it is one."""
    text = raw.strip()
    if not text:
        return words["form_host_missing"]
    if any(part in text for part in _URL_PARTS):
        return words["form_host_url"]
    if _HOST_WITH_PORT.match(text):
        return words["form_host_port"]
    try:
        normalise_host(text)
    except InvalidInput:
        return words["form_host_invalid"]
    return None


def domain_error(raw: str, words: Mapping[str, str]) -> str | None:
    """Why `raw` is no domain name, in the reader's words; None when it is one. A domain is a name: an IP address
    or a port belongs to an endpoint."""
    text = raw.strip()
    if not text:
        return words["form_domain_missing"]
    if any(part in text for part in _URL_PARTS):
        return words["form_domain_url"]
    if _HOST_WITH_PORT.match(text):
        return words["form_domain_port"]
    try:
        name = normalise_host(text, "name")
    except InvalidInput:
        return words["form_domain_invalid"]
    return words["form_domain_ip"] if parse_ip(name) is not None else None


def port_number(raw: str) -> int | None:
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 5 or not 1 <= int(text) <= 65535:
        return None
    return int(text)


def parse_labels(raw: str) -> dict[str, str] | None:
    """`key=value`, one per line (or separated by commas); None when a line is not that."""
    labels: dict[str, str] = {}
    for line in re.split(r"[\n,]", raw):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or len(key) > MAX_LABEL_KEY or len(value) > MAX_LABEL_VALUE:
            return None
        labels[key] = value
    return labels if len(labels) <= MAX_LABELS else None


def parse_ports(raw: str) -> list[int] | None:
    parts = [part for part in re.split(r"[\s,;]+", raw) if part]
    ports = [port_number(part) for part in parts]
    if len(ports) > MAX_EXPECTED_PORTS or any(port is None for port in ports):
        return None
    return sorted({port for port in ports if port is not None})


def interval_ok(raw: str) -> bool:
    try:
        parse_duration(raw.strip(), minimum_s=MIN_INTERVAL_S)
    except ValueError:
        return False
    return True


def settings_form(posted: Mapping[str, Any], checks: Sequence[str], words: Mapping[str, str]) -> Form:
    """The settings every asset (endpoint or domain) is registered with and can change: checks, interval, labels."""
    chosen = [str(name) for name in checks]
    form = Form(
        {
            "checks": chosen,
            "interval": str(posted.get("interval", "")).strip(),
            "labels": str(posted.get("labels", "")),
        }
    )
    if not chosen:
        form.fail("checks", words["form_checks"])
    if form.values["interval"] and not interval_ok(form.values["interval"]):
        form.fail("interval", words["form_interval"])
    if parse_labels(form.values["labels"]) is None:
        form.fail("labels", words["form_labels"])
    return form


def endpoint_settings_form(posted: Mapping[str, Any], checks: Sequence[str], words: Mapping[str, str]) -> Form:
    """The settings an endpoint can be registered with and changed: those of every asset, and expected ports."""
    form = settings_form(posted, checks, words)
    form.values["expected_ports"] = str(posted.get("expected_ports", ""))
    if parse_ports(form.values["expected_ports"]) is None:
        form.fail("expected_ports", words["form_expected_ports"])
    return form


def register_form(posted: Mapping[str, Any], checks: Sequence[str], words: Mapping[str, str]) -> Form:
    form = endpoint_settings_form(posted, checks, words)
    form.values.update({name: str(posted.get(name, "")) for name in ("host", "port", "agency")})
    problem = host_error(form.values["host"], words)
    if problem:
        form.fail("host", problem)
    if port_number(form.values["port"]) is None:
        form.fail("port", words["form_port"])
    return form


def domain_form(posted: Mapping[str, Any], checks: Sequence[str], words: Mapping[str, str]) -> Form:
    """A domain to register: its name, the agency (an admin's choice) and the settings of every asset."""
    form = settings_form(posted, checks, words)
    form.values.update({name: str(posted.get(name, "")) for name in ("name", "agency")})
    problem = domain_error(form.values["name"], words)
    if problem:
        form.fail("name", problem)
    return form


def labels_text(labels: Mapping[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in sorted(labels.items()))


def ports_text(ports: Sequence[int]) -> str:
    return ", ".join(str(port) for port in ports)
