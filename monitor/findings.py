"""The finding lifecycle, pure: results and the passing of time turn into new finding states and events.

Alerts are edges, never levels: a finding is announced when it opens, escalates, resolves, is due for a
reminder, passes its remediation deadline, or its accepted risk expires; "still bad" is a metric.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from monitor.models import CheckResult, CheckStatus, EventType, FindingEvent, Observation, Severity, key_matches

UNREACHABLE_KEY = "endpoint.unreachable"
RECOVERED_KEY = "endpoint.recovered"
# statuses that say the target is down; our own failures (misconfigured, crashed) say nothing about it
TARGET_FAILURES = frozenset({CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT})
DAY = timedelta(days=1)
UNREACHABLE_AFTER = 3  # target failures of a check in a row before endpoint.unreachable (POSTURE_UNREACHABLE_AFTER)


@dataclass(frozen=True, slots=True)
class Policy:
    unreachable_after: int = UNREACHABLE_AFTER
    reopen_window: timedelta = 90 * DAY
    reminders: Mapping[Severity, timedelta] = field(
        default_factory=lambda: {Severity.CRITICAL: 7 * DAY, Severity.HIGH: 14 * DAY, Severity.MEDIUM: 60 * DAY}
    )
    deadlines: Mapping[Severity, timedelta] = field(
        default_factory=lambda: {Severity.CRITICAL: 15 * DAY, Severity.HIGH: 30 * DAY}
    )
    flap_threshold: int = 4  # opened/resolved changes within flap_window that make a finding flapping
    flap_window: timedelta = DAY


@dataclass(frozen=True, slots=True)
class FindingState:
    """What the lifecycle knows of one finding (identity: endpoint and key)."""

    key: str
    check: str
    severity: Severity
    title: str
    is_open: bool
    first_seen: datetime
    last_seen: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)
    remediation: str = ""
    kev: bool = False
    resolved_at: datetime | None = None
    accepted_until: datetime | None = None
    due_at: datetime | None = None
    last_notified_at: datetime | None = None
    overdue_notified: bool = False
    transitions: tuple[datetime, ...] = ()
    flapping: bool = False
    resolution: str | None = None  # how it was resolved: "not_seen", or "fix_verified" after a requested re-scan

    def muted(self, now: datetime) -> bool:
        return self.accepted_until is not None and now < self.accepted_until


@dataclass(frozen=True, slots=True)
class Reconciled:
    events: tuple[FindingEvent, ...]
    states: tuple[FindingState, ...]  # every finding whose stored state changes
    failures: int  # consecutive target failures after this run


def _event(kind: EventType, endpoint_id: int, state: FindingState) -> FindingEvent:
    return FindingEvent(
        type=kind,
        endpoint_id=endpoint_id,
        check=state.check,
        key=state.key,
        severity=state.severity,
        title=state.title,
        detail=state.detail,
        remediation=state.remediation,
    )


def deadline(
    observation_detail: Mapping[str, Any], severity: Severity, opened: datetime, policy: Policy
) -> datetime | None:
    """KEV findings are due when CISA says; others by severity."""
    kev_due = observation_detail.get("due_date") if observation_detail.get("kev") else None
    if isinstance(kev_due, str):
        try:
            return datetime.combine(date.fromisoformat(kev_due), time.max, tzinfo=opened.tzinfo)
        except ValueError:
            pass
    span = policy.deadlines.get(severity)
    return opened + span if span else None


def _with_transition(state: FindingState, now: datetime, policy: Policy) -> tuple[FindingState, bool]:
    """Record an opened/resolved change; returns the state and whether it just started flapping."""
    recent = (*(t for t in state.transitions if now - t < policy.flap_window), now)
    starts = not state.flapping and len(recent) >= policy.flap_threshold
    return dataclasses.replace(state, transitions=recent, flapping=state.flapping or starts), starts


def reconcile(
    known: Mapping[str, FindingState],
    result: CheckResult[Any],
    failures_before: int,
    policy: Policy,
    now: datetime,
) -> Reconciled:
    """Events and new states for `result`, given the findings already known for its endpoint.

    A key of this check absent after an OK run is resolved, unless the run could not test it (`result.untested`);
    after any other status nothing is resolved, because a server we could not reach has not fixed anything.
    """
    endpoint_id = result.endpoint_id
    if endpoint_id is None:
        raise ValueError("reconcile needs a registered endpoint")
    events: list[FindingEvent] = []
    failures = failures_before
    if result.status in TARGET_FAILURES:
        failures = failures_before + 1
        if failures == policy.unreachable_after:
            events.append(_endpoint_event(EventType.ENDPOINT_UNREACHABLE, result, failures))
    elif result.status is CheckStatus.OK:
        failures = 0
        if failures_before >= policy.unreachable_after:
            events.append(_endpoint_event(EventType.ENDPOINT_RECOVERED, result, failures_before))
    states: list[FindingState] = []
    # a refused run can still observe something (scope.violation): it opens, but nothing is resolved
    for observation in result.observations:
        state, event = _observed(known.get(observation.key), observation, result.check, policy, now)
        states.append(state)
        if event is not None and not state.muted(now):
            events.append(_event(event, endpoint_id, state))
    if result.status is not CheckStatus.OK:
        return Reconciled(tuple(events), tuple(states), failures)
    seen = {observation.key for observation in result.observations}

    def untested(key: str) -> bool:
        return any(key_matches(pattern, key) for pattern in result.untested)

    for key, previous in known.items():
        if previous.is_open and key not in seen and previous.check == result.check and not untested(key):
            state, flapping_starts = _with_transition(
                dataclasses.replace(previous, is_open=False, resolved_at=now, resolution="not_seen"), now, policy
            )
            states.append(state)
            if state.muted(now):
                continue
            if flapping_starts:
                events.append(_event(EventType.FINDING_FLAPPING, endpoint_id, state))
            elif not state.flapping:
                events.append(_event(EventType.FINDING_RESOLVED, endpoint_id, state))
    return Reconciled(tuple(events), tuple(states), failures)


def _observed(
    previous: FindingState | None, observation: Observation, check: str, policy: Policy, now: datetime
) -> tuple[FindingState, EventType | None]:
    kev = bool(observation.detail.get("kev"))

    def seen_again(state: FindingState) -> FindingState:
        return dataclasses.replace(
            state,
            severity=observation.severity,
            title=observation.title,
            detail=observation.detail,
            remediation=observation.remediation,
            kev=kev,
            last_seen=now,
        )

    if previous is not None and previous.is_open:
        state = seen_again(previous)
        escalated = observation.severity > previous.severity or (kev and not previous.kev)
        if escalated:
            due = deadline(observation.detail, observation.severity, previous.first_seen, policy)
            # KEV: CISA's due date governs; otherwise a higher severity can only bring the deadline closer
            earliest = min(filter(None, (due, previous.due_at)), default=None)
            state = dataclasses.replace(state, due_at=due if kev else earliest)
        return state, EventType.FINDING_ESCALATED if escalated else None
    if previous is not None and previous.resolved_at is not None and now - previous.resolved_at < policy.reopen_window:
        # it came back soon: the old finding reopens, keeping its history and original deadline
        state, flapping_starts = _with_transition(
            dataclasses.replace(seen_again(previous), is_open=True, resolved_at=None, resolution=None), now, policy
        )
        if flapping_starts:
            return state, EventType.FINDING_FLAPPING
        return state, None if state.flapping else EventType.FINDING_OPENED
    state = FindingState(
        key=observation.key,
        check=check,
        severity=observation.severity,
        title=observation.title,
        is_open=True,
        first_seen=now,
        last_seen=now,
        detail=observation.detail,
        remediation=observation.remediation,
        kev=kev,
        due_at=deadline(observation.detail, observation.severity, now, policy),
        accepted_until=previous.accepted_until if previous else None,
        transitions=(now,),
    )
    return state, EventType.FINDING_OPENED


def sweep(
    states: Iterable[tuple[int, FindingState]], policy: Policy, now: datetime
) -> list[tuple[int, FindingState, FindingEvent | None]]:
    """Time-driven changes of open findings: reminders, deadlines, expired acceptances, flapping that calmed.

    Returns (endpoint id, new state, event or None) for every finding whose state changes.
    """
    changes: list[tuple[int, FindingState, FindingEvent | None]] = []
    for endpoint_id, state in states:
        if state.accepted_until is not None and now >= state.accepted_until:
            expired = dataclasses.replace(state, accepted_until=None, last_notified_at=now)
            changes.append((endpoint_id, expired, _event(EventType.FINDING_ACCEPTANCE_EXPIRED, endpoint_id, expired)))
            continue
        if state.flapping and all(now - t >= policy.flap_window for t in state.transitions):
            changes.append((endpoint_id, dataclasses.replace(state, flapping=False, transitions=()), None))
            continue
        if not state.is_open or state.muted(now) or state.flapping:
            continue
        if state.due_at is not None and now >= state.due_at and not state.overdue_notified:
            overdue = dataclasses.replace(state, overdue_notified=True, last_notified_at=now)
            changes.append((endpoint_id, overdue, _event(EventType.FINDING_OVERDUE, endpoint_id, overdue)))
            continue
        every = policy.reminders.get(state.severity)
        if every is not None and now - (state.last_notified_at or state.first_seen) >= every:
            reminded = dataclasses.replace(state, last_notified_at=now)
            changes.append((endpoint_id, reminded, _event(EventType.FINDING_REMINDER, endpoint_id, reminded)))
    return changes


def _endpoint_event(kind: EventType, result: CheckResult[Any], failures: int) -> FindingEvent:
    assert result.endpoint_id is not None
    unreachable = kind is EventType.ENDPOINT_UNREACHABLE
    return FindingEvent(
        type=kind,
        endpoint_id=result.endpoint_id,
        check=result.check,
        key=UNREACHABLE_KEY if unreachable else RECOVERED_KEY,
        severity=Severity.MEDIUM,
        title=(
            f"endpoint unreachable for {failures} runs of {result.check} in a row"
            if unreachable
            else f"endpoint reachable again for {result.check}"
        ),
        detail={"failures": failures, "error": result.error} if unreachable else {"failures": failures},
    )
