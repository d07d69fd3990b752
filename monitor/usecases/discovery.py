"""Discovery: what the sources saw becomes a candidate in the agency's inbox only inside the agency's scope, by
registration's own rule (the name in the domain scope and every address it resolves to allowed; an address in the
agency's CIDRs). A candidate is confirmed into registration, dismissed with a reason, or registered at once when the
agency turned `auto_register` on. A new candidate is announced as an `asset.discovered` alert (docs/discovery.md)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, cast

from checks import REGISTRY, Registry
from checks.base import accepts
from monitor.alert_texts import cut_detail
from monitor.discovery.models import SOURCES, AgencyAssets, Sighting, SourceName
from monitor.errors import InvalidInput, OutOfScope
from monitor.models import DOMAIN_PORT, Language, Severity, parse_language
from monitor.scope import ScopeEntry, in_scope, parse_ip
from monitor.scope_resolution import HostUnresolvable
from monitor.store.audit import Actor
from monitor.store.discovery_store import CandidateView, Seen
from monitor.store.endpoint_store import EndpointView
from monitor.store.store import Store
from monitor.usecases.registration import DomainRequest, EndpointRequest, Registration

log = logging.getLogger(__name__)

DISCOVERED_EVENT = "asset.discovered"
EVIDENCE_PER_SOURCE = 5  # sightings of one source kept as evidence of one candidate
ADMIT_CONCURRENCY = 32  # names resolved at once while admitting
PROBE_PORT = 443  # auto-register: a name without a known service is registered on HTTPS if it answers there
PROBE_TIMEOUT_S = 3.0
MAX_REASON = 300


class Source(Protocol):
    """A per-agency source ("dns", "sweep", "certs"): the sightings it made for the agency."""

    async def __call__(self, agency: AgencyAssets) -> list[Sighting]: ...


class GlobalSource(Protocol):
    """A source read once for every agency ("ct"): a log entry is matched to agencies by their domain scopes. It
    keeps its progress (the logs' cursors) until `commit`, called once what it saw is stored."""

    async def __call__(self, scopes: Mapping[str, Sequence[ScopeEntry]]) -> list[Sighting]: ...

    async def commit(self) -> None: ...


@dataclass(slots=True)
class SourceOutcome:
    source: SourceName
    status: Literal["ok", "failed", "skipped"]
    sightings: int = 0
    admitted: int = 0
    new: int = 0
    error: str | None = None


@dataclass(slots=True)
class DiscoveryOutcome:
    agency: str
    sources: list[SourceOutcome] = field(default_factory=list)
    new: list[CandidateView] = field(default_factory=list)
    registered: list[CandidateView] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (host, why) of sightings outside the scope


class Discovery:
    def __init__(
        self,
        store: Store,
        registration: Registration,
        sources: Mapping[SourceName, Source] | None = None,
        ct: GlobalSource | None = None,
        ui_base_url: str = "http://127.0.0.1:8080",
        default_min_severity: Severity = Severity.LOW,
        registry: Registry = REGISTRY,
    ) -> None:
        self.store = store
        self.registration = registration
        self.sources = sources or {}
        self.ct = ct
        self.ui_base_url = ui_base_url.rstrip("/")
        self.default_min_severity = default_min_severity
        self.registry = registry

    # --- running the sources ------------------------------------------------------------------------------------

    async def discover(self, agency: str, sources: Sequence[SourceName] = SOURCES) -> DiscoveryOutcome:
        """Run the named per-agency sources for one agency and keep what they saw inside its scope; "ct" reads the
        logs once for every agency (a log entry may name several agencies' hosts) and reports this agency's part."""
        outcome = DiscoveryOutcome(agency)
        assets = await self.assets(agency)
        for name in sources:
            if name == "ct":
                if self.ct is None:
                    outcome.sources.append(
                        SourceOutcome("ct", "skipped", error="no CT logs configured (POSTURE_CT_LOGS)")
                    )
                    continue
                outcomes = await self.read_ct()
                part = outcomes.get(agency, DiscoveryOutcome(agency, [SourceOutcome("ct", "ok")]))
                outcome.sources.extend(part.sources)
                outcome.new.extend(part.new)
                outcome.registered.extend(part.registered)
                outcome.refused.extend(part.refused)
                continue
            source = self.sources.get(name)
            if source is None:
                outcome.sources.append(SourceOutcome(name, "skipped", error="not configured"))
                continue
            try:
                sightings = await source(assets)
            except Exception as err:
                log.warning("discovery source %s failed for %s: %s", name, agency, err)
                outcome.sources.append(SourceOutcome(name, "failed", error=_short(err)))
                continue
            await self._keep(assets, name, sightings, outcome)
        return outcome

    async def run_due(self, sources: Sequence[SourceName], intervals: Mapping[str, float]) -> int:
        """Run every (agency, source) that is due, each then due again after its interval; "ct" runs once for all
        agencies when any agency's turn has come. A failing source is noted (`discovery_run`) and retried at its
        next turn. Returns the candidates that are new."""
        now = self.store.clock.now()
        # the first sweep of an agency waits for its turn within a sweep interval (see DiscoveryStore.due)
        due = await self.store.discovery.due(sources, now, {"sweep": intervals["sweep"]})
        new = 0
        ct_due = [run for run in due if run.source == "ct"]
        if ct_due:
            try:
                new += sum(len(outcome.new) for outcome in (await self.read_ct()).values())
                status, error = "ok", None
            except Exception as err:
                log.warning("discovery source ct failed: %s", err)
                status, error = "failed", _short(err)
            for run in ct_due:
                await self.store.discovery.ran(
                    run.agency, "ct", now + timedelta(seconds=intervals["ct"]), status, error, 0
                )
        for run in due:
            if run.source == "ct":
                continue
            outcome = await self.discover(run.agency, [cast(SourceName, run.source)])
            report = outcome.sources[0]
            new += report.new
            await self.store.discovery.ran(
                run.agency, run.source, now + timedelta(seconds=intervals[run.source]), report.status, report.error,
                report.new,
            )  # fmt: skip
        return new

    async def read_ct(self) -> dict[str, DiscoveryOutcome]:
        """Read the CT logs once and admit each name for the agencies whose scope holds it."""
        if self.ct is None:
            return {}
        agencies = await self.store.registry.list_agencies()
        everyone = {agency.slug: await self.assets(agency.slug) for agency in agencies}
        sightings = await self.ct({slug: assets.scopes for slug, assets in everyone.items()})
        outcomes: dict[str, DiscoveryOutcome] = {}
        for slug, assets in everyone.items():
            mine = [s for s in sightings if in_scope(s.host, [e for e in assets.scopes if e.kind == "domain"])]
            outcome = outcomes.setdefault(slug, DiscoveryOutcome(slug))
            await self._keep(assets, "ct", mine, outcome)
        await self.ct.commit()
        return outcomes

    async def assets(self, agency: str) -> AgencyAssets:
        scopes = [entry for _, entry in await self.store.registry.list_scopes(agency)]
        registered = await self.store.discovery.registered(agency)
        return AgencyAssets(
            agency,
            scopes,
            sorted(host for host, port in registered if port == DOMAIN_PORT),
            sorted({host for host, port in registered if port != DOMAIN_PORT}),
            frozenset(registered),
        )

    async def _keep(
        self, assets: AgencyAssets, source: SourceName, sightings: Sequence[Sighting], outcome: DiscoveryOutcome
    ) -> None:
        admitted, refused = await self.admit(assets, sightings)
        outcome.refused.extend(refused)
        fresh = await self.store.discovery.record(assets.slug, admitted, self._alert_rows)
        report = SourceOutcome(source, "ok", len(sightings), len(admitted), len(fresh))
        outcome.sources.append(report)
        outcome.new.extend(fresh)
        if fresh and await self.store.discovery.auto_register(assets.slug):
            outcome.registered.extend(await self._auto_register(fresh))

    # --- the scope rule -----------------------------------------------------------------------------------------

    async def admit(
        self, assets: AgencyAssets, sightings: Sequence[Sighting]
    ) -> tuple[list[Seen], list[tuple[str, str]]]:
        """The sightings inside the agency's scope and not registered yet, merged per (host, port); and the hosts
        refused with the reason. A name is resolved (only if inside the domain scope: a third party's name is never
        looked up) and every address must be allowed, as at registration; a name without an address is dropped."""
        merged: dict[tuple[str, int | None], list[Sighting]] = {}
        registered_hosts = {host for host, _ in assets.registered}
        for sighting in sightings:
            if (sighting.host, sighting.port or DOMAIN_PORT) in assets.registered:
                continue
            if sighting.port is None and sighting.host in registered_hosts:
                continue  # the name is registered (on some port, or as a domain): nothing new about it
            merged.setdefault((sighting.host, sighting.port), []).append(sighting)
        verdicts = await self._hosts_in_scope(assets, {host for host, _ in merged})
        admitted, refused = [], []
        for (host, port), seen in merged.items():
            why = verdicts[host]
            if why is not None:
                refused.append((host, why))
                continue
            evidence: dict[str, list[Any]] = {}
            for sighting in seen:
                kept = evidence.setdefault(sighting.source, [])
                if len(kept) < EVIDENCE_PER_SOURCE:
                    kept.append(dict(sighting.evidence))
            admitted.append(Seen(host, port, tuple(sorted(evidence)), evidence, self.exposure(port)))
        return admitted, refused

    async def _hosts_in_scope(self, assets: AgencyAssets, hosts: Iterable[str]) -> dict[str, str | None]:
        """host → None when registration would admit it now, else the one-line reason."""
        gate = asyncio.Semaphore(ADMIT_CONCURRENCY)

        async def verdict(host: str) -> tuple[str, str | None]:
            if not in_scope(host, assets.scopes):  # before any DNS query, as registration does
                return host, "outside the agency's scope"
            async with gate:
                try:
                    await self.registration.admitted_host(assets.slug, host, assets.scopes)
                except (OutOfScope, InvalidInput) as err:
                    return host, err.reason
            return host, None

        return dict(await asyncio.gather(*(verdict(host) for host in hosts)))

    def exposure(self, port: int | None) -> Severity:
        """How much a new service matters: its port's exposure class (an RDP or database port is high), at least
        low, so that every newly seen asset is announced under the default alert threshold."""
        if port is None:
            return Severity.LOW
        classes = [found for check in self.registry.values() if (found := check.exposure_of(port)) is not None]
        return max([Severity.LOW, *(found.severity for found in classes)])

    # --- the inbox ----------------------------------------------------------------------------------------------

    async def confirm(
        self,
        candidate_id: int,
        agency_id: int | None,
        actor: Actor,
        as_kind: Literal["endpoint", "domain"] | None = None,
        port: int | None = None,
    ) -> tuple[CandidateView, EndpointView]:
        """Register the candidate through registration (its scope rules apply again, now): an endpoint on the
        candidate's port (or `port`), or a domain. Refused unless it waits in the inbox."""
        candidate = await self.store.discovery.get(candidate_id, agency_id)
        if candidate.state == "registered":
            raise InvalidInput("id", f"{candidate.display} is registered already (asset {candidate.asset_id})")
        kind = as_kind or ("endpoint" if candidate.port is not None or port is not None else None)
        if kind is None:
            raise InvalidInput(
                "as",
                f"{candidate.host} was seen without a service: confirm it as a domain, or as an endpoint with a port",
            )
        if kind == "domain":
            if parse_ip(candidate.host) is not None:
                raise InvalidInput("as", f"{candidate.host} is an address, not a domain: confirm it as an endpoint")
            asset = await self.registration.register_domain(candidate.agency, DomainRequest(candidate.host), actor)
        else:
            chosen = port if port is not None else candidate.port
            if chosen is None:
                raise InvalidInput("port", f"{candidate.host} was seen without a service: give the port to register")
            asset = await self.registration.register_endpoint(
                candidate.agency, EndpointRequest(candidate.host, chosen), actor
            )
        return await self.store.discovery.decide(candidate, "registered", actor, asset_id=asset.id), asset

    async def dismiss(self, candidate_id: int, agency_id: int | None, reason: str, actor: Actor) -> CandidateView:
        """Not the agency's, or not worth monitoring: it stays dismissed when it is seen again."""
        text = " ".join(reason.split())
        if not text:
            raise InvalidInput("reason", "say why the asset is dismissed (e.g. “gehört dem Dienstleister”)")
        if len(text) > MAX_REASON:
            raise InvalidInput("reason", f"at most {MAX_REASON} characters")
        candidate = await self.store.discovery.get(candidate_id, agency_id)
        if candidate.state == "registered":
            raise InvalidInput("id", f"{candidate.display} is registered: remove the asset instead")
        return await self.store.discovery.decide(candidate, "dismissed", actor, reason=text)

    async def _auto_register(self, fresh: Sequence[CandidateView]) -> list[CandidateView]:
        """The agency wants candidates registered at once: a service as an endpoint; a name without a known
        service as an endpoint on 443 if it answers there (one TCP connection to an address already admitted),
        else it waits in the inbox. Registration refusing one (its scope changed meanwhile) leaves it waiting."""
        actor = Actor("discovery", "daemon")
        done = []
        for candidate in fresh:
            port = candidate.port
            if port is None:
                try:
                    addresses = [str(a) for a in await self.registration.resolver.addresses(candidate.host)]
                except HostUnresolvable:
                    continue  # gone since it was admitted: it waits in the inbox
                if not any([await accepts(address, PROBE_PORT, PROBE_TIMEOUT_S) for address in addresses[:2]]):
                    continue
                port = PROBE_PORT
            try:
                registered, _ = await self.confirm(candidate.id, None, actor, "endpoint", port)
            except (OutOfScope, InvalidInput) as err:
                log.info("auto-register of %s refused: %s", candidate.display, err.reason)
                continue
            done.append(registered)
        return done

    # --- the alert ----------------------------------------------------------------------------------------------

    def _alert_rows(
        self, fresh: Sequence[CandidateView], min_severity: Severity | None, language: str
    ) -> list[dict[str, Any] | None]:
        minimum = self.default_min_severity if min_severity is None else min_severity
        now = fresh[0].first_seen if fresh else None
        return [
            discovered_row(candidate, parse_language(language), self.ui_base_url, now)
            if candidate.exposure >= minimum
            else None
            for candidate in fresh
        ]


def discovered_row(
    candidate: CandidateView, language: Language, ui_base_url: str, now: datetime | None
) -> dict[str, Any]:
    """The outbox row of an `asset.discovered` alert (CloudEvents or IntelMQ, as every alert)."""
    what = candidate.display
    sources = ", ".join(candidate.sources)
    if language == "de":
        title = f"Neues System entdeckt: {what}"
        summary = f"{what} liegt im Prüfbereich, ist aber nicht registriert (gefunden über: {sources})."
        remediation = (
            "Prüfen Sie, ob das System Ihrer Behörde gehört und betrieben werden soll. Bestätigen Sie es in der "
            "Übersicht „Entdeckte Systeme“, damit es überwacht wird, oder verwerfen Sie es mit einer Begründung."
        )
    else:
        title = f"New asset discovered: {what}"
        summary = f"{what} lies inside the scope but is not registered (seen by: {sources})."
        remediation = (
            "Check whether the asset is the agency's and should be running. Confirm it in the discovered-assets "
            "inbox so that it is monitored, or dismiss it with a reason."
        )
    observed = (now or candidate.first_seen).isoformat()
    detail, truncated = cut_detail(
        {"candidate": candidate.id, "sources": list(candidate.sources), "evidence": dict(candidate.evidence)}
    )
    data = {
        "agency": candidate.agency,
        "endpoint_id": 0,
        "endpoint": what,
        "asset_kind": "candidate",
        "host": candidate.host,
        "port": candidate.port,
        "check": "discovery",
        "key": DISCOVERED_EVENT,
        "severity": candidate.exposure.label,
        "language": language,
        "title": title,
        "summary": summary,
        "detail": detail,
        "detail_truncated": truncated,
        "remediation": remediation,
        "first_seen": candidate.first_seen.isoformat(),
        "due_date": None,
        "kev": False,
        "observed_at": observed,
        "link": f"{ui_base_url}/discoveries/{candidate.id}",
    }
    return {
        "event_id": str(uuid.uuid4()),
        "type": DISCOVERED_EVENT,
        "agency": candidate.agency,
        "endpoint_id": 0,
        "severity": int(candidate.exposure),
        "data": data,
        "created_at": now or candidate.first_seen,
    }


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:MAX_REASON]
