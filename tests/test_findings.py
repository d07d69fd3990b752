"""findings.reconcile: alerts are edges (opened, escalated, resolved), never levels."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.findings import KnownFinding, reconcile
from monitor.models import CheckResult, CheckStatus, EventType, Observation, Severity


def result(status: CheckStatus = CheckStatus.OK, *observations: Observation) -> CheckResult[None]:
    return CheckResult("tls", 1, status, datetime.now(UTC), 0.1, None, tuple(observations))


EXPIRED = Observation("tls.cert.expired", Severity.HIGH, "expired")


def kinds(outcome) -> list[tuple[EventType, str]]:  # type: ignore[no-untyped-def]
    return [(event.type, event.key) for event in outcome.events]


def test_a_new_key_opens_a_finding() -> None:
    assert kinds(reconcile({}, result(CheckStatus.OK, EXPIRED), 0, 3)) == [
        (EventType.FINDING_OPENED, "tls.cert.expired")
    ]


def test_the_same_key_again_is_silent() -> None:
    known = {"tls.cert.expired": KnownFinding("tls.cert.expired", Severity.HIGH, True)}
    assert kinds(reconcile(known, result(CheckStatus.OK, EXPIRED), 0, 3)) == []


def test_higher_severity_escalates() -> None:
    known = {"tls.cert.expired": KnownFinding("tls.cert.expired", Severity.MEDIUM, True)}
    assert kinds(reconcile(known, result(CheckStatus.OK, EXPIRED), 0, 3)) == [
        (EventType.FINDING_ESCALATED, "tls.cert.expired")
    ]


def test_absent_after_ok_resolves() -> None:
    known = {"tls.cert.expired": KnownFinding("tls.cert.expired", Severity.HIGH, True)}
    assert kinds(reconcile(known, result(CheckStatus.OK), 0, 3)) == [(EventType.FINDING_RESOLVED, "tls.cert.expired")]


def test_errors_and_timeouts_never_resolve() -> None:
    known = {"tls.cert.expired": KnownFinding("tls.cert.expired", Severity.HIGH, True)}
    for status in (CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT, CheckStatus.CRASHED, CheckStatus.MISCONFIGURED):
        assert all(e.type is not EventType.FINDING_RESOLVED for e in reconcile(known, result(status), 0, 3).events)


def test_a_resolved_key_that_returns_opens_again() -> None:
    known = {"tls.cert.expired": KnownFinding("tls.cert.expired", Severity.HIGH, False)}
    assert kinds(reconcile(known, result(CheckStatus.OK, EXPIRED), 0, 3)) == [
        (EventType.FINDING_OPENED, "tls.cert.expired")
    ]


def test_unreachable_after_n_failures_once_then_recovered() -> None:
    failures, seen = 0, []
    for status in [CheckStatus.UNREACHABLE, CheckStatus.TIMED_OUT, CheckStatus.UNREACHABLE, CheckStatus.UNREACHABLE]:
        outcome = reconcile({}, result(status), failures, 3)
        failures = outcome.failures
        seen += kinds(outcome)
    assert seen == [(EventType.ENDPOINT_UNREACHABLE, "endpoint.unreachable")]
    outcome = reconcile({}, result(CheckStatus.OK), failures, 3)
    assert kinds(outcome) == [(EventType.ENDPOINT_RECOVERED, "endpoint.recovered")]
    assert outcome.failures == 0


def test_our_own_failures_do_not_count_as_unreachable() -> None:
    outcome = reconcile({}, result(CheckStatus.CRASHED), 2, 3)
    assert outcome.failures == 2 and outcome.events == ()
