"""What every discovery source returns: sightings of a host, or of a service on a host, with the evidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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
