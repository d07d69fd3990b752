"""Patch-status check: service fingerprints → NVD CVE ranges, CISA KEV, endoflife.date; vulndb loaders."""

from checks.patches.check import CVE, EOL, VERSION_DISCLOSED, PatchCheck, PatchConfig, PatchDetails
from checks.patches.feeds import FeedError
from checks.patches.fingerprints import Fingerprint
from checks.patches.vulndb import Match, MemoryVulnDb, VulnDatabase

__all__ = [
    "CVE",
    "EOL",
    "VERSION_DISCLOSED",
    "FeedError",
    "Fingerprint",
    "Match",
    "MemoryVulnDb",
    "PatchCheck",
    "PatchConfig",
    "PatchDetails",
    "VulnDatabase",
]
