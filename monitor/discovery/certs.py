"""The "certs" source: host names the checks saw in their latest facts (the DNS names of served certificates, a
transferred zone's names), through each check's `names_seen`. It reads stored details only: it contacts nothing."""

from __future__ import annotations

from pydantic import ValidationError

from checks import REGISTRY, Registry
from checks.base import Check
from monitor.discovery.models import AgencyAssets, Sighting, SourceName
from monitor.errors import InvalidInput
from monitor.scope import normalise_host
from monitor.store.discovery_store import DiscoveryStore


class StoredNames:
    """Sightings from the checks that implement `Check.names_seen`, for one source ("certs" or "dns")."""

    def __init__(self, store: DiscoveryStore, source: SourceName, registry: Registry = REGISTRY) -> None:
        self.store = store
        self.source = source
        self.registry = registry

    async def __call__(self, agency: AgencyAssets) -> list[Sighting]:
        checks = [name for name, check in self.registry.items() if check.names_seen is not Check.names_seen]
        found: list[Sighting] = []
        for host, port, name, stored in await self.store.latest_details(agency.slug, checks):
            check = self.registry[name]
            try:
                details = check.details_model.model_validate(stored)
            except ValidationError:  # stored by an older schema: the next run stores it anew
                continue
            seen_on = host if port == 0 else f"{host}:{port}"
            for seen in check().names_seen(details):
                if seen.source != self.source:
                    continue
                wildcard = seen.name.startswith("*.")
                try:
                    name_seen = normalise_host(seen.name[2:] if wildcard else seen.name)
                except InvalidInput:
                    continue  # a certificate's or zone's text is data: a name that is no host name is dropped
                evidence = {
                    **seen.evidence,
                    "seen_on": seen_on,
                    "check": name,
                    **({"wildcard": True} if wildcard else {}),
                }
                found.append(Sighting(name_seen, None, self.source, evidence))
        return found
