"""runner.execute is the only place where exceptions become statuses."""

from __future__ import annotations

import pytest

from checks.base import Check, CheckContext
from monitor.models import CheckStatus, Severity, Target
from monitor.runner import execute
from tests.fake_checks import (
    FakeConfig,
    FindingCheck,
    HangingCheck,
    MisconfiguredCheck,
    NoopCheck,
    RaisingCheck,
    UncataloguedCheck,
    UnreachableCheck,
)

TARGET = Target(host="127.0.0.1", port=9, endpoint_id=7)


async def run(check: Check, timeout_s: float | None = None):
    return await execute(check, TARGET, FakeConfig(), CheckContext(), timeout_s)


async def test_ok_run_carries_details_and_observations() -> None:
    result = await run(FindingCheck())
    assert result.status is CheckStatus.OK
    assert result.details is not None and result.details.host == "127.0.0.1"
    assert [(o.key, o.severity) for o in result.observations] == [("fake.noticed", Severity.HIGH)]
    assert result.endpoint_id == 7 and result.error is None


async def test_a_hanging_check_is_cancelled_at_its_timeout() -> None:
    result = await run(HangingCheck(), timeout_s=0.2)
    assert result.status is CheckStatus.TIMED_OUT
    assert result.error == "no result within 0.2 s"
    assert 0.2 <= result.duration_s < 1.0


async def test_a_raising_check_is_crashed_with_a_short_reason(caplog: pytest.LogCaptureFixture) -> None:
    result = await run(RaisingCheck())
    assert result.status is CheckStatus.CRASHED
    assert result.error == "ZeroDivisionError: a bug in the check"
    assert "Traceback" in caplog.text  # the traceback goes to the log, not into the result


@pytest.mark.parametrize(
    ("check", "status", "error"),
    [
        (UnreachableCheck(), CheckStatus.UNREACHABLE, "connection refused"),
        (MisconfiguredCheck(), CheckStatus.MISCONFIGURED, "thing binary not found"),
        (UncataloguedCheck(), CheckStatus.CRASHED, "uncatalogued observation keys: fake.secret_key"),
    ],
)
async def test_errors_map_by_type(check: Check, status: CheckStatus, error: str) -> None:
    result = await run(check)
    assert (result.status, result.error) == (status, error)
    assert result.details is None


async def test_the_config_timeout_is_the_default_deadline() -> None:
    result = await execute(HangingCheck(), TARGET, FakeConfig(timeout_s=0.1), CheckContext())
    assert result.status is CheckStatus.TIMED_OUT


async def test_noop_is_ok_and_fast() -> None:
    result = await run(NoopCheck())
    assert result.status is CheckStatus.OK and result.duration_s < 0.1
