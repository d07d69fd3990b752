"""Parsers of the three public feeds: CISA KEV, NVD CVE records (API 2.0), endoflife.date release cycles.

Pure functions over bytes and parsed JSON, plus one streaming reader for large NVD files, so a 50 MB API response
never sits in memory as Python objects at once. Every malformed or truncated input raises `FeedError` with one
line that names the file and the problem; nothing is half-accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

from checks.patches.cpe import parse_cpe
from checks.patches.vulndb import Criterion, CveInfo, EolCycle, EolProduct, KevEntry

CVE_ID = re.compile(r"CVE-\d{4}-\d{4,}")
_CHUNK = 1 << 20
_API_RESPONSE = re.compile(r'"vulnerabilities"\s*:\s*\[')
_SEVERITIES = ("critical", "high", "medium", "low", "none")
# NVD metric lists, best first: CVSS v4, v3.1, v3.0, then v2 as the last resort
_METRICS = ("cvssMetricV40", "cvssMetricV31", "cvssMetricV30", "cvssMetricV2")


class FeedError(ValueError):
    """A feed that cannot be trusted: corrupt, truncated, or not the expected format."""


@dataclass(frozen=True, slots=True)
class KevCatalog:
    version: str
    released: str
    entries: tuple[KevEntry, ...]


@dataclass(frozen=True, slots=True)
class NvdRecord:
    info: CveInfo
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class EolData:
    product: EolProduct
    cycles: tuple[EolCycle, ...]


# --- KEV ---------------------------------------------------------------------------------------------------------


def parse_kev(raw: bytes, origin: str = "KEV feed") -> KevCatalog:
    document = _json(raw, origin)
    if not isinstance(document, dict) or not isinstance(document.get("vulnerabilities"), list):
        raise FeedError(f"{origin}: not a KEV catalog (no 'vulnerabilities' list)")
    items = document["vulnerabilities"]
    count = document.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count != len(items):
        raise FeedError(f"{origin}: 'count' says {count!r} but the catalog lists {len(items)} entries")
    entries = [_kev_entry(item, origin, index) for index, item in enumerate(items)]
    return KevCatalog(str(document.get("catalogVersion", "")), str(document.get("dateReleased", "")), tuple(entries))


def _kev_entry(item: Any, origin: str, index: int) -> KevEntry:
    if not isinstance(item, dict):
        raise FeedError(f"{origin}: entry {index} is not an object")
    cve = item.get("cveID")
    if not isinstance(cve, str) or not CVE_ID.fullmatch(cve):
        raise FeedError(f"{origin}: entry {index} has no valid cveID")
    due = _iso_date(item.get("dueDate"), f"{origin}: {cve} dueDate")
    added = _iso_date(item.get("dateAdded"), f"{origin}: {cve} dateAdded")
    return KevEntry(
        cve=cve,
        vendor_project=str(item.get("vendorProject", "")),
        product=str(item.get("product", "")),
        name=str(item.get("vulnerabilityName", "")),
        date_added=added,
        due_date=due,
        required_action=str(item.get("requiredAction", "")),
        known_ransomware=str(item.get("knownRansomwareCampaignUse", "")).strip().lower() == "known",
        short_description=str(item.get("shortDescription", "")),
    )


# --- NVD ---------------------------------------------------------------------------------------------------------


def parse_nvd_record(cve: Any, origin: str = "NVD record") -> NvdRecord:
    """One CVE JSON 2.0 `cve` object → what matching needs. A record without configurations has no criteria."""
    if not isinstance(cve, dict) or not isinstance(cve.get("id"), str) or not CVE_ID.fullmatch(cve["id"]):
        raise FeedError(f"{origin}: not an NVD CVE record (no valid 'id')")
    cve_id = cve["id"]
    severity, score, vector, version = _cvss(cve.get("metrics"), f"{origin}: {cve_id}")
    descriptions = _items(cve.get("descriptions"), f"{origin}: {cve_id} 'descriptions'")
    description = next((d.get("value", "") for d in descriptions if isinstance(d, dict) and d.get("lang") == "en"), "")
    info = CveInfo(
        cve=cve_id,
        severity=severity,
        score=score,
        vector=vector,
        cvss_version=version,
        description=str(description),
        published=str(cve.get("published", "")),
        last_modified=str(cve.get("lastModified", "")),
        status=str(cve.get("vulnStatus", "")),
    )
    criteria: list[Criterion] = []
    configurations = cve.get("configurations") or []
    if not isinstance(configurations, list):
        raise FeedError(f"{origin}: {cve_id} 'configurations' is not a list")
    for configuration in configurations:
        nodes = configuration.get("nodes") if isinstance(configuration, dict) else None
        if not isinstance(nodes, list):
            raise FeedError(f"{origin}: {cve_id} has a configuration without nodes")
        platform = str(configuration.get("operator", "OR")).upper() == "AND" and len(nodes) > 1
        for node in nodes:
            if not isinstance(node, dict) or node.get("negate"):
                continue  # a negated node excludes platforms; a banner cannot tell them apart
            for entry in _items(node.get("cpeMatch"), f"{origin}: {cve_id} 'cpeMatch'"):
                if isinstance(entry, dict) and entry.get("vulnerable"):
                    criteria.append(_criterion(cve_id, entry, platform, origin))
    return NvdRecord(info, tuple(criteria))


def _criterion(cve_id: str, entry: Mapping[str, Any], platform: bool, origin: str) -> Criterion:
    try:
        cpe = parse_cpe(str(entry.get("criteria", "")))
    except ValueError as err:
        raise FeedError(f"{origin}: {cve_id}: {err}") from None
    bounds = {}
    for key, name in (
        ("versionStartIncluding", "start_including"),
        ("versionStartExcluding", "start_excluding"),
        ("versionEndIncluding", "end_including"),
        ("versionEndExcluding", "end_excluding"),
    ):
        value = entry.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise FeedError(f"{origin}: {cve_id}: {key} is not a version string")
            bounds[name] = value.strip()
    return Criterion(
        cve=cve_id,
        part=cpe.part,
        vendor=cpe.vendor,
        product=cpe.product,
        version=cpe.version,
        update=cpe.update,
        sw_edition=cpe.sw_edition,
        platform=platform,
        **bounds,
    )


def _cvss(metrics: Any, origin: str) -> tuple[str, float | None, str | None, str | None]:
    if not isinstance(metrics, dict):
        return "unknown", None, None, None
    for name in _METRICS:
        entries = [
            m
            for m in _items(metrics.get(name), f"{origin} '{name}'")
            if isinstance(m, dict) and isinstance(m.get("cvssData"), dict)
        ]
        if not entries:
            continue
        entries.sort(key=lambda m: m.get("type") != "Primary")  # NVD's own (Primary) score first
        chosen = entries[0]
        data = chosen["cvssData"]
        severity = str(data.get("baseSeverity") or chosen.get("baseSeverity") or "").lower()
        score = data.get("baseScore")
        return (
            severity if severity in _SEVERITIES else "unknown",
            _score(score),
            str(data.get("vectorString")) if data.get("vectorString") else None,
            str(data.get("version")) if data.get("version") else None,
        )
    return "unknown", None, None, None


def _score(value: Any) -> float | None:
    """A CVSS base score, 0-10; anything else (a string, NaN, 1e999, a 400-digit integer) is no score."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        score = float(value)
    except OverflowError:
        return None
    return score if 0.0 <= score <= 10.0 else None


