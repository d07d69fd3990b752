"""A parsed set of feeds (KEV, NVD, EOL) from a directory, and the bundled seed as the offline default.

Layout of a feed directory (the bundled `checks/patches/data/` has it, so does `posture vulndb update --from DIR`):
`kev/known_exploited_vulnerabilities.json`, `nvd/**/*.json` (one CVE record per file, or API 2.0 responses), and
`eol/PRODUCT.json`. Any of the three may be absent; then that source is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from checks.patches.feeds import (
    EolData,
    FeedError,
    KevCatalog,
    NvdRecord,
    iter_nvd_dir,
    load_eol_dir,
    parse_kev,
)
from checks.patches.vulndb import MemoryVulnDb, SourceInfo

SEED_DIR = Path(__file__).resolve().parent / "data"
KEV_FILE = "known_exploited_vulnerabilities.json"


@dataclass(frozen=True, slots=True)
class Snapshot:
    kev: KevCatalog | None = None
    nvd: tuple[NvdRecord, ...] | None = None
    eol: tuple[EolData, ...] | None = None
    origin: str = ""

    def sources(self) -> tuple[SourceInfo, ...]:
        found = []
        if self.kev is not None:
            found.append(SourceInfo("kev", self.kev.version, len(self.kev.entries), self.origin))
        if self.nvd is not None:
            newest = max((r.info.last_modified for r in self.nvd), default="")
            found.append(SourceInfo("nvd", newest, len(self.nvd), self.origin))
        if self.eol is not None:
            found.append(SourceInfo("eol", "", sum(len(e.cycles) for e in self.eol), self.origin))
        return tuple(found)


def load_dir(folder: Path) -> Snapshot:
    """Parse every feed present in `folder`; raises FeedError on the first bad file, before anything is used."""
    if not folder.is_dir():
        raise FeedError(f"{folder}: not a directory")
    kev_path = next((p for p in (folder / "kev" / KEV_FILE, folder / KEV_FILE) if p.is_file()), None)
    kev = parse_kev(kev_path.read_bytes(), str(kev_path)) if kev_path else None
    nvd = tuple(iter_nvd_dir(folder / "nvd")) if (folder / "nvd").is_dir() else None
    eol = tuple(load_eol_dir(folder / "eol")) if (folder / "eol").is_dir() else None
    if kev is None and nvd is None and eol is None:
        raise FeedError(f"{folder}: no kev/, nvd/ or eol/ feeds found")
    return Snapshot(kev, nvd, eol, str(folder))


def to_memory(snapshot: Snapshot) -> MemoryVulnDb:
    records = snapshot.nvd or ()
    return MemoryVulnDb.build(
        cves=(r.info for r in records),
        criteria=(c for r in records for c in r.criteria),
        kev=snapshot.kev.entries if snapshot.kev else (),
        eol_products=(e.product for e in snapshot.eol or ()),
        eol_cycles=(c for e in snapshot.eol or () for c in e.cycles),
        sources=snapshot.sources(),
    )


@lru_cache(maxsize=1)
def default_database() -> MemoryVulnDb:
    """The bundled seed, parsed once: what the check uses when no database is handed to it (offline `scan`)."""
    return to_memory(load_dir(SEED_DIR))
