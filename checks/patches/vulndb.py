"""The vulnerability database as the patch check sees it: records, the read-only Protocol, an in-memory index.

The check never opens a file or a database: it receives an object implementing `VulnDatabase` through
`CheckContext.resources["vulndb"]`. `MemoryVulnDb` is the implementation: built from records that a loader read
(the bundled seed, a directory, the store's tables), indexed by NVD vendor:product so one lookup is a dict access
and a few version comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from checks.patches.cpe import ANY, EOL_PRODUCTS, NA, canonical
from checks.patches.versions import compare, is_version, same_version


@dataclass(frozen=True, slots=True)
class Criterion:
    """One vulnerable `cpeMatch` entry of an NVD configuration, reduced to what matching needs."""

    cve: str
    part: str
    vendor: str
    product: str
    version: str = ANY  # ANY: the range keys decide; a concrete value: exact match
    update: str = ANY
    sw_edition: str = ANY
    start_including: str | None = None
    start_excluding: str | None = None
    end_including: str | None = None
    end_excluding: str | None = None
    platform: bool = False  # the configuration ANDs it with a platform we cannot see in a banner

    def describe(self) -> str:
        """The range as NVD states it: `>= 6.2, < 8.8`, `= 9.3 p1`."""
        if self.version not in (ANY, NA):
            return f"= {self.version}" + (f" {self.update}" if self.update not in (ANY, NA) else "")
        bounds = [
            f"{op} {value}"
            for op, value in (
                (">=", self.start_including),
                (">", self.start_excluding),
                ("<=", self.end_including),
                ("<", self.end_excluding),
            )
            if value
        ]
        text = ", ".join(bounds) or "all versions"
        return text + (f" (update {self.update})" if self.update not in (ANY, NA) else "")

    def covers(self, version: str, update: str) -> bool:
        """Does this entry include `version` (with `update`, '-' for none)? NVD's boundaries, exactly."""
        if self.update != ANY and self.update.lower() != (update or NA).lower():
            return False
        if self.version == NA:
            return version == NA
        if self.version != ANY:
            return same_version(version, self.version)
        if not is_version(version):
            return False
        if self.start_including and compare(version, self.start_including) < 0:
            return False
        if self.start_excluding and compare(version, self.start_excluding) <= 0:
            return False
        if self.end_including and compare(version, self.end_including) > 0:
            return False
        return not (self.end_excluding and compare(version, self.end_excluding) >= 0)


@dataclass(frozen=True, slots=True)
class CveInfo:
    cve: str
    severity: str  # critical | high | medium | low | none | unknown (lower case, from CVSS base severity)
    score: float | None = None
    vector: str | None = None
    cvss_version: str | None = None
    description: str = ""
    published: str = ""
    last_modified: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve: str
    vendor_project: str
    product: str
    name: str
    date_added: str
    due_date: str
    required_action: str
    known_ransomware: bool
    short_description: str = ""


@dataclass(frozen=True, slots=True)
class EolCycle:
    product: str  # endoflife.date product slug
    cycle: str
    release_date: str | None = None
    eol: str = "false"  # "true", "false" or an ISO date
    latest: str | None = None
    lts: bool = False


@dataclass(frozen=True, slots=True)
class EolProduct:
    product: str
    title: str
    cpes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    cve: CveInfo
    criterion: Criterion
    kev: KevEntry | None


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source: str  # kev | nvd | eol
    version: str
    records: int
    origin: str = ""


@runtime_checkable
class VulnDatabase(Protocol):
    """What the patch check reads. Implementations are read-only and safe to share between checks."""

    def match(self, vendor: str, product: str, version: str, update: str = NA) -> list[Match]:
        """Every CVE whose NVD configurations include this product version; one Match per CVE."""
        ...

    def eol(self, vendor: str, product: str, version: str) -> EolCycle | None:
        """The release cycle of this version, if endoflife.date knows the product and the cycle."""
        ...

    def kev(self, cve: str) -> KevEntry | None: ...

    def sources(self) -> tuple[SourceInfo, ...]: ...


