"""What every discovery source returns: sightings of a host, or of a service on a host, with the evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.scope import ScopeEntry

SourceName = Literal["dns", "sweep", "certs", "ct"]
SOURCES: tuple[SourceName, ...] = ("dns", "sweep", "certs", "ct")


@dataclass(frozen=True, slots=True)
class Sighting:
    """A host name or IP address (normalised: lower case, no trailing dot, IDNA A-labels) a source saw, and the
    port of a service on it when the source saw one (the sweep does; a DNS name or a certificate's SAN does not).
    A sighting is not yet a candidate: the discovery use case admits it only inside the agency's scope."""

    host: str
    port: int | None
    source: SourceName
    evidence: Mapping[str, Any] = field(default_factory=dict)  # where it was seen: data, shown escaped


@dataclass(frozen=True, slots=True)
class AgencyAssets:
    """What a per-agency source reads: the agency's scope and what it registered."""

    slug: str
    scopes: Sequence[ScopeEntry]
    domains: Sequence[str]  # registered domain names
    hosts: Sequence[str]  # registered endpoints' hosts
    registered: frozenset[tuple[str, int]]  # (host, port) of every asset; a domain has port 0

    @property
    def networks(self) -> tuple[str, ...]:
        """The agency's CIDR scopes (what a sweep may touch)."""
        return tuple(entry.value for entry in self.scopes if entry.kind == "cidr")
