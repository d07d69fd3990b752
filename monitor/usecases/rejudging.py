"""Re-judging: stored facts judged again by today's rules, without a scan (a new vulnerability database, an agency's
new check settings), through the runner's one judgement and recorded like a scan's result."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from checks.base import Check, CheckConfig
from monitor.models import CheckResult, CheckStatus
from monitor.runner import judge, make_result
from monitor.store.facts import StoredFacts
from monitor.store.store import Store
from monitor.usecases.preparation import AssetSettings, SettingsRefused, prepare
from monitor.usecases.recording import Recorder

log = logging.getLogger(__name__)


class Rejudging:
    """Stored facts judged again by today's rules: a new vulnerability database, an agency's new profile.
    No scan runs: findings, alerts and the latest details change; the schedule and the scan history stay."""

    def __init__(
        self,
        store: Store,
        recorder: Recorder | None,
        checks: Mapping[str, Check[Any, Any]],
        configs: Mapping[str, CheckConfig],
        resources: Mapping[str, Any] | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.checks = checks
        self.configs = configs
        self.resources = resources if resources is not None else {}

    async def results(
        self, name: str, endpoint_ids: Iterable[int] | None = None, agency: str | None = None
    ) -> list[CheckResult[Any]]:
        """One result per endpoint that runs check `name` and has the facts it stands on stored."""
        check = self.checks[name]
        if type(check).vulndb is not None and "vulndb" not in self.resources:
            # judged against no database (the api role loads none), every CVE would look fixed: the next scan
            # of a replica that has the database applies the change
            log.info("%s: not re-judged here, this process has no vulnerability database", name)
            return []
        names = (*type(check).depends_on, name)
        stored = await self.store.facts(name, names, endpoint_ids, agency)
        started = time.perf_counter()
        # judging is CPU work (10,000 endpoints take seconds): off the event loop
        results = await asyncio.to_thread(self._judge_all, check, stored)
        log.info("%s: re-judged %d endpoints in %.2f s", name, len(results), time.perf_counter() - started)
        return results

    async def record(self, name: str, endpoint_ids: Iterable[int] | None = None, agency: str | None = None) -> int:
        """Re-judge and record; returns the alerts queued."""
        if self.recorder is None:
            raise RuntimeError("re-judging without a recorder only judges (results); it cannot record")
        return await self.recorder.record_rejudged(await self.results(name, endpoint_ids, agency))

    async def agency_settings_changed(self, agency: str, names: Sequence[str]) -> int:
        """An agency's settings of the named checks changed: its stored facts of those are judged again at once
        (registration's `on_settings_changed`). Returns the alerts queued."""
        queued = 0
        for name in names:
            if name in self.checks:
                queued += await self.record(name, agency=agency)
                log.info("agency %s: %s settings changed, stored facts re-judged", agency, name)
        return queued

    def _judge_all(self, check: Check[Any, Any], stored: Sequence[StoredFacts]) -> list[CheckResult[Any]]:
        peers = type(check).depends_on
        judged = [self._judge(check, facts) for facts in stored if all(peer in facts.details for peer in peers)]
        return [result for result in judged if result is not None]

    def _judge(self, check: Check[Any, Any], facts: StoredFacts) -> CheckResult[Any] | None:
        """The result of judging one endpoint's stored facts; None when there is nothing to judge."""
        now = self.store.clock.now()
        clock = time.perf_counter()
        details = _own_details(check, facts)
        if details is None:
            return None
        asset = AssetSettings(facts.check_settings, facts.agency_settings, facts.expected_ports)
        peers = {name: raw for name, raw in facts.details.items() if name != check.name}  # no previous scan here
        try:
            prepared = prepare(check, self.configs[check.name], asset, peers, now, resources=self.resources)
        except SettingsRefused as err:  # refused as the scheduler refuses it
            return make_result(check, facts.endpoint_id, now, clock, CheckStatus.MISCONFIGURED, error=str(err))
        return _without_drift(
            check, judge(check, facts.endpoint_id, details, prepared.config, prepared.context, now, clock)
        )


def _own_details(check: Check[Any, Any], facts: StoredFacts) -> Any:
    """The check's own stored details as its model. Stored by an older schema (or absent), a check that judges
    its peers' facts starts from empty details; one that judges only its own has nothing to judge (None)."""
    model = type(check).details_model
    try:
        return model.model_validate(facts.details[check.name])
    except (KeyError, ValueError):
        if not type(check).depends_on:
            return None
    try:
        return model()
    except ValueError:
        return None


def _without_drift(check: Check[Any, Any], result: CheckResult[Any]) -> CheckResult[Any]:
    """Stored facts judged again have no previous scan to compare with: the findings that compare with one
    (`Check.compares_with_previous`) are neither raised nor resolved by a re-judgement."""
    keys = type(check).compares_with_previous
    if not keys or result.status is not CheckStatus.OK:
        return result
    kept = tuple(o for o in result.observations if o.key not in keys)
    return dataclasses.replace(result, observations=kept, untested=(*result.untested, *keys))