@dataclass(slots=True)
class MemoryVulnDb:
    """An immutable-by-convention index over loaded records."""

    cves: dict[str, CveInfo] = field(default_factory=dict)
    kev_entries: dict[str, KevEntry] = field(default_factory=dict)
    by_product: dict[tuple[str, str], list[Criterion]] = field(default_factory=dict)
    eol_cycles: dict[str, list[EolCycle]] = field(default_factory=dict)  # longest cycle first
    eol_by_product: dict[tuple[str, str], str] = field(default_factory=dict)
    source_info: tuple[SourceInfo, ...] = ()

    @classmethod
    def build(
        cls,
        cves: Iterable[CveInfo],
        criteria: Iterable[Criterion],
        kev: Iterable[KevEntry],
        eol_products: Iterable[EolProduct] = (),
        eol_cycles: Iterable[EolCycle] = (),
        sources: Iterable[SourceInfo] = (),
    ) -> MemoryVulnDb:
        db = cls(cves={c.cve: c for c in cves}, kev_entries={k.cve: k for k in kev}, source_info=tuple(sources))
        for criterion in criteria:
            for key in canonical(criterion.vendor, criterion.product):
                db.by_product.setdefault(key, []).append(criterion)
        for cycle in eol_cycles:
            db.eol_cycles.setdefault(cycle.product, []).append(cycle)
        for cycles in db.eol_cycles.values():
            cycles.sort(key=lambda c: len(c.cycle), reverse=True)
        for product in eol_products:
            for prefix in product.cpes:
                named = _prefix_vendor_product(prefix)
                for key in canonical(*named) if named else ():
                    db.eol_by_product.setdefault(key, product.product)
        for key, slug in EOL_PRODUCTS.items():
            db.eol_by_product.setdefault(key, slug)
        return db

    def match(self, vendor: str, product: str, version: str, update: str = NA) -> list[Match]:
        found: dict[str, Match] = {}
        for key in canonical(vendor, product):
            for criterion in self.by_product.get(key, ()):
                if criterion.cve in found or not criterion.covers(version, update):
                    continue
                info = self.cves.get(criterion.cve)
                if info is not None:
                    found[criterion.cve] = Match(info, criterion, self.kev_entries.get(criterion.cve))
        return sorted(found.values(), key=lambda m: m.cve.cve)

    def eol(self, vendor: str, product: str, version: str) -> EolCycle | None:
        for key in canonical(vendor, product):
            slug = self.eol_by_product.get(key)
            if slug is None:
                continue
            for cycle in self.eol_cycles.get(slug, ()):
                if _in_cycle(version, cycle.cycle):
                    return cycle
        return None

    def kev(self, cve: str) -> KevEntry | None:
        return self.kev_entries.get(cve)

    def sources(self) -> tuple[SourceInfo, ...]:
        return self.source_info

    def stats(self) -> Mapping[str, int]:
        return {
            "cves": len(self.cves),
            "criteria": sum(len(v) for v in self.by_product.values()),
            "kev": len(self.kev_entries),
            "eol_products": len(self.eol_cycles),
        }


def _in_cycle(version: str, cycle: str) -> bool:
    """`2.4.49` is in cycle `2.4`, `4.86_2` in `4.86`, `2.442` in `2`; `2.40` is not in `2.4`."""
    if not version.startswith(cycle):
        return False
    rest = version[len(cycle) :]
    return not rest or not rest[0].isdigit()


def _prefix_vendor_product(prefix: str) -> tuple[str, str] | None:
    """vendor:product of an endoflife.date CPE prefix (`cpe:2.3:a:f5:nginx`, `cpe:/a:apache:http_server`)."""
    lowered = prefix.strip().lower()
    body = lowered[8:] if lowered.startswith("cpe:2.3:") else lowered[5:] if lowered.startswith("cpe:/") else ""
    fields = body.split(":")
    return (fields[1], fields[2]) if len(fields) >= 3 and fields[1] and fields[2] else None
