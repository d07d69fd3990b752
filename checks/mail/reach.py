"""May the mail check connect to a host the domain's mail depends on? The scope rule for MX and MTA-STS hosts.

DNS look-ups are not scans; an SMTP or HTTPS connection is. A host is contacted when the agency owns it: its name
lies in the agency's domain scope, or every address it resolves to lies in the agency's CIDRs; and, as for
registration, no address is a non-public one outside those CIDRs (a name of the agency pointed at someone's
internal network is not followed). A host outside the scope is a third party's (a hosted mail provider): listed,
never contacted, unless the CERT has put its name suffix on the list of permitted mail providers, and then only at
public addresses. A one-off `posture scan` has no scope (`None`) and probes what it is asked to.

The addresses are the ones the check resolved itself and then connects to: no second resolution in between.
"""

from __future__ import annotations

from collections.abc import Sequence

from checks.mail.details import Reach
from monitor.models import ScopeRule


def reach(
    host: str, addresses: Sequence[str], scope: ScopeRule | None, providers: Sequence[str] = ()
) -> tuple[Reach, str]:
    """Whether `host` at `addresses` may be contacted, and the reason or the permitted provider's suffix."""
    if not addresses:
        return "unresolved", "the name has no address"
    if scope is None:
        return "asked", ""
    owned = scope.owns(host, addresses)
    provider = next((suffix for suffix in providers if host == suffix or host.endswith("." + suffix)), None)
    if not owned and provider is None:
        return "third_party", "outside the agency's scope: not contacted"
    forbidden = scope.forbidden(addresses)
    if forbidden:
        shown = ", ".join(forbidden)
        return "out_of_scope", f"resolves to non-public address {shown}, which no CIDR of the agency's scope holds"
    return ("in_scope", "") if owned else ("provider", provider or "")
