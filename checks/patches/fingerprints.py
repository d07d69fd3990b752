"""Service fingerprints: nmap's (product, version, CPE) and raw banners, normalised to NVD vendor:product:version.

Banners are attacker-controlled text: they are parsed with anchored, bounded regular expressions, cut to a fixed
length, and kept as data (`evidence`), never interpreted further.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from checks.patches.cpe import ANY, NA, parse_cpe, product_from_name
from checks.ports.models import PortsDetails

MAX_EVIDENCE = 300
_VERSION = r"\d[\w.~+-]*"
# the distribution builds whose packages carry backported fixes under the upstream version number
_DISTRO = re.compile(
    r"\b(ubuntu|debian|deb\d+u\d+|raspbian|red\s?hat|rhel|el[6-9](?:_\d+)?|centos|rocky|alma(?:linux)?|fedora|"
    r"suse|sles|opensuse|amzn\d?|amazon\s?linux|oracle\s?linux|freebsd|gentoo|alpine)\b",
    re.IGNORECASE,
)
_UPDATE_SPLIT: dict[tuple[str, str], re.Pattern[str]] = {
    # OpenSSH portable: 7.4p1 is version 7.4, update p1 (NVD's `openssh:9.3:p1`); OpenBSD's own 9.8 has update "-"
    ("openbsd", "openssh"): re.compile(r"(?P<version>\d+(?:\.\d+)*)(?P<update>p\d+)?"),
    # Tomcat milestones: 9.0.0.M1 / 9.0.0-M1 is version 9.0.0, update milestone1
    ("apache", "tomcat"): re.compile(r"(?P<version>\d+\.\d+\.\d+)(?:[.-]?M(?P<milestone>\d+))?"),
}
_SSH = re.compile(r"SSH-\d+\.\d+-(?P<name>[A-Za-z][\w.-]*?)_(?P<version>" + _VERSION + r")(?:[ -](?P<comment>.*))?")
_GREETING = re.compile(
    r"\b(?P<name>vsFTPd|ProFTPD|Pure-FTPd|Exim|Postfix|Dovecot|Sendmail|FileZilla Server|OpenSMTPD)"
    r"\s+v?(?P<version>" + _VERSION + r")",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<name>[A-Za-z][\w.-]*(?: [A-Za-z][\w.-]*)?)/(?P<version>" + _VERSION + r")(?:\s*\((?P<comment>[^)]{0,80})\))?"
)
_HEADER = re.compile(r"^(?:server|x-powered-by)\s*:\s*", re.IGNORECASE)


class Fingerprint(BaseModel):
    """One product version seen on one port, normalised to NVD's vendor:product."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    port: int = Field(ge=0, le=65535)
    protocol: str = "tcp"
    source: Literal["nmap", "banner"]
    name: str = Field(description="the product name as reported, e.g. 'OpenSSH', 'Apache httpd'")
    vendor: str = Field(default="", description="NVD CPE vendor; '' when the product is not in the alias table")
    product: str = ""
    version: str = ""
    update: str = NA
    evidence: str = Field(default="", description="the raw banner or nmap's product/version/CPE, cut to 300 chars")
    distribution: str | None = Field(default=None, description="a distribution build named in the banner")

    @property
    def known(self) -> bool:
        return bool(self.vendor and self.product and self.version)

    @property
    def label(self) -> str:
        return f"{self.port}/{self.protocol}"

    def evidence_detail(self) -> dict[str, Any]:
        detail: dict[str, Any] = {
            "port": self.port,
            "protocol": self.protocol,
            "source": self.source,
            "product": self.name,
            "version": self.version + ("" if self.update in (NA, ANY, "") else self.update),
            "evidence": self.evidence,
        }
        if self.vendor:
            detail["cpe"] = f"cpe:2.3:a:{self.vendor}:{self.product}:{self.version}:{self.update}:*:*:*:*:*:*"
        if self.distribution:
            detail["distribution"] = self.distribution
        return detail


@dataclass(frozen=True, slots=True)
class BannerProduct:
    name: str
    version: str
    comment: str = ""


def parse_banner(text: str) -> list[BannerProduct]:
    """Products named in one banner line: SSH identification, FTP/SMTP greeting, HTTP Server / X-Powered-By."""
    line = _HEADER.sub("", " ".join(text[:1000].split()))
    ssh = _SSH.search(line)
    if ssh:
        return [BannerProduct(ssh["name"], _clean_version(ssh["version"]), (ssh["comment"] or "")[:120])]
    greeting = _GREETING.search(line)
    if greeting:
        return [BannerProduct(greeting["name"], _clean_version(greeting["version"]), line)]
    return [
        BannerProduct(m["name"], _clean_version(m["version"]), m["comment"] or "")
        for m in _TOKEN.finditer(line)
        if not m["name"].lower().startswith("http")
    ]


