"""Recording: what a check runs with on one asset (`prepare`), and judging stored facts again without a scan
(`Rejudging`). One implementation for the scheduler, `posture scan`, a new vulnerability database and a change
of an agency's check settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.base import Check, CheckConfig, CheckContext
from monitor.errors import InvalidInput
from monitor.models import CheckResult, CheckStatus
from monitor.runner import judge, make_result
from monitor.store.facts import StoredFacts
from monitor.store.store import Store
from monitor.store.work import WorkQueue
from monitor.usecases.check_settings import INVALID_SETTINGS, endpoint_config

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AssetSettings:
    """What an asset's registration says about how one check runs on it."""

    check_settings: Mapping[str, Any] = field(default_factory=dict)  # the check's overrides on this asset
    agency_settings: Mapping[str, Any] = field(default_factory=dict)  # … and on all the agency's assets
    expected_ports: Sequence[int] = ()


class SettingsRefused(Exception):
    """The agency's or the asset's stored settings no longer make a valid config: the check is not run."""


@dataclass(frozen=True, slots=True)
class Prepared:
    config: CheckConfig
    context: CheckContext


def prepare(
    check: Check[Any, Any],
    base: CheckConfig,
    asset: AssetSettings,
    stored: Mapping[str, Any],
    now: datetime,
    executor: Executor | None = None,
    resources: Mapping[str, Any] | None = None,
) -> Prepared:
    """The config (global, then agency, then asset) and the context (the stored details of the check's peers,
    as stored: the check reads each as that peer's model) a check runs or is judged with. Raises SettingsRefused."""
    try:
        config = endpoint_config(base, asset.check_settings, asset.expected_ports, agency=asset.agency_settings)
    except InvalidInput as err:
        raise SettingsRefused(f"{INVALID_SETTINGS}: {err}") from None
    peers = {name: stored[name] for name in type(check).peer_names() if name in stored}
    context = CheckContext(
        now=now, executor=executor, peer_details=peers, resources=resources if resources is not None else {}
    )
    return Prepared(config, context)


class Rejudging:
    """Stored facts judged again by today's rules: a new vulnerability database, an agency's new profile.
    No scan runs: findings, alerts and the latest details change; the schedule and the scan history stay."""

    def __init__(
        self,
        store: Store,
        queue: WorkQueue | None,
        checks: Mapping[str, Check[Any, Any]],
        configs: Mapping[str, CheckConfig],
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.queue = queue
        self.checks = checks
        self.configs = configs
        self.resources = resources if resources is not None else {}

    async def results(
        self, name: str, endpoint_ids: Iterable[int] | None = None, agency: str | None = None
    ) -> list[CheckResult[Any]]:
        """One result per endpoint that runs check `name` and has the facts it stands on stored."""
        check = self.checks[name]
        names = (*type(check).depends_on, name)
        stored = await self.store.facts(name, names, endpoint_ids, agency)
        started = time.perf_counter()
        results = [self._judge(check, facts) for facts in stored if _complete(check, facts)]
        log.info("%s: re-judged %d endpoints in %.2f s", name, len(results), time.perf_counter() - started)
        return results

    async def record(self, name: str, endpoint_ids: Iterable[int] | None = None, agency: str | None = None) -> int:
        """Re-judge and record; returns the alerts queued."""
        if self.queue is None:
            raise RuntimeError("re-judging without a work queue only judges (results); it cannot record")
        return await self.queue.record_rejudged(await self.results(name, endpoint_ids, agency))

    async def agency_settings_changed(self, agency: str, names: Sequence[str]) -> int:
        """An agency's settings of the named checks changed: its stored facts of those are judged again at once
        (registration's `on_settings_changed`). Returns the alerts queued."""
        queued = 0
        for name in names:
            if name in self.checks:
                queued += await self.record(name, agency=agency)
                log.info("agency %s: %s settings changed, stored facts re-judged", agency, name)
        return queued

    def _judge(self, check: Check[Any, Any], facts: StoredFacts) -> CheckResult[Any]:
        now = self.store.clock.now()
        clock = time.perf_counter()
        model = type(check).details_model
        try:
            details = model.model_validate(facts.details[check.name]) if check.name in facts.details else model()
        except ValueError:
            details = model()  # its own details stored by an older schema: judge the peers' facts alone
        asset = AssetSettings(facts.check_settings, facts.agency_settings, facts.expected_ports)
        try:
            prepared = prepare(check, self.configs[check.name], asset, facts.details, now, resources=self.resources)
        except SettingsRefused as err:  # refused as the scheduler refuses it
            return make_result(check, facts.endpoint_id, now, clock, CheckStatus.MISCONFIGURED, error=str(err))
        return judge(check, facts.endpoint_id, details, prepared.config, prepared.context, now, clock)


def _complete(check: Check[Any, Any], facts: StoredFacts) -> bool:
    """The facts a judgement stands on are stored: every peer's, and the check's own unless it judges its peers'."""
    peers = type(check).depends_on
    return all(peer in facts.details for peer in peers) and (bool(peers) or check.name in facts.details)
