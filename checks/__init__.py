"""The check registry: the one explicit map from name to check class. Everything else derives from it."""

from __future__ import annotations

from collections.abc import Mapping

from checks.base import Check
from checks.patches import PatchCheck
from checks.ports import PortsCheck
from checks.reachability import ReachabilityCheck
from checks.tls import TlsCheck

Registry = Mapping[str, type[Check]]  # type: ignore[type-arg]

REGISTRY: Registry = {
    ReachabilityCheck.name: ReachabilityCheck,
    TlsCheck.name: TlsCheck,
    PortsCheck.name: PortsCheck,
    PatchCheck.name: PatchCheck,
}