def iter_nvd_file(path: Path) -> Iterator[NvdRecord]:
    """Records of one file: a single `cve` object, or an API 2.0 response (`vulnerabilities: [{cve: …}]`)."""
    try:
        yield from _nvd_file(path)
    except UnicodeDecodeError as err:
        raise FeedError(f"{path}: not UTF-8 text (byte {err.start} of a chunk)") from None


def _nvd_file(path: Path) -> Iterator[NvdRecord]:
    with path.open("r", encoding="utf-8") as stream:
        head = stream.read(4096)
        stream.seek(0)
        if _API_RESPONSE.search(head) or path.stat().st_size > 4 * _CHUNK:
            for index, item in enumerate(iter_json_array(stream, "vulnerabilities", str(path))):
                cve = item.get("cve") if isinstance(item, dict) else None
                yield parse_nvd_record(cve, f"{path} item {index}")
            return
        document = _json(stream.read().encode(), str(path))
    if isinstance(document, dict) and isinstance(document.get("vulnerabilities"), list):
        for index, item in enumerate(document["vulnerabilities"]):
            yield parse_nvd_record(item.get("cve") if isinstance(item, dict) else None, f"{path} item {index}")
    else:
        yield parse_nvd_record(document, str(path))


def iter_nvd_dir(folder: Path) -> Iterator[NvdRecord]:
    """Every *.json below `folder` (the fkie-cad layout `CVE-YYYY/CVE-YYYY-NNNxx/CVE-….json`, or flat)."""
    files = sorted(folder.rglob("*.json"))
    if not files:
        raise FeedError(f"{folder}: no NVD *.json files")
    for path in files:
        yield from iter_nvd_file(path)


