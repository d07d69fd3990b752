"""Run one check against one target. The ONLY place where exceptions become statuses."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import UTC, datetime
from typing import Any

from checks.base import Check, CheckConfig, CheckContext, CheckMisconfigured, TargetUnreachable
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
    started_at = datetime.now(UTC)
    clock = time.perf_counter()

    def result(status: CheckStatus, error: str | None = None, **facts: Any) -> CheckResult[Any]:
        return CheckResult(
            check=check.name,
            endpoint_id=target.endpoint_id,
            status=status,
            started_at=started_at,
            duration_s=round(time.perf_counter() - clock, 6),
            error=_short(error) if error else None,
            **facts,
        )

    ctx = dataclasses.replace(ctx, deadline=asyncio.get_running_loop().time() + deadline)
    try:
        async with asyncio.timeout(deadline):
            details = await check.run(target, cfg, ctx)
    except TimeoutError:
        return result(CheckStatus.TIMED_OUT, f"no result within {deadline:g} s")
    except TargetUnreachable as err:
        return result(CheckStatus.UNREACHABLE, str(err) or "target unreachable")
    except CheckMisconfigured as err:
        return result(CheckStatus.MISCONFIGURED, str(err) or "check misconfigured")
    except ConnectionError as err:
        return result(CheckStatus.UNREACHABLE, f"{type(err).__name__}: {err}")
    except asyncio.CancelledError:
        raise
    except Exception as err:
        log.exception("check %s crashed on %s", check.name, target.display)
        return result(CheckStatus.CRASHED, f"{type(err).__name__}: {err}")

    try:
        observations = tuple(check.evaluate(details, cfg, ctx))
        untested = tuple(check.untested(details))
    except Exception as err:
        log.exception("check %s crashed judging %s", check.name, target.display)
        return result(CheckStatus.CRASHED, f"evaluate: {type(err).__name__}: {err}")
    uncatalogued = [o.key for o in observations if not any(spec.matches(o.key) for spec in check.findings)]
    if uncatalogued:
        # docs/findings.md is rendered from the catalogue: a key outside it would reach agencies undocumented
        return result(CheckStatus.CRASHED, f"uncatalogued observation keys: {', '.join(uncatalogued)}")
    return result(CheckStatus.OK, details=details, observations=observations, untested=untested)


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= MAX_ERROR_CHARS else line[: MAX_ERROR_CHARS - 1] + "…"
