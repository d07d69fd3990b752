"""The patch-status check: service versions matched against NVD, CISA KEV and endoflife.date.

`run` collects fingerprints: the ports check's (nmap -sV, read from `ctx.peer_details["ports"]`) and, where nmap
named no version, this check's own cheap reads (SSH/FTP/SMTP greeting, HTTP `Server` / `X-Powered-By`).
`evaluate` matches them against the database in `ctx.resources["vulndb"]` (the bundled seed when none is given).
Because `evaluate` also reads the ports details from the context, stored fingerprints can be re-judged after a
database update without a new scan (`checks.patches.rejudge`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field

from checks.base import (
    Check,
    CheckConfig,
    CheckContext,
    CheckDetails,
    CheckMisconfigured,
    FindingSpec,
    MetricFamily,
    MetricSample,
    Texts,
    VulnToolkit,
    read_peer,
)
from checks.patches.banners import read_banners
from checks.patches.fingerprints import Fingerprint, from_ports_details, merge
from checks.patches.snapshot import SEED_DIR, Snapshot, default_database, load_dir, to_memory
from checks.patches.vulndb import EolCycle, Match, VulnDatabase
from checks.ports.models import PortsDetails
from monitor.models import Observation, OpenFinding, Severity, Target

CHECK_NAME = "patch"
RESOURCE = "vulndb"
PORTS = "ports"

CVE = FindingSpec(
    key="patch.cve.*",
    severity=Severity.HIGH,
    title="Service version affected by a known vulnerability",
    meaning="The product version a service announces (nmap fingerprint or banner) lies inside a vulnerable range of "
    "an NVD CVE record. Severity follows the CVSS base severity (v4, else v3.1, v3.0, v2); a CVE in CISA's Known "
    "Exploited Vulnerabilities catalog is critical and carries `kev: true`, `due_date` and `required_action`. When "
    "the banner names a distribution build (Debian, Ubuntu, Red Hat …) the fix may be backported: such matches "
    'carry `confidence: "low"` and one severity step less.',
    remediation="Update the product to a fixed version (outside the matched range) or apply the vendor's fix; for a "
    "distribution package, confirm with the distribution's security tracker whether the fix is backported.",
    de=Texts(
        title="Dienstversion mit bekannter Sicherheitslücke",
        meaning="Die Produktversion, die ein Dienst angibt (nmap-Fingerprint oder Banner), liegt im betroffenen "
        "Versionsbereich einer CVE-Meldung der NVD. Der Schweregrad folgt der CVSS-Bewertung; steht die CVE im "
        "Katalog aktiv ausgenutzter Schwachstellen der CISA (Known Exploited Vulnerabilities, KEV), ist der Befund "
        "kritisch und nennt eine Frist (`due_date`) und die geforderte Maßnahme (`required_action`). Nennt das Banner "
        "einen Build einer Linux-Distribution (Debian, Ubuntu, Red Hat …), kann die Korrektur zurückportiert sein: "
        'Solche Treffer gelten als unsicher (`confidence: "low"`) und werden eine Stufe niedriger bewertet.',
        remediation="Aktualisieren Sie das Produkt auf eine Version, in der die Lücke behoben ist, oder spielen Sie "
        "das Sicherheitsupdate des Herstellers ein (siehe Sicherheitshinweis des Herstellers zur CVE). Bei einem "
        "KEV-Eintrag ist die genannte Frist (`due_date`) der späteste Termin. Bei Paketen einer Linux-Distribution "
        "prüfen Sie im Security-Tracker der Distribution, ob die Korrektur zurückportiert wurde.",
    ),
)
EOL = FindingSpec(
    key="patch.eol",
    severity=Severity.MEDIUM,
    title="Release line out of support",
    meaning="The product's release cycle (endoflife.date) has passed its end-of-life date: it no longer receives "
    "security fixes. The detail names each service, the cycle, the end-of-life date and the latest release.",
    remediation="Plan the upgrade to a supported release line.",
    de=Texts(
        title="Versionslinie wird nicht mehr unterstützt",
        meaning="Der Release-Zyklus des Produkts hat sein Supportende (End of Life, laut endoflife.date) "
        "überschritten: Er erhält keine Sicherheitsupdates mehr. Das Detail nennt jeden Dienst, den Zyklus, das Datum "
        "des Supportendes und die neueste Version.",
        remediation="Planen Sie zeitnah den Umstieg auf eine unterstützte Versionslinie (etwa eine aktuelle Version "
        "von nginx, Apache httpd oder Windows Server mit IIS); bis dahin bleiben neue Sicherheitslücken ungepatcht.",
    ),
)
VERSION_DISCLOSED = FindingSpec(
    key="patch.version_disclosed",
    severity=Severity.INFO,
    title="Services disclose their exact version",
    meaning="Banners or protocol answers state product and version, which lets anyone match them against "
    "vulnerability lists, as this check does.",
    remediation="Where the software allows it, hide the version (e.g. `ServerTokens Prod`, `server_tokens off`); "
    "patching matters more than hiding.",
    de=Texts(
        title="Dienste geben ihre genaue Version preis",
        meaning="Banner oder Protokollantworten nennen Produkt und Version. Damit kann jeder sie mit Listen bekannter "
        "Schwachstellen abgleichen, wie es diese Prüfung tut.",
        remediation="Blenden Sie die Versionsangabe aus, wo die Software das erlaubt: nginx `server_tokens off;`, "
        "Apache `ServerTokens Prod` und `ServerSignature Off`, IIS: den `Server`-Header über die "
        'Anforderungsfilterung entfernen (`removeServerHeader="true"`) und `X-Powered-By` im IIS-Manager unter '
        "„HTTP-Antwortheader“ löschen. Wichtiger als das Verbergen ist das Einspielen von Sicherheitsupdates.",
    ),
)
_SEVERITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "none": Severity.INFO,
}


class PatchConfig(CheckConfig):
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    banner_reads: bool = Field(default=True, description="read banners where nmap gave no version")
    banner_timeout_s: float = Field(default=3.0, gt=0, le=60, description="per port")
    max_banner_ports: int = Field(default=16, ge=0, le=256)
    report_version_disclosure: bool = True


class PatchDetails(CheckDetails):
    """The fingerprints this run judged: the ports check's and this check's own banner reads."""

    fingerprints: tuple[Fingerprint, ...] = ()
    database: str = Field(default="", description="versions of the feeds the judgement used")


class PatchToolkit:
    """The vulnerability database the daemon keeps for the patch check (checks.base.VulnToolkit)."""

    seed_dir: Path = SEED_DIR

    def feeds_from_dir(self, folder: Path) -> Snapshot:
        """Parse a feed directory; raises FeedError (a ValueError) with one line on corrupt or truncated input."""
        return load_dir(folder)

    def database_from_snapshot(self, snapshot: Snapshot) -> VulnDatabase:
        return to_memory(snapshot)

    def database_from_rows(self, rows: Any) -> VulnDatabase:
        from checks.patches.toolkit import database_from_rows

        return database_from_rows(rows)

    def lookup(self, db: VulnDatabase, text: str, today: date) -> list[dict[str, Any]]:
        from checks.patches.toolkit import lookup

        return lookup(db, text, today)


class PatchCheck(Check[PatchConfig, PatchDetails]):
    name: ClassVar[str] = CHECK_NAME
    description: ClassVar[str] = (
        "service versions (nmap fingerprints, banners) against NVD CVE ranges, CISA KEV and end-of-life data"
    )
    config_model = PatchConfig
    details_model = PatchDetails
    findings = (CVE, EOL, VERSION_DISCLOSED)
    depends_on: ClassVar[tuple[str, ...]] = (PORTS,)
    uses_findings: ClassVar[bool] = True
    vulndb: ClassVar[VulnToolkit | None] = PatchToolkit()
    metric_families = (
        MetricFamily("posture_vulnerabilities", "Open CVE findings by severity", ("severity",)),
        MetricFamily("posture_kev_vulnerabilities", "Open CVE findings that are in CISA's KEV catalog"),
        MetricFamily("posture_eol_software", "1 per product whose release line is out of support", ("product",)),
    )

    def finding_metrics(self, findings: Sequence[OpenFinding]) -> Iterable[MetricSample]:
        cves = [f for f in findings if CVE.matches(f.key)]
        for severity in Severity:
            yield MetricSample("posture_vulnerabilities", (severity.label,), sum(f.severity == severity for f in cves))
        yield MetricSample("posture_kev_vulnerabilities", (), sum(bool(f.detail.get("kev")) for f in cves))
        for finding in findings:
            if finding.key == EOL.key:
                yield MetricSample("posture_eol_software", (str(finding.detail.get("eol_product", "unknown")),), 1.0)

    async def run(self, target: Target, cfg: PatchConfig, ctx: CheckContext) -> PatchDetails:
        db = await asyncio.to_thread(database, ctx)  # misconfigured now, not crashed in evaluate; the seed loads once
        ports = read_peer(ctx, PORTS, PortsDetails)
        nmap = from_ports_details(ports)
        extra: list[Fingerprint] = []
        if cfg.banner_reads and cfg.max_banner_ports:
            extra = await read_banners(
                target, _ports_to_read(ports, nmap, target), cfg.banner_timeout_s, cfg.max_banner_ports
            )
        return PatchDetails(fingerprints=tuple(merge(nmap, extra)), database=describe(db))

    def evaluate(self, details: PatchDetails, cfg: PatchConfig, ctx: CheckContext) -> list[Observation]:
        return judge(fingerprints_for(details, ctx), database(ctx), cfg, ctx.now.date())

    def rejudged(self, details: PatchDetails, cfg: PatchConfig, ctx: CheckContext) -> PatchDetails:
        """What a judgement stands on: the ports check's latest fingerprints merged in, today's database named."""
        return PatchDetails(fingerprints=tuple(fingerprints_for(details, ctx)), database=describe(database(ctx)))


def database(ctx: CheckContext) -> VulnDatabase:
    found = ctx.resources.get(RESOURCE)
    if found is None:
        return default_database()
    if not isinstance(found, VulnDatabase):
        raise CheckMisconfigured(f"resource {RESOURCE!r} is a {type(found).__name__}, not a vulnerability database")
    return found


def describe(db: VulnDatabase) -> str:
    return ", ".join(f"{s.source} {s.version or '-'} ({s.records})" for s in db.sources())


def fingerprints_for(details: PatchDetails, ctx: CheckContext) -> list[Fingerprint]:
    """The ports details in the context are the freshest nmap facts; this check's own banner reads come on top."""
    ports = read_peer(ctx, PORTS, PortsDetails)
    if ports is None:
        return list(details.fingerprints)
    own = [f for f in details.fingerprints if f.source == "banner"]
    return merge(from_ports_details(ports), own)


