"""`posture scan`: run checks on one target without a database, in dependency order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from graphlib import CycleError, TopologicalSorter
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from checks import Registry, names_for
from checks.base import CheckConfig
from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import InvalidInput
from monitor.models import AssetKind, CheckResult, CheckStatus, Severity, Target
from monitor.runner import execute
from monitor.usecases.preparation import AssetSettings, prepare

# exit codes of `posture scan`
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def parse_check_names(raw: str | None, registry: Registry) -> list[str]:
    """`a,b` → the named checks; None → every endpoint check. Unknown names are an error naming the known ones
    (whether they fit one target is `target_kind`'s question)."""
    if raw is None:
        return list(names_for("endpoint", registry))
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in registry]
    if unknown or not names:
        raise InvalidInput(
            "checks", f"unknown check {', '.join(unknown) or '(none given)'}; known: {', '.join(registry)}"
        )
    return list(dict.fromkeys(names))


def target_kind(names: Sequence[str], registry: Registry) -> AssetKind:
    """What the scan target is: a domain when every check asked for runs on domains (dnssec), else an endpoint."""
    kinds = {registry[name].asset_kind for name in names}
    if len(kinds) > 1:
        domain_checks = ", ".join(name for name in names if registry[name].asset_kind == "domain")
        raise InvalidInput(
            "checks",
            f"{domain_checks} runs on a domain, the others on HOST:PORT: scan the domain and the endpoint apart",
        )
    return kinds.pop() if kinds else "endpoint"


def in_dependency_order(names: Sequence[str], registry: Registry) -> list[str]:
    """Dependencies first; a dependency not asked for is added, because its facts are needed."""
    graph: dict[str, tuple[str, ...]] = {}
    pending = list(names)
    while pending:
        name = pending.pop(0)
        if name not in graph:
            graph[name] = tuple(registry[name].depends_on)
            pending.extend(graph[name])
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as err:
        raise InvalidInput("checks", f"dependency cycle: {' -> '.join(reversed(err.args[1]))}") from None


async def scan(
    target: Target,
    names: Sequence[str],
    registry: Registry,
    configs: Mapping[str, CheckConfig],
    progress: Callable[[str, int, int], None] | None = None,
    resources: Mapping[str, Any] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> list[CheckResult[Any]]:
    ordered = in_dependency_order(names, registry)
    results: list[CheckResult[Any]] = []
    peer_details: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="check") as executor:
        for index, name in enumerate(ordered):
            if progress:
                progress(name, index + 1, len(ordered))
            check = registry[name]()
            # no stored settings and no previous details: a one-off scan sees only what this scan found
            prepared = prepare(check, configs[name], AssetSettings(), peer_details, clock.now(), executor, resources)
            result = await execute(check, target, prepared.config, prepared.context)
            if result.details is not None:
                peer_details[name] = result.details
            results.append(result)
    return results


def exit_code(results: Sequence[CheckResult[Any]]) -> int:
    if any(r.status in (CheckStatus.MISCONFIGURED, CheckStatus.CRASHED) for r in results):
        return EXIT_ERROR
    if any(r.status is not CheckStatus.OK for r in results):
        return EXIT_FINDINGS
    worst = max((o.severity for r in results for o in r.observations), default=Severity.INFO)
    return EXIT_FINDINGS if worst >= Severity.MEDIUM else EXIT_CLEAN


def document(target: Target, results: Sequence[CheckResult[Any]]) -> dict[str, Any]:
    """The `posture scan --json` document (schema in docs/scan-json.md)."""
    return {
        "target": {"host": target.host, "port": None if target.kind == "domain" else target.port, "kind": target.kind},
        "results": [
            {
                "check": result.check,
                "status": result.status.value,
                "started_at": result.started_at.isoformat(),
                "duration_s": result.duration_s,
                "observations": [
                    {
                        "key": o.key,
                        "severity": o.severity.label,
                        "title": o.title,
                        "detail": to_jsonable_python(o.detail, fallback=str),
                        "remediation": o.remediation,
                    }
                    for o in result.observations
                ],
                "details": result.details.model_dump(mode="json")
                if isinstance(result.details, BaseModel)
                else to_jsonable_python(result.details, fallback=str),
                "error": result.error,
            }
            for result in results
        ],
    }
