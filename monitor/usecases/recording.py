"""Recording: results turned into findings, alerts and the next due time, in the store's one recording transaction
(a batch of scan results, a re-judgement, the time-driven sweep)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.findings import FindingState, Policy, reconcile, sweep
from monitor.models import CheckResult, Severity
from monitor.store.finding_store import StoredFindings
from monitor.store.work import DueItem, RecordingTx, WorkQueue
from monitor.usecases.alerting import AlertRouter

log = logging.getLogger(__name__)


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
                        "last_error": result.error,
                        "last_untested": list(result.untested) or None,
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
                    target.min_severity, target.language,
                )  # fmt: skip
                stored = findings.setdefault(target.endpoint_id, {})
                outbox += (await self._judge(tx, item, result, 0, stored, now))[2]
            await tx.upsert_latest(results, rejudged=True)
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
