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
from checks.web import WebCheck
from checks.zonetransfer import ZoneTransferCheck
from monitor.models import AssetKind

Registry = Mapping[str, type[Check]]  # type: ignore[type-arg]

REGISTRY: Registry = {
    ReachabilityCheck.name: ReachabilityCheck,
    TlsCheck.name: TlsCheck,
    PortsCheck.name: PortsCheck,
    PatchCheck.name: PatchCheck,
    DnssecCheck.name: DnssecCheck,
    MailCheck.name: MailCheck,
    WebCheck.name: WebCheck,
    ZoneTransferCheck.name: ZoneTransferCheck,
}


def names_for(kind: AssetKind, registry: Registry = REGISTRY) -> tuple[str, ...]:
    """The checks that run on assets of `kind` (`Check.asset_kind`), in registry order: what an endpoint gets when
    no checks are named, and all it may be registered for."""
    return tuple(name for name, check in registry.items() if check.asset_kind == kind)


def default_names(kind: AssetKind, port: int, registry: Registry = REGISTRY) -> tuple[str, ...]:
    """The checks an asset of `kind` on `port` gets when it names none: `names_for` less the checks whose
    `default_ports` leave the port out (the web check runs by default on 443 only)."""
    return tuple(name for name in names_for(kind, registry) if on_by_default(registry[name], port))


def on_by_default(check: type[Check], port: int) -> bool:  # type: ignore[type-arg]
    """Whether an asset on `port` that names no checks gets `check` (`Check.default_ports`)."""
    return check.default_ports is None or port in check.default_ports
