"""Text for a terminal. Whatever a scanned server sent is data: control characters are shown escaped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitor.models import CheckResult, CheckStatus, Severity

_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]}  # C0, DEL, C1 (0x9b: CSI)
# bidirectional overrides and isolates, line and paragraph separators: they reorder or break what is shown
_CONTROL.update({code: f"\\u{code:04x}" for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029]})


def printable(value: object) -> str:
    """One line, with control characters (ANSI escapes from a hostile banner) made visible."""
    return str(value).translate(_CONTROL)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def result_report(target: str, results: Sequence[CheckResult[Any]]) -> str:
    lines = [f"posture scan of {printable(target)}"]
    for result in results:
        status = result.status.value + (f" ({printable(result.error)})" if result.error else "")
        lines.append(f"  {result.check:<14} {status}  {result.duration_s:.2f} s")
        if result.status is CheckStatus.OK and not result.observations:
            lines.append("      no findings")
        for observation in sorted(result.observations, key=lambda o: -o.severity):
            lines.append(f"      [{observation.severity.label:<8}] {observation.key}: {printable(observation.title)}")
            if observation.detail:
                lines.append(f"                 {printable(json.dumps(observation.detail, default=str))[:300]}")
    worst = max((o.severity for r in results for o in r.observations), default=None)
    lines.append(f"worst finding: {worst.label if isinstance(worst, Severity) else 'none'}")
    return "\n".join(lines)
