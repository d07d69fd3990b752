"""The finding catalogue: every key a check or the daemon can emit. `docs/findings.md` is rendered from it."""

from __future__ import annotations

from checks import REGISTRY, Registry
from checks.base import FindingSpec
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
    ),
    FindingSpec(
        key=RECOVERED_KEY,
        severity=Severity.MEDIUM,
        title="Endpoint reachable again",
        meaning="The first successful run after an `endpoint.unreachable` event.",
        remediation="None; this closes the unreachable event.",
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
    ),
)


def all_specs(registry: Registry = REGISTRY) -> dict[str, tuple[FindingSpec, ...]]:
    """Catalogue entries by source: `daemon`, then each check in registry order."""
    return {"daemon": DAEMON_FINDINGS, **{name: check.findings for name, check in registry.items()}}


def render_markdown(registry: Registry = REGISTRY) -> str:
    lines = [
        "# Finding catalogue",
        "",
        "Every observation key the daemon and its checks can emit, with default severity, meaning and remediation.",
        "A key ending in `.*` is a family (for example one key per CVE). Keys are stable: they are extended, never",
        "renamed. This file is generated from the checks' own catalogue entries (`make docs`); a test fails when",
        "it is out of date.",
        "",
    ]
    for source, specs in all_specs(registry).items():
        check = registry.get(source)
        lines += [f"## {source}", "", check.description if check else "Emitted by the daemon itself.", ""]
        lines += ["| key | severity | title | meaning | remediation |", "|---|---|---|---|---|"]
        for spec in specs:
            cells = [f"`{spec.key}`", spec.severity.label, spec.title, spec.meaning, spec.remediation]
            lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
