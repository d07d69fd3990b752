"""The discovery use case with the sources the settings ask for: what the daemon and `posture discover` run."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.discovery.certs import StoredNames
from monitor.discovery.ct import CtLog
from monitor.discovery.ct_logs import CtLogs
from monitor.discovery.dns_names import DnsNames
from monitor.discovery.models import AgencyAssets, Sighting, SourceName
from monitor.discovery.sweep import Sweep, SweepConfig
from monitor.durations import parse_duration
from monitor.models import Severity
from monitor.scope_resolution import DnsResolver, Resolver
from monitor.settings import Settings
from monitor.store.store import Store
from monitor.usecases.discovery import Discovery, GlobalSource, Source
from monitor.usecases.registration import registration_from


def discovery_from(settings: Settings, store: Store, resolver: Resolver | None = None) -> Discovery:
    resolver = resolver or DnsResolver(settings.dns_servers)
    sources: dict[SourceName, Source] = {
        "certs": StoredNames(store.discovery, "certs"),
        "sweep": Sweep(SweepConfig(max_rate=settings.sweep_max_rate)),
        "dns": both(DnsNames(settings.dns_servers), StoredNames(store.discovery, "dns")),
    }
    ct: GlobalSource | None = None
    if settings.ct_logs:
        ct = CtLogs(store.discovery, [CtLog.parse(spec) for spec in settings.ct_logs], settings.ct_backlog)
    return Discovery(
        store,
        registration_from(settings, store, resolver),
        sources,
        ct,
        settings.ui_base_url,
        Severity.parse(settings.alert_min_severity),
    )


def both(first: Source, second: Source) -> Source:
    """One source from two: the dns source asks DNS itself and reads the names zone transfers handed out."""

    async def run(agency: AgencyAssets) -> list[Sighting]:
        return [*await first(agency), *await second(agency)]

    return run


def intervals_of(settings: Settings) -> Mapping[str, float]:
    """Seconds between two runs of each source."""
    return {name: parse_duration(text) for name, text in settings.discovery_intervals.items()}
