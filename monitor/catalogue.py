"""The finding catalogue: every key a check or the daemon can emit. `docs/findings.md` is rendered from it."""

from __future__ import annotations

from checks import REGISTRY, Registry
from checks.base import FindingSpec, Texts
from monitor.findings import RECOVERED_KEY, UNREACHABLE_KEY
from monitor.models import Severity
from monitor.scope_resolution import SCOPE_VIOLATION_KEY

DAEMON_FINDINGS = (
    FindingSpec(
        key=UNREACHABLE_KEY,
        severity=Severity.MEDIUM,
        title="Endpoint unreachable",
        meaning="A check could not reach the endpoint (refused, reset, timed out) several runs in a row "
        "(`POSTURE_UNREACHABLE_AFTER`, default 3). Its open findings stay open: an unreachable server fixed nothing.",
        remediation="Check whether the service is down on purpose; if it was decommissioned, remove the endpoint.",
        de=Texts(
            title="Endpunkt nicht erreichbar",
            meaning="Eine Prüfung konnte den Endpunkt mehrere Durchläufe in Folge nicht erreichen (Verbindung "
            "abgelehnt, zurückgesetzt oder Zeitüberschreitung; standardmäßig nach 3 Durchläufen). Offene Befunde "
            "bleiben offen: Ein nicht erreichbarer Server hat nichts behoben.",
            remediation="Prüfen Sie, ob der Dienst absichtlich abgeschaltet ist. Wurde er außer Betrieb genommen, "
            "entfernen Sie den Endpunkt aus der Überwachung oder bitten Sie Ihre CERT-Ansprechpartner darum.",
        ),
    ),
    FindingSpec(
        key=RECOVERED_KEY,
        severity=Severity.MEDIUM,
        title="Endpoint reachable again",
        meaning="The first successful run after an `endpoint.unreachable` event.",
        remediation="None; this closes the unreachable event.",
        de=Texts(
            title="Endpunkt wieder erreichbar",
            meaning="Der erste erfolgreiche Prüflauf nach einem Ereignis „Endpunkt nicht erreichbar“ "
            "(`endpoint.unreachable`).",
            remediation="Keine; diese Meldung schließt das Ereignis „Endpunkt nicht erreichbar“ ab.",
        ),
    ),
    FindingSpec(
        key=SCOPE_VIOLATION_KEY,
        severity=Severity.HIGH,
        title="The host name now points outside the agency's scope; it was not scanned",
        meaning="At scan time the registered name resolved to an address the agency's scope does not allow "
        "(a non-public address outside its CIDRs), or the host left the scope. Nothing was scanned. A DNS change "
        "or a dangling record (subdomain takeover) can point a registered name at a third party.",
        remediation="Check the DNS records of this name and correct them, or ask the CERT to extend the scope if the "
        "new address is the agency's own. The finding resolves at the next scan that is in scope.",
        de=Texts(
            title="Der Hostname zeigt jetzt aus dem Prüfbereich der Behörde heraus; er wurde nicht gescannt",
            meaning="Zum Zeitpunkt des Scans löste der registrierte Name auf eine Adresse auf, die der Prüfbereich "
            "der Behörde nicht zulässt (eine nicht öffentliche Adresse außerhalb ihrer freigegebenen Netze), oder der "
            "Host hat den Prüfbereich verlassen; es wurde nichts gescannt. Eine DNS-Änderung oder ein verwaister "
            "DNS-Eintrag (Subdomain-Übernahme) kann einen registrierten Namen auf Systeme Dritter umleiten.",
            remediation="Prüfen Sie die DNS-Einträge dieses Namens und korrigieren Sie sie. Gehört die neue Adresse "
            "Ihrer Behörde, bitten Sie das Landes-CERT, den Prüfbereich zu erweitern. Der Befund erledigt sich beim "
            "nächsten Scan, der wieder im Prüfbereich liegt.",
        ),
    ),
)


def all_specs(registry: Registry = REGISTRY) -> dict[str, tuple[FindingSpec, ...]]:
    """Catalogue entries by source: `daemon`, then each check in registry order."""
    return {"daemon": DAEMON_FINDINGS, **{name: check.findings for name, check in registry.items()}}


SEVERITY_DE = {
    Severity.CRITICAL: "kritisch",
    Severity.HIGH: "hoch",
    Severity.MEDIUM: "mittel",
    Severity.LOW: "niedrig",
    Severity.INFO: "info",
}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"


def render_markdown(registry: Registry = REGISTRY) -> str:
    lines = [
        "# Finding catalogue",
        "",
        "Every observation key the daemon and its checks can emit, with default severity, meaning and remediation.",
        "A key ending in `.*` is a family (for example one key per CVE). Keys are stable: they are extended, never",
        "renamed. This file is generated from the checks' own catalogue entries (`make docs`); a test fails when",
        "it is out of date. Each source lists its entries in English, then in German (the texts agencies read).",
        "",
        "Alle Befunde, die der Dienst und seine Prüfungen melden können, mit Standard-Schweregrad, Bedeutung und",
        "Abhilfe. Je Quelle folgt auf die englische Tabelle die deutsche.",
        "",
    ]
    for source, specs in all_specs(registry).items():
        check = registry.get(source)
        lines += [f"## {source}", "", check.description if check else "Emitted by the daemon itself.", ""]
        lines += ["| key | severity | title | meaning | remediation |", "|---|---|---|---|---|"]
        for spec in specs:
            lines.append(_row([f"`{spec.key}`", spec.severity.label, spec.title, spec.meaning, spec.remediation]))
        lines += ["", "Deutsch:", ""]
        lines += ["| Schlüssel | Schweregrad | Titel | Bedeutung | Abhilfe |", "|---|---|---|---|---|"]
        for spec in specs:
            de = spec.texts("de")
            lines.append(_row([f"`{spec.key}`", SEVERITY_DE[spec.severity], de.title, de.meaning, de.remediation]))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
