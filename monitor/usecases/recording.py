"""Recording: what a check runs with on one asset (`prepare`); results turned into findings, alerts and the next
due time in one transaction (`Recorder`: record, record re-judged, sweep); stored facts judged again without a
scan (`Rejudging`). One implementation for the scheduler, `posture scan`, a new vulnerability database and a
change of an agency's check settings."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.base import Check, CheckConfig, CheckContext
from monitor.errors import InvalidInput
from monitor.findings import FindingState, Policy, reconcile, sweep
from monitor.models import CheckResult, CheckStatus, Severity
from monitor.runner import judge, make_result
from monitor.store.facts import StoredFacts
from monitor.store.finding_store import StoredFindings
from monitor.store.store import Store
from monitor.store.work import DueItem, RecordingTx, WorkQueue
from monitor.usecases.alerting import AlertRouter
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


class Recorder:
    """The findings lifecycle applied to results, inside the store's recording transaction: reconcile with the
    known findings (monitor/findings.py), verified fixes, alert routing, the next due time (monitor/cadence.py)."""

    def __init__(
        self,
        queue: WorkQueue,
        policy: Policy | None = None,
        router: AlertRouter | None = None,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.clock = queue.clock
        self.cadence = queue.cadence
        self.policy = policy or Policy()
        self.router = router or AlertRouter("http://127.0.0.1:8080", Severity.LOW)
        self.on_outbox = on_outbox  # told when rows were queued (wakes the publisher)

    async def record(self, done: Sequence[tuple[DueItem, CheckResult[Any]]]) -> int:
        """Store results, findings, outbox rows and the next due time in one transaction.

        Results for leases we no longer own (expired and taken over) are dropped. Returns how many were kept.
        """
        if not done:
            return 0
        now = self.clock.now()
        endpoint_ids = sorted({item.endpoint_id for item, _ in done})
        async with self.queue.recording() as tx:
            failures = await tx.owned_failures(endpoint_ids)
            kept = [(item, result) for item, result in done if item.key in failures]
            if len(kept) < len(done):
                log.warning("dropped %d results whose lease expired before they finished", len(done) - len(kept))
            findings = await tx.findings(endpoint_ids)
            states, outbox = [], []
            for item, result in kept:
                stored = findings.setdefault(item.endpoint_id, {})
                failures_after, current, rows = await self._judge(tx, item, result, failures[item.key], stored, now)
                outbox += rows
                due = self.cadence.next_due(result.started_at, item.interval_s, is_risky(current))
                states.append(
                    {
                        "endpoint_id": item.endpoint_id,
                        "check": item.check,
                        # start to start: a slow check does not stretch its endpoint's cadence
                        "next_due": max(now, due),
                        "consecutive_failures": failures_after,
                        "last_status": result.status.value,
                        "last_run_at": result.started_at,
                    }
                )
            await tx.add_scan_runs(kept)
            await tx.upsert_latest([result for _, result in kept])
            await tx.set_states(states)
            queued = await tx.queue_alerts(outbox)
        self._notify(queued)
        return len(kept)

    async def record_rejudged(self, results: Sequence[CheckResult[Any]]) -> int:
        """Findings from stored facts judged again (a new KEV entry, an agency's new profile): no scan ran, so
        the schedule and the scan history stay as they are; findings, alerts and the latest result change.
        Returns events queued."""
        results = [result for result in results if result.endpoint_id is not None]
        if not results:
            return 0
        now = self.clock.now()
        endpoint_ids = sorted({result.endpoint_id for result in results if result.endpoint_id is not None})
        async with self.queue.recording() as tx:
            targets = await tx.alert_targets(endpoint_ids)
            findings = await tx.findings(endpoint_ids)
            outbox: list[dict[str, Any] | None] = []
            for result in results:
                found = targets.get(result.endpoint_id or 0)
                if found is None:
                    continue  # removed meanwhile
                agency_id, target = found
                item = DueItem(
                    target.endpoint_id, result.check, agency_id, target.agency, target.host, target.port, 0.0,
                    target.min_severity,
                )  # fmt: skip
                stored = findings.setdefault(target.endpoint_id, {})
                outbox += (await self._judge(tx, item, result, 0, stored, now))[2]
            await tx.upsert_latest(results)
            queued = await tx.queue_alerts(outbox)
        self._notify(queued)
        return queued

    async def sweep(self, now: datetime | None = None) -> int:
        """Time-driven lifecycle (reminders, deadlines, expired acceptances); returns events queued."""
        now = now or self.clock.now()
        async with self.queue.recording() as tx:
            candidates = await tx.sweep_candidates(now, self.policy.reminders)
            by_endpoint_key = {
                (endpoint_id, state.key): (finding_id, target) for finding_id, state, target, endpoint_id in candidates
            }
            changes = sweep([(endpoint_id, state) for _, state, _, endpoint_id in candidates], self.policy, now)
            rows = []
            for endpoint_id, state, event in changes:
                finding_id, target = by_endpoint_key[(endpoint_id, state.key)]
                await tx.save_findings(endpoint_id, [state], {state.key: (finding_id, state)})
                if event is not None:
                    rows.append(self.router.row(target, event, now, finding_id, state))
            queued = await tx.queue_alerts(rows)
        self._notify(queued)
        return queued

    async def _judge(
        self,
        tx: RecordingTx,
        item: DueItem,
        result: CheckResult[Any],
        failures_before: int,
        stored: StoredFindings,
        now: datetime,
    ) -> tuple[int, dict[str, FindingState], list[dict[str, Any] | None]]:
        """Reconcile one result with the endpoint's findings and save them: (failures, this check's findings,
        outbox rows). `stored` is updated, so a later result of the same batch sees these changes."""
        known = {key: state for key, (_, state) in stored.items()}
        outcome = reconcile(known, result, failures_before, self.policy, now)
        changed = [_verified(state, item, result) for state in outcome.states]
        ids = await tx.save_findings(item.endpoint_id, changed, stored)
        for state in changed:
            stored[state.key] = (ids[state.key], state)
        current = {key: state for key, (_, state) in stored.items() if state.check == item.check}
        rows = [
            self.router.row(item.alert_target, event, now, ids.get(event.key), current.get(event.key))
            for event in outcome.events
        ]
        return outcome.failures, current, rows

    def _notify(self, queued: int) -> None:
        if queued and self.on_outbox is not None:
            self.on_outbox()


def _verified(state: FindingState, item: DueItem, result: CheckResult[Any]) -> FindingState:
    """A finding that disappears in a run the agency asked for (re-scan after a fix) is resolved as verified."""
    requested = item.rescan_requested_at
    if state.is_open or state.resolution != "not_seen" or requested is None or requested > result.started_at:
        return state
    return dataclasses.replace(state, resolution="fix_verified")


def is_risky(states: Mapping[str, FindingState]) -> bool:
    """Open high or critical findings: the endpoint is checked more often (`risk_interval_factor`)."""
    return any(state.is_open and state.severity >= Severity.HIGH for state in states.values())


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
        names = (*type(check).depends_on, name)
        stored = await self.store.facts(name, names, endpoint_ids, agency)
        started = time.perf_counter()
        results = [self._judge(check, facts) for facts in stored if _complete(check, facts)]
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

    def _judge(self, check: Check[Any, Any], facts: StoredFacts) -> CheckResult[Any]:
        now = self.store.clock.now()
        clock = time.perf_counter()
        model = type(check).details_model
        try:
            details = model.model_validate(facts.details[check.name]) if check.name in facts.details else model()
        except ValueError:
            details = model()  # its own details stored by an older schema: judge the peers' facts alone
        asset = AssetSettings(facts.check_settings, facts.agency_settings, facts.expected_ports)
        peers = {name: raw for name, raw in facts.details.items() if name != check.name}  # no previous scan here
        try:
            prepared = prepare(check, self.configs[check.name], asset, peers, now, resources=self.resources)
        except SettingsRefused as err:  # refused as the scheduler refuses it
            return make_result(check, facts.endpoint_id, now, clock, CheckStatus.MISCONFIGURED, error=str(err))
        return _without_drift(
            check, judge(check, facts.endpoint_id, details, prepared.config, prepared.context, now, clock)
        )


def _without_drift(check: Check[Any, Any], result: CheckResult[Any]) -> CheckResult[Any]:
    """Stored facts judged again have no previous scan to compare with: the findings that compare with one
    (`Check.compares_with_previous`) are neither raised nor resolved by a re-judgement."""
    keys = type(check).compares_with_previous
    if not keys or result.status is not CheckStatus.OK:
        return result
    kept = tuple(o for o in result.observations if o.key not in keys)
    return dataclasses.replace(result, observations=kept, untested=(*result.untested, *keys))


def _complete(check: Check[Any, Any], facts: StoredFacts) -> bool:
    """The facts a judgement stands on are stored: every peer's, and the check's own unless it judges its peers'."""
    peers = type(check).depends_on
    return all(peer in facts.details for peer in peers) and (bool(peers) or check.name in facts.details)
