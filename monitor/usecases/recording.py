"""Recording: results turned into findings, alerts and the next due time, in the store's one recording transaction
(a batch of scan results, a re-judgement, the time-driven sweep)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.findings import FindingState, Policy, reconcile, sweep
from monitor.models import CheckResult, FindingEvent, Severity
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
            batch = _Batch(await tx.findings(endpoint_ids))
            states = []
            for item, result in kept:
                failures_after, current = self._judge(batch, item, result, failures[item.key], now)
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
            outbox = await self._save(tx, batch, now)
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
            batch = _Batch(await tx.findings(endpoint_ids))
            for result in results:
                found = targets.get(result.endpoint_id or 0)
                if found is None:
                    continue  # removed meanwhile
                agency_id, target = found
                item = DueItem(
                    target.endpoint_id, result.check, agency_id, target.agency, target.host, target.port, 0.0,
                    target.min_severity, target.language,
                )  # fmt: skip
                self._judge(batch, item, result, 0, now)
            outbox = await self._save(tx, batch, now)
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
                await tx.save_findings([(endpoint_id, state, finding_id)])
                if event is not None:
                    rows.append(self.router.row(target, event, now, finding_id, state))
            queued = await tx.queue_alerts(rows)
        self._notify(queued)
        return queued

    def _judge(
        self, batch: _Batch, item: DueItem, result: CheckResult[Any], failures_before: int, now: datetime
    ) -> tuple[int, dict[str, FindingState]]:
        """Reconcile one result with the endpoint's findings, as the batch has them so far: (failures, this check's
        findings). The changed findings and the events wait in `batch` for `_save`; a later result of the same
        batch sees these changes."""
        stored = batch.stored.setdefault(item.endpoint_id, {})
        known = {key: state for key, (_, state) in stored.items()}
        outcome = reconcile(known, result, failures_before, self.policy, now)
        for state in (_verified(state, item, result) for state in outcome.states):
            stored[state.key] = (stored.get(state.key, (None, state))[0], state)
            batch.changed.add((item.endpoint_id, state.key))
        current = {key: state for key, (_, state) in stored.items() if state.check == item.check}
        batch.events += [(item, event, current.get(event.key)) for event in outcome.events]
        return outcome.failures, current

    async def _save(self, tx: RecordingTx, batch: _Batch, now: datetime) -> list[dict[str, Any] | None]:
        """Every changed finding of the batch in one write, then the outbox rows of its events (they name the
        findings' row ids)."""
        changed = sorted(batch.changed)
        ids = await tx.save_findings(
            [(endpoint_id, batch.stored[endpoint_id][key][1], batch.stored[endpoint_id][key][0])
             for endpoint_id, key in changed]
        )  # fmt: skip
        for (endpoint_id, key), row_id in zip(changed, ids, strict=True):
            batch.stored[endpoint_id][key] = (row_id, batch.stored[endpoint_id][key][1])
        return [
            self.router.row(item.alert_target, event, now, _row_id(batch, item.endpoint_id, event.key), state)
            for item, event, state in batch.events
        ]

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


class _Batch:
    """The findings of one recording transaction: as stored plus this batch's changes (a new finding's row id is
    None until `_save`), which ones changed, and the events to turn into outbox rows."""

    def __init__(self, stored: Mapping[int, StoredFindings]) -> None:
        self.stored: dict[int, dict[str, tuple[int | None, FindingState]]] = {
            endpoint_id: dict(findings) for endpoint_id, findings in stored.items()
        }
        self.changed: set[tuple[int, str]] = set()
        self.events: list[tuple[DueItem, FindingEvent, FindingState | None]] = []


def _row_id(batch: _Batch, endpoint_id: int, key: str) -> int | None:
    found = batch.stored.get(endpoint_id, {}).get(key)
    return found[0] if found is not None else None