def iter_json_array(stream: IO[str], key: str, origin: str) -> Iterator[Any]:
    """Stream the elements of the top-level array `key` of a JSON object, one decoded element at a time."""
    decoder = json.JSONDecoder()
    buffer = ""
    eof = False

    def more() -> bool:
        nonlocal buffer, eof
        chunk = stream.read(_CHUNK)
        if not chunk:
            eof = True
            return False
        buffer += chunk
        return True

    opening = re.compile(r'"' + re.escape(key) + r'"\s*:\s*\[')
    while (found := opening.search(buffer)) is None:
        if not more():
            raise FeedError(f"{origin}: no '{key}' array (truncated or not an NVD API response)")
    position = found.end()
    while True:
        while True:
            position = _skip(buffer, position, " \t\r\n,")
            if position < len(buffer) or not more():
                break
        if position >= len(buffer):
            raise FeedError(f"{origin}: truncated inside the '{key}' array")
        if buffer[position] == "]":
            while not eof and more():
                pass
            if not buffer[position + 1 :].rstrip().endswith("}"):
                raise FeedError(f"{origin}: unexpected content after the '{key}' array (truncated?)")
            return
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except RecursionError:
                raise FeedError(f"{origin}: an element of the '{key}' array is nested too deeply") from None
            except ValueError:  # JSONDecodeError, or an integer of more than 4300 digits
                if not more():
                    raise FeedError(f"{origin}: truncated or corrupt element in the '{key}' array") from None
        yield value
        position = end
        if position > _CHUNK:  # drop what is decoded, but not after every element (that would copy quadratically)
            buffer, position = buffer[position:], 0


def _skip(text: str, position: int, characters: str) -> int:
    while position < len(text) and text[position] in characters:
        position += 1
    return position


# --- endoflife.date ----------------------------------------------------------------------------------------------


def parse_eol(document: Any, origin: str, product: str | None = None) -> EolData:
    """Our bundled format `{product, title, cpe, releases}` or the endoflife.date API's plain list of cycles."""
    if isinstance(document, list):
        if not product:
            raise FeedError(f"{origin}: a list of cycles needs the product name")
        releases, title = document, product
        cpes: tuple[str, ...] = ()
    elif isinstance(document, dict) and isinstance(document.get("releases"), list):
        product = str(document.get("product") or product or "")
        releases, title = document["releases"], str(document.get("title") or product)
        cpes = tuple(c for c in _items(document.get("cpe"), f"{origin}: 'cpe'") if isinstance(c, str))
    else:
        raise FeedError(f"{origin}: not endoflife.date release data")
    if not product or not re.fullmatch(r"[a-z0-9][a-z0-9._-]{0,59}", product):
        raise FeedError(f"{origin}: invalid product name {product!r}")
    cycles = []
    for index, release in enumerate(releases):
        if not isinstance(release, dict) or not isinstance(release.get("cycle"), str | int | float):
            raise FeedError(f"{origin}: release {index} has no cycle")
        cycles.append(
            EolCycle(
                product=product,
                cycle=str(release["cycle"]),
                release_date=_optional_date(release.get("releaseDate")),
                eol=_eol_value(release.get("eol"), f"{origin}: cycle {release['cycle']}"),
                latest=str(release["latest"]) if release.get("latest") is not None else None,
                lts=bool(release.get("lts")),
            )
        )
    return EolData(EolProduct(product, title, cpes), tuple(cycles))


def load_eol_dir(folder: Path) -> list[EolData]:
    files = sorted(folder.glob("*.json"))
    if not files:
        raise FeedError(f"{folder}: no endoflife.date *.json files")
    return [parse_eol(_json(path.read_bytes(), str(path)), str(path), path.stem) for path in files]


def _eol_value(value: Any, origin: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "false"
    return _iso_date(value, origin)


# --- helpers -----------------------------------------------------------------------------------------------------


def _json(raw: bytes, origin: str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise FeedError(f"{origin}: not valid JSON (nested too deeply)") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, an integer of more than 4300 digits
        raise FeedError(f"{origin}: not valid JSON (truncated or corrupt): {err}") from None


def _items(value: Any, what: str) -> list[Any]:
    """A list the format defines: absent or null is empty, any other type refuses the file."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise FeedError(f"{what} is not a list")
    return value


def _iso_date(value: Any, origin: str) -> str:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat()
    except ValueError:
        raise FeedError(f"{origin}: {value!r} is not a date (YYYY-MM-DD)") from None


def _optional_date(value: Any) -> str | None:
    try:
        return date.fromisoformat(str(value)[:10]).isoformat() if value else None
    except ValueError:
        return None
