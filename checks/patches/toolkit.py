"""What the daemon needs from this package beyond the check contract, reached through the registry.

`monitor.*` may not import `checks.patches` (import rule); `PatchCheck.vulndb` (a `PatchToolkit`) carries these
functions, and `checks.base.VulnToolkit` describes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from checks.patches.check import PatchConfig, judge
from checks.patches.cpe import ANY, NA, canonical, parse_cpe
from checks.patches.fingerprints import Fingerprint, from_banner, from_nmap_port
from checks.patches.vulndb import (
    Criterion,
    CveInfo,
    EolCycle,
    EolProduct,
    KevEntry,
    MemoryVulnDb,
    SourceInfo,
    VulnDatabase,
)


def database_from_rows(rows: Any) -> MemoryVulnDb:
    """The in-memory index from the store's rows (`monitor.store.vulndb.StoredRows`: lists of column dicts)."""
    return MemoryVulnDb.build(
        cves=(_cve(r) for r in rows.cves),
        criteria=(_criterion(r) for r in rows.criteria),
        kev=(_kev(r) for r in rows.kev),
        eol_products=(EolProduct(r["product"], r["title"], tuple(r["cpes"] or ())) for r in rows.eol_products),
        eol_cycles=(
            EolCycle(r["product"], r["cycle"], r["release_date"], r["eol"], r["latest"], bool(r["lts"]))
            for r in rows.eol_cycles
        ),
        sources=(SourceInfo(r["source"], r["version"], int(r["records"]), r["origin"]) for r in rows.sources),
    )


def lookup(db: VulnDatabase, text: str, today: date) -> list[dict[str, Any]]:
    """What the database says about one CPE name or one raw banner line: one document per product found.

    Raises ValueError when `text` names no product version.
    """
    fingerprints = _fingerprints(text)
    if not fingerprints:
        raise ValueError(f"no product version found in {text[:120]!r}")
    return [_document(db, fingerprint, today) for fingerprint in fingerprints]


def _fingerprints(text: str) -> list[Fingerprint]:
    if text.strip().lower().startswith("cpe:"):
        cpe = parse_cpe(text)
        if cpe.version in (ANY, NA):
            raise ValueError(f"the CPE name gives no version: {text[:120]!r}")
        vendor, product = canonical(cpe.vendor, cpe.product)[0]
        version = cpe.version + (cpe.update if cpe.update not in (ANY, NA) else "")
        found = from_nmap_port(
            {"port": 0, "product": product, "version": version, "cpes": [f"cpe:/a:{vendor}:{product}"]}
        )
        return [found] if found is not None and found.version else []
    return [f for f in from_banner(text) if f.version]


def _document(db: VulnDatabase, fingerprint: Fingerprint, today: date) -> dict[str, Any]:
    observations = judge([fingerprint], db, PatchConfig(report_version_disclosure=False), today)
    matches = [
        {
            "cve": o.detail["cve"],
            "severity": o.severity.label,
            "kev": o.detail["kev"],
            "confidence": o.detail["confidence"],
            "score": o.detail["score"],
            "matched_range": o.detail["matched_range"],
            **({"due_date": o.detail["due_date"]} if o.detail["kev"] else {}),
        }
        for o in observations
        if o.key.startswith("patch.cve.")
    ]
    cycle = db.eol(fingerprint.vendor, fingerprint.product, fingerprint.version) if fingerprint.known else None
    ended = next((o for o in observations if o.key == "patch.eol"), None) is not None
    return {
        "product": f"{fingerprint.vendor}:{fingerprint.product}" if fingerprint.vendor else fingerprint.name,
        "version": fingerprint.version + ("" if fingerprint.update in (NA, ANY) else fingerprint.update),
        "distribution": fingerprint.distribution,
        "matches": matches,
        "eol": None
        if cycle is None
        else {"cycle": cycle.cycle, "eol": _eol_value(cycle.eol), "latest": cycle.latest, "ended": ended},
    }


def _eol_value(value: str) -> bool | str:
    return value == "true" if value in ("true", "false") else value


def _cve(row: Mapping[str, Any]) -> CveInfo:
    return CveInfo(
        cve=row["cve_id"],
        severity=row["severity"],
        score=row["score"],
        vector=row["vector"],
        cvss_version=row["cvss_version"],
        description=row["description"],
        published=row["published"],
        last_modified=row["last_modified"],
        status=row["status"],
    )


def _criterion(row: Mapping[str, Any]) -> Criterion:
    names: Sequence[str] = (
        "part",
        "vendor",
        "product",
        "version",
        "update",
        "sw_edition",
        "start_including",
        "start_excluding",
        "end_including",
        "end_excluding",
    )
    return Criterion(cve=row["cve_id"], platform=bool(row["platform"]), **{n: row[n] for n in names})


def _kev(row: Mapping[str, Any]) -> KevEntry:
    return KevEntry(
        cve=row["cve_id"],
        vendor_project=row["vendor_project"],
        product=row["product"],
        name=row["name"],
        date_added=row["date_added"],
        due_date=row["due_date"],
        required_action=row["required_action"],
        known_ransomware=bool(row["known_ransomware"]),
        short_description=row["short_description"],
    )
