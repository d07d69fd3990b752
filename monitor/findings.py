"""Turn one check result into finding events. Pure: the heart of the alert lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.models import CheckResult, CheckStatus, EventType, FindingEvent, Severity

UNREACHABLE_KEY = "endpoint.unreachable"
RECOVERED_KEY = "endpoint.recovered"
# statuses that say the target is down; our own failures (misconfigured, crashed) say nothing about it
TARGET_FAILURES = frozenset({CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT})


@dataclass(frozen=True, slots=True)
class KnownFinding:
    key: str
    severity: Severity
    is_open: bool


@dataclass(frozen=True, slots=True)
class Reconciled:
    events: tuple[FindingEvent, ...]
    failures: int  # consecutive target failures after this run


def reconcile(
    known: Mapping[str, KnownFinding],
    result: CheckResult[Any],
    failures_before: int,
    unreachable_after: int,
) -> Reconciled:
    """Events for `result` given the findings already known for its endpoint and check.

    A key absent after an OK run is resolved; after any other status nothing is resolved,
    because a server we could not reach has not fixed anything.
    """
    endpoint_id = result.endpoint_id
    if endpoint_id is None:
        raise ValueError("reconcile needs a registered endpoint")
    events: list[FindingEvent] = []

    if result.status in TARGET_FAILURES:
        failures = failures_before + 1
        if failures == unreachable_after:
            events.append(_endpoint_event(EventType.ENDPOINT_UNREACHABLE, result, failures))
        return Reconciled(tuple(events), failures)
    if result.status is not CheckStatus.OK:
        return Reconciled((), failures_before)

    if failures_before >= unreachable_after:
        events.append(_endpoint_event(EventType.ENDPOINT_RECOVERED, result, failures_before))
    seen: set[str] = set()
    for observation in result.observations:
        seen.add(observation.key)
        previous = known.get(observation.key)
        if previous is None or not previous.is_open:
            kind = EventType.FINDING_OPENED
        elif observation.severity > previous.severity:
            kind = EventType.FINDING_ESCALATED
        else:
            continue
        events.append(
            FindingEvent(
                type=kind,
                endpoint_id=endpoint_id,
                check=result.check,
                key=observation.key,
                severity=observation.severity,
                title=observation.title,
                detail=observation.detail,
                remediation=observation.remediation,
            )
        )
    for key, finding in known.items():
        if finding.is_open and key not in seen:
            events.append(
                FindingEvent(
                    type=EventType.FINDING_RESOLVED,
                    endpoint_id=endpoint_id,
                    check=result.check,
                    key=key,
                    severity=finding.severity,
                    title=f"resolved: {key}",
                )
            )
    return Reconciled(tuple(events), 0)


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
