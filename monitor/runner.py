"""Run one check against one target. The ONLY place where exceptions become statuses."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import datetime
from typing import Any

from checks.base import (
    Check,
    CheckConfig,
    CheckContext,
    CheckMisconfigured,
    PeerDetailsUnreadable,
    TargetUnreachable,
)
from monitor.models import CheckResult, CheckStatus, Target

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300


async def execute(
    check: Check[Any, Any],
    target: Target,
    cfg: CheckConfig,
    ctx: CheckContext,
    timeout_s: float | None = None,
) -> CheckResult[Any]:
    """Run `check` on `target` within `timeout_s` (default: the config's), then judge the facts."""
    deadline = cfg.timeout_s if timeout_s is None else timeout_s
    started_at = ctx.now
    clock = time.perf_counter()
    ctx = dataclasses.replace(ctx, deadline=asyncio.get_running_loop().time() + deadline)
    try:
        async with asyncio.timeout(deadline):
            details = await check.run(target, cfg, ctx)
    except TimeoutError:
        reason = f"no result within {deadline:g} s"
        return make_result(check, target.endpoint_id, started_at, clock, CheckStatus.TIMED_OUT, error=reason)
    except asyncio.CancelledError:
        raise
    except PeerDetailsUnreadable as err:  # stored data of another schema, not a bug: no traceback
        return make_result(check, target.endpoint_id, started_at, clock, CheckStatus.CRASHED, error=str(err))
    except Exception as err:
        status, reason = _status_of(err)
        if status is CheckStatus.CRASHED:
            log.exception("check %s crashed on %s", check.name, target.display)
        return make_result(check, target.endpoint_id, started_at, clock, status, error=reason)
    return judge(check, target.endpoint_id, details, cfg, ctx, started_at, clock)


def judge(
    check: Check[Any, Any],
    endpoint_id: int | None,
    details: Any,
    cfg: CheckConfig,
    ctx: CheckContext,
    started_at: datetime,
    clock: float,
) -> CheckResult[Any]:
    """Judge facts, from a run or stored (re-judging): the one place where an evaluation becomes a result."""
    try:
        details, judged = check.judged(details, cfg, ctx)
        observations = tuple(judged)
        untested = tuple(check.untested(details))
    except PeerDetailsUnreadable as err:
        return make_result(check, endpoint_id, started_at, clock, CheckStatus.CRASHED, error=str(err))
    except Exception as err:
        log.exception("check %s crashed judging endpoint %s", check.name, endpoint_id)
        reason = f"evaluate: {type(err).__name__}: {err}"
        return make_result(check, endpoint_id, started_at, clock, CheckStatus.CRASHED, error=reason)
    uncatalogued = [o.key for o in observations if not any(spec.matches(o.key) for spec in check.findings)]
    if uncatalogued:
        # docs/findings.md is rendered from the catalogue: a key outside it would reach agencies undocumented
        reason = f"uncatalogued observation keys: {', '.join(uncatalogued)}"
        return make_result(check, endpoint_id, started_at, clock, CheckStatus.CRASHED, error=reason)
    facts = {"details": details, "observations": observations, "untested": untested}
    return make_result(check, endpoint_id, started_at, clock, CheckStatus.OK, **facts)


def _status_of(err: Exception) -> tuple[CheckStatus, str]:
    if isinstance(err, TargetUnreachable):
        return CheckStatus.UNREACHABLE, str(err) or "target unreachable"
    if isinstance(err, CheckMisconfigured):
        return CheckStatus.MISCONFIGURED, str(err) or "check misconfigured"
    if isinstance(err, ConnectionError):
        return CheckStatus.UNREACHABLE, f"{type(err).__name__}: {err}"
    return CheckStatus.CRASHED, f"{type(err).__name__}: {err}"


def make_result(
    check: Check[Any, Any],
    endpoint_id: int | None,
    started_at: datetime,
    clock: float,
    status: CheckStatus,
    error: str | None = None,
    **facts: Any,
) -> CheckResult[Any]:
    return CheckResult(
        check=check.name,
        endpoint_id=endpoint_id,
        status=status,
        started_at=started_at,
        duration_s=round(time.perf_counter() - clock, 6),
        error=_short(error) if error else None,
        **facts,
    )


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