def from_banner(text: str, port: int = 0, protocol: str = "tcp") -> list[Fingerprint]:
    evidence = _cut(text)
    fingerprints = []
    for found in parse_banner(text):
        named = product_from_name(found.name)
        fingerprints.append(
            _normalised(
                port,
                protocol,
                "banner",
                found.name,
                named,
                found.version,
                evidence,
                _distribution(found.comment, found.version),
            )
        )
    # "Apache/2.4.38 (Debian) PHP/7.3": the distribution in one token applies to the whole server line
    distro = next((f.distribution for f in fingerprints if f.distribution), None)
    if distro:
        fingerprints = [f if f.distribution else f.model_copy(update={"distribution": distro}) for f in fingerprints]
    return fingerprints


def from_nmap_port(port: Mapping[str, Any]) -> Fingerprint | None:
    """The fingerprint of one ports-check `OpenPort` (as its JSON form), or None when nmap named no product."""
    name, raw_version = str(port.get("product") or ""), str(port.get("version") or "")
    extrainfo = str(port.get("extrainfo") or "")
    named: tuple[str, str] | None = None
    cpe_version = ""
    for text in port.get("cpes") or ():
        try:
            cpe = parse_cpe(str(text))
        except ValueError:
            continue
        if cpe.part == "a":
            named = (cpe.vendor, cpe.product)
            cpe_version = cpe.version if cpe.version not in (ANY, NA) else ""
            break
    if named is None and name:
        named = product_from_name(name)
    if not name and named is None:
        return None
    version = _clean_version(raw_version) or _clean_version(cpe_version)
    cpes = " ".join(str(c) for c in port.get("cpes") or ())
    evidence = _cut(" ".join(p for p in (name, raw_version, f"({extrainfo})" if extrainfo else "", cpes) if p))
    return _normalised(
        int(port.get("port") or 0),
        str(port.get("protocol") or "tcp"),
        "nmap",
        name or (named[1] if named else ""),
        named,
        version,
        evidence,
        _distribution(f"{raw_version} {extrainfo}", version),
    )


def from_ports_details(details: PortsDetails | None) -> list[Fingerprint]:
    """Fingerprints of the ports check's details (none when the endpoint has no ports facts yet)."""
    found = []
    for port in details.open_ports if details is not None else ():
        try:
            fingerprint = from_nmap_port(port.model_dump(mode="json"))
        except (TypeError, ValueError):  # a version or CPE text that does not parse gives no fingerprint
            continue
        if fingerprint is not None:
            found.append(fingerprint)
    return found


def merge(primary: Iterable[Fingerprint], extra: Iterable[Fingerprint]) -> list[Fingerprint]:
    """`primary` plus `extra`; an `extra` fingerprint replaces a version-less one of the same product and port."""
    merged = list(primary)
    index = {_identity(f): position for position, f in enumerate(merged)}
    for fingerprint in extra:
        key = _identity(fingerprint)
        if key not in index:
            index[key] = len(merged)
            merged.append(fingerprint)
        elif fingerprint.version and not merged[index[key]].version:
            merged[index[key]] = fingerprint
    return merged


def _identity(f: Fingerprint) -> tuple[int, str, str, str]:
    return f.port, f.protocol, f.vendor, f.product or f.name.lower()


def _normalised(
    port: int,
    protocol: str,
    source: Literal["nmap", "banner"],
    name: str,
    named: tuple[str, str] | None,
    version: str,
    evidence: str,
    distribution: str | None,
) -> Fingerprint:
    vendor, product = named or ("", "")
    update = NA
    splitter = _UPDATE_SPLIT.get((vendor, product))
    parsed = splitter.fullmatch(version) if splitter and version else None
    if parsed:
        groups = parsed.groupdict()
        version = groups["version"]
        if groups.get("update"):
            update = groups["update"]
        elif groups.get("milestone"):
            update = f"milestone{groups['milestone']}"
    return Fingerprint(
        port=port,
        protocol=protocol,
        source=source,
        name=name[:80],
        vendor=vendor,
        product=product,
        version=version[:60],
        update=update[:40],
        evidence=evidence,
        distribution=distribution,
    )


def _clean_version(text: str) -> str:
    """The leading version token: `8.9p1 Ubuntu 3ubuntu0.6` → `8.9p1`; `2.4.49` stays; `` stays empty."""
    found = re.match(_VERSION, text.strip())
    return found.group(0).rstrip(".-_~+") if found else ""


def _distribution(text: str, version: str) -> str | None:
    found = _DISTRO.search(text) or _DISTRO.search(version)
    return found.group(1).lower().replace(" ", "") if found else None


def _cut(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_EVIDENCE else line[: MAX_EVIDENCE - 1] + "…"