def _ports_to_read(ports: PortsDetails | None, nmap: list[Fingerprint], target: Target) -> list[tuple[int, str]]:
    """(port, service) pairs whose version nmap did not give; the target's own port when no ports facts exist."""
    if ports is None:
        return [(target.port, "")]
    versioned = {f.port for f in nmap if f.version}
    return [(p.port, p.service) for p in ports.open_ports if p.protocol == "tcp" and p.port not in versioned]


def judge(fingerprints: list[Fingerprint], db: VulnDatabase, cfg: PatchConfig, today: date) -> list[Observation]:
    """Pure: fingerprints + database + today's date → observations (one per CVE, one for EOL, one disclosure)."""
    by_cve: dict[str, list[tuple[Fingerprint, Match]]] = {}
    eol: list[dict[str, Any]] = []
    for fingerprint in fingerprints:
        if not fingerprint.known:
            continue
        for match in db.match(fingerprint.vendor, fingerprint.product, fingerprint.version, fingerprint.update):
            by_cve.setdefault(match.cve.cve, []).append((fingerprint, match))
        cycle = db.eol(fingerprint.vendor, fingerprint.product, fingerprint.version)
        if cycle is not None and _ended(cycle, today):
            eol.append(_eol_detail(fingerprint, cycle))
    observations = [_cve_observation(cve, hits) for cve, hits in sorted(by_cve.items())]
    if eol:
        observations.append(EOL.observe({"services": eol}))
    disclosed = [f.evidence_detail() for f in fingerprints if f.version]
    if disclosed and cfg.report_version_disclosure:
        observations.append(VERSION_DISCLOSED.observe({"services": disclosed}))
    return observations


