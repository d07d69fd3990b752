"""The finding catalogue: every key a check or the daemon can emit. `docs/findings.md` is rendered from it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

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


@cache
def _specs_by_key() -> tuple[dict[str, FindingSpec], tuple[FindingSpec, ...]]:
    exact: dict[str, FindingSpec] = {}
    families: list[FindingSpec] = []
    for specs in all_specs().values():
        for spec in specs:
            if spec.key.endswith(".*"):
                families.append(spec)
            else:
                exact[spec.key] = spec
    # the longest family prefix wins, should one family sit inside another
    return exact, tuple(sorted(families, key=lambda spec: len(spec.key), reverse=True))


def spec_for(key: str) -> FindingSpec | None:
    """The catalogue entry of a finding key (a family's entry for a member such as `patch.cve.CVE-2021-41773`)."""
    exact, families = _specs_by_key()
    found = exact.get(key)
    if found is not None:
        return found
    return next((spec for spec in families if spec.matches(key)), None)


@dataclass(frozen=True, slots=True)
class ReaderTexts:
    """What a reader is shown for one finding, in their language."""

    title: str
    meaning: str
    remediation: str


def finding_texts(key: str, title: str, remediation: str, language: str) -> ReaderTexts:
    """A finding's title, meaning and remediation for a reader of `language`.

    English readers get the texts the check stored (they can be more specific than the catalogue, e.g. a CVE's
    product and version, CISA's required action). Readers of another language get the catalogue's translation;
    for a member of a family the member's own part of the key (the CVE id) is added to the title, as the
    specific English title is not translated. A key the catalogue does not know keeps the stored texts.
    """
    spec = spec_for(key)
    if spec is None:
        return ReaderTexts(title, "", remediation)
    texts = spec.translation(language)
    if texts is None:  # English: the stored, specific texts
        return ReaderTexts(title, spec.meaning, remediation)
    member = key[len(spec.key) - 1 :] if spec.key.endswith(".*") else ""
    return ReaderTexts(f"{texts.title}: {member}" if member else texts.title, texts.meaning, texts.remediation)


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
