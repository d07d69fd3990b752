"""findings.reconcile and findings.sweep: the whole lifecycle, pure. Alerts are edges, never levels."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from monitor.findings import FindingState, Policy, Reconciled, reconcile, sweep
from monitor.models import CheckResult, CheckStatus, EventType, Observation, Severity

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
POLICY = Policy()
EXPIRED = Observation("tls.cert.expired", Severity.HIGH, "expired")


def result(status: CheckStatus = CheckStatus.OK, *observations: Observation) -> CheckResult[None]:
    return CheckResult("tls", 1, status, T0, 0.1, None, tuple(observations))


def run(
    known: Mapping[str, FindingState], status: CheckStatus, *obs: Observation, at: datetime = T0, failures: int = 0
) -> Reconciled:
    return reconcile(known, result(status, *obs), failures, POLICY, at)


def kinds(outcome: Reconciled) -> list[tuple[EventType, str]]:
    return [(event.type, event.key) for event in outcome.events]


def states(outcome: Reconciled) -> dict[str, FindingState]:
    return {state.key: state for state in outcome.states}


def opened(at: datetime = T0, observation: Observation = EXPIRED) -> dict[str, FindingState]:
    return states(run({}, CheckStatus.OK, observation, at=at))


def test_a_new_key_opens_a_finding_with_a_deadline_by_severity() -> None:
    outcome = run({}, CheckStatus.OK, EXPIRED)
    assert kinds(outcome) == [(EventType.FINDING_OPENED, "tls.cert.expired")]
    state = states(outcome)["tls.cert.expired"]
    assert state.is_open and state.first_seen == T0 and state.due_at == T0 + timedelta(days=30)


def test_the_same_key_again_is_silent_but_seen() -> None:
    later = T0 + timedelta(hours=1)
    outcome = run(opened(), CheckStatus.OK, EXPIRED, at=later)
    assert kinds(outcome) == []
    assert states(outcome)["tls.cert.expired"].last_seen == later


def test_higher_severity_escalates() -> None:
    known = opened(observation=Observation("tls.cert.expired", Severity.MEDIUM, "expired"))
    assert kinds(run(known, CheckStatus.OK, EXPIRED)) == [(EventType.FINDING_ESCALATED, "tls.cert.expired")]


def test_newly_in_kev_escalates_and_takes_cisas_due_date() -> None:
    plain = Observation("patch.cve.CVE-2024-6387", Severity.CRITICAL, "regreSSHion")
    kev = dataclasses.replace(plain, detail={"kev": True, "due_date": "2026-11-20"})
    outcome = run(opened(observation=plain), CheckStatus.OK, kev)
    assert kinds(outcome) == [(EventType.FINDING_ESCALATED, "patch.cve.CVE-2024-6387")]
    state = states(outcome)["patch.cve.CVE-2024-6387"]
    assert state.kev and state.due_at is not None and state.due_at.date().isoformat() == "2026-11-20"


def test_absent_after_ok_resolves() -> None:
    outcome = run(opened(), CheckStatus.OK, at=T0 + timedelta(hours=1))
    assert kinds(outcome) == [(EventType.FINDING_RESOLVED, "tls.cert.expired")]
    assert not states(outcome)["tls.cert.expired"].is_open


def test_a_part_the_run_could_not_test_is_not_resolved_until_a_run_tests_it() -> None:
    rc4 = Observation("tls.cipher.rc4", Severity.HIGH, "RC4")
    known = {**opened(), **opened(observation=rc4)}
    later = T0 + timedelta(hours=1)
    partial = dataclasses.replace(result(CheckStatus.OK), untested=("tls.cipher.*",))
    outcome = reconcile(known, partial, 0, POLICY, later)
    # the certificate was tested and is fine now; the suites were not looked at
    assert kinds(outcome) == [(EventType.FINDING_RESOLVED, "tls.cert.expired")]
    complete = reconcile(known, result(CheckStatus.OK), 0, POLICY, later)
    assert (EventType.FINDING_RESOLVED, "tls.cipher.rc4") in kinds(complete)


def test_errors_and_timeouts_never_resolve() -> None:
    for status in (CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT, CheckStatus.CRASHED, CheckStatus.MISCONFIGURED):
        outcome = run(opened(), status)
        assert outcome.events == () and outcome.states == ()


def test_a_key_back_within_the_window_reopens_the_old_finding() -> None:
    resolved = states(run(opened(), CheckStatus.OK, at=T0 + timedelta(days=1)))
    back = run(resolved, CheckStatus.OK, EXPIRED, at=T0 + timedelta(days=10))
    assert kinds(back) == [(EventType.FINDING_OPENED, "tls.cert.expired")]
    assert states(back)["tls.cert.expired"].first_seen == T0  # the old finding, its history and deadline


def test_a_key_back_after_the_window_is_a_new_finding() -> None:
    resolved = states(run(opened(), CheckStatus.OK, at=T0 + timedelta(days=1)))
    much_later = T0 + timedelta(days=200)
    back = run(resolved, CheckStatus.OK, EXPIRED, at=much_later)
    assert kinds(back) == [(EventType.FINDING_OPENED, "tls.cert.expired")]
    assert states(back)["tls.cert.expired"].first_seen == much_later


def test_unreachable_after_n_failures_once_then_recovered() -> None:
    failures, seen = 0, []
    for status in [CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT, CheckStatus.UNREACHABLE, CheckStatus.UNREACHABLE]:
        outcome = run({}, status, failures=failures)
        failures = outcome.failures
        seen += kinds(outcome)
    assert seen == [(EventType.ENDPOINT_UNREACHABLE, "endpoint.unreachable")]
    outcome = run({}, CheckStatus.OK, failures=failures)
    assert kinds(outcome) == [(EventType.ENDPOINT_RECOVERED, "endpoint.recovered")]
    assert outcome.failures == 0


def test_our_own_failures_do_not_count_as_unreachable() -> None:
    outcome = run({}, CheckStatus.CRASHED, failures=2)
    assert outcome.failures == 2 and outcome.events == ()


def test_accepted_risk_mutes_until_expiry_then_announces_expiry() -> None:
    accepted = {k: dataclasses.replace(v, accepted_until=T0 + timedelta(days=5)) for k, v in opened().items()}
    louder = Observation("tls.cert.expired", Severity.CRITICAL, "expired")
    assert kinds(run(accepted, CheckStatus.OK, louder, at=T0 + timedelta(days=1))) == []  # muted
    changes = sweep([(1, accepted["tls.cert.expired"])], POLICY, T0 + timedelta(days=5))
    assert [(event.type if event else None) for _, _, event in changes] == [EventType.FINDING_ACCEPTANCE_EXPIRED]
    assert changes[0][1].accepted_until is None


def test_deadline_passed_produces_overdue_once() -> None:
    state = opened()["tls.cert.expired"]
    at = T0 + timedelta(days=31)
    [(_, overdue, event)] = sweep([(1, state)], POLICY, at)
    assert event is not None and event.type is EventType.FINDING_OVERDUE
    assert [e for _, _, e in sweep([(1, overdue)], POLICY, at + timedelta(hours=1)) if e] == []


def test_reminders_by_severity() -> None:
    state = opened()["tls.cert.expired"]  # high: every 14 days
    assert sweep([(1, state)], POLICY, T0 + timedelta(days=13)) == []
    [(_, reminded, event)] = sweep([(1, state)], POLICY, T0 + timedelta(days=14))
    assert event is not None and event.type is EventType.FINDING_REMINDER
    assert sweep([(1, reminded)], POLICY, T0 + timedelta(days=20)) == []
    low = opened(observation=Observation("tls.protocol.no_tls1_3", Severity.INFO, "no 1.3"))
    assert sweep(low.items() and [(1, low["tls.protocol.no_tls1_3"])], POLICY, T0 + timedelta(days=400)) == []


def test_a_flapping_finding_is_announced_once_then_damped() -> None:
    known: Mapping[str, FindingState] = {}
    events: list[EventType] = []
    for minute in range(10):
        observations = (EXPIRED,) if minute % 2 == 0 else ()
        outcome = run(known, CheckStatus.OK, *observations, at=T0 + timedelta(minutes=minute))
        known = {**known, **states(outcome)}
        events += [event.type for event in outcome.events]
    assert events == [
        EventType.FINDING_OPENED,
        EventType.FINDING_RESOLVED,
        EventType.FINDING_OPENED,
        EventType.FINDING_FLAPPING,
    ]
    calm = sweep([(1, known["tls.cert.expired"])], POLICY, T0 + timedelta(days=2))
    assert calm[0][1].flapping is False and calm[0][2] is None