def _cve_observation(cve: str, hits: list[tuple[Fingerprint, Match]]) -> Observation:
    judged = sorted(((*_rate(f, m), f, m) for f, m in hits), key=lambda h: (h[0], h[1] == "high"), reverse=True)
    severity, confidence, reason, fingerprint, match = judged[0]
    info, kev = match.cve, match.kev
    detail: dict[str, Any] = {
        "cve": cve,
        "cvss_severity": info.severity,
        "score": info.score,
        "vector": info.vector,
        "cvss_version": info.cvss_version,
        "description": info.description[:600],
        "matched_range": match.criterion.describe(),
        "matched_cpe": f"{match.criterion.vendor}:{match.criterion.product}",
        "evidence": fingerprint.evidence_detail(),
        "services": [f.evidence_detail() for _, _, _, f, _ in judged],
        "confidence": confidence,
        "kev": kev is not None,
    }
    if reason:
        detail["confidence_reason"] = reason
    remediation = CVE.remediation
    if kev is not None:
        detail.update(
            due_date=kev.due_date,
            required_action=kev.required_action,
            known_ransomware=kev.known_ransomware,
            kev_date_added=kev.date_added,
            kev_name=kev.name,
        )
        remediation = f"{kev.required_action} (CISA KEV, due {kev.due_date}). {CVE.remediation}"
    product = f"{fingerprint.name} {detail['evidence']['version']}".strip()
    title = f"{cve}: {product} is in the affected range" + (" (known exploited)" if kev else "")
    return CVE.observe(detail, key=f"patch.cve.{cve}", severity=severity, title=title, remediation=remediation)


def _rate(fingerprint: Fingerprint, match: Match) -> tuple[Severity, str, str]:
    severity = _SEVERITY.get(match.cve.severity, Severity.MEDIUM)
    if match.kev is not None:
        severity = Severity.CRITICAL
    if fingerprint.distribution:
        reason = (
            f"the banner names a {fingerprint.distribution} build, whose package may carry a backported fix "
            "under the upstream version number"
        )
        return Severity(max(severity - 1, Severity.INFO)), "low", reason
    if match.criterion.platform:
        return severity, "medium", "NVD lists this version only together with a platform the banner does not show"
    return severity, "high", ""


def _ended(cycle: EolCycle, today: date) -> bool:
    if cycle.eol in ("true", "false"):
        return cycle.eol == "true"
    try:
        return date.fromisoformat(cycle.eol) <= today
    except ValueError:
        return False


def _eol_detail(fingerprint: Fingerprint, cycle: EolCycle) -> dict[str, Any]:
    return {
        **fingerprint.evidence_detail(),
        "eol_product": cycle.product,
        "cycle": cycle.cycle,
        "eol": True if cycle.eol == "true" else cycle.eol,
        "latest": cycle.latest,
    }
