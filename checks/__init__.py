"""The check registry: the one explicit map from name to check class. Everything else derives from it."""

from __future__ import annotations

from collections.abc import Mapping

from checks.base import Check
from checks.dnssec import DnssecCheck
from checks.mail.check import MailCheck
from checks.patches import PatchCheck
from checks.ports import PortsCheck
from checks.reachability import ReachabilityCheck
from checks.tls import TlsCheck
from monitor.models import AssetKind

Registry = Mapping[str, type[Check]]  # type: ignore[type-arg]

REGISTRY: Registry = {
    ReachabilityCheck.name: ReachabilityCheck,
    TlsCheck.name: TlsCheck,
    PortsCheck.name: PortsCheck,
    PatchCheck.name: PatchCheck,
    DnssecCheck.name: DnssecCheck,
    MailCheck.name: MailCheck,
}


def names_for(kind: AssetKind, registry: Registry = REGISTRY) -> tuple[str, ...]:
    """The checks that run on assets of `kind` (`Check.asset_kind`), in registry order: what an endpoint gets when
    no checks are named, and all it may be registered for."""
    return tuple(name for name, check in registry.items() if check.asset_kind == kind)
