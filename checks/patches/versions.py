"""Version ordering for the strings servers and NVD actually use.

One documented comparator, not a general library: the version schemes of internet-facing server software seen in
NVD's CPE ranges (OpenSSH `7.4p1`, Apache `2.4.49`, Exim `4.87` and `4.86_2`, ProFTPD `1.3.5b`, Dovecot
`2.2.36.4`, NetScaler `13.1-49.13`, Tomcat milestones, Jenkins LTS `2.426.3`) all fit these rules:

1. A version splits into components at `.`, `-`, `_`, `+`, `~` and at every switch between digits and letters:
   `7.4p1` → 7, 4, p, 1; `13.1-49.13` → 13, 1, 49, 13; `1.3.5rc1` → 1, 3, 5, rc, 1.
2. Numbers compare as numbers (`1.10` > `1.9`); zero components before a word or at the end are dropped, so
   `1.0` == `1.0.0` and `1.0rc1` < `1.0`.
3. Words rank against what stands opposite them: a pre-release word (`dev`, `alpha`/`a`, `beta`/`b`,
   `milestone`/`m`, `pre`, `rc`, followed by a number) < the end of the version < a post-release word (`p1`,
   `patch`, a letter suffix such as ProFTPD's `1.3.5b`, anything unknown) < a number. So `7.4` < `7.4p1` <
   `7.4p2` < `7.4.1` < `8.0`, and `9.0.0-milestone1` < `9.0.0` < `9.0.1`.
4. Pre-release words order dev < alpha < beta < milestone < rc; other words compare case-insensitively as text.

`version_key` is a total-order sort key (a tuple), cached because the same few strings are compared millions of
times when every stored fingerprint is re-judged.
"""

from __future__ import annotations

import re
from functools import lru_cache

_COMPONENT = re.compile(r"\d+|[A-Za-z]+")
_PRE_RELEASE = {
    "dev": 0,
    "snapshot": 0,
    "alpha": 1,
    "a": 1,
    "beta": 2,
    "b": 2,
    "milestone": 3,
    "m": 3,
    "pre": 4,
    "preview": 4,
    "c": 5,
    "rc": 5,
    "cr": 5,
}
# component ranks: pre-release word < end of version < post-release word < number
_PRE, _END, _POST, _NUM = 0, 1, 2, 3
END: tuple[int, int, str] = (_END, 0, "")

Key = tuple[tuple[int, int, str], ...]


@lru_cache(maxsize=65536)
def version_key(version: str) -> Key:
    """Sort key of `version`; equal keys mean equal versions (`1.0` and `1.0.0`)."""
    raw = _COMPONENT.findall(version.strip())
    parts: list[tuple[int, int, str]] = []
    for index, token in enumerate(raw):
        if token.isdigit():
            parts.append((_NUM, int(token), ""))
            continue
        word = token.lower()
        followed_by_number = index + 1 < len(raw) and raw[index + 1].isdigit()
        # `1.0a1` is alpha 1, but `1.3.5a` (no number after it) is ProFTPD's first patch release of 1.3.5
        if word in _PRE_RELEASE and (followed_by_number or len(word) > 1):
            parts.append((_PRE, _PRE_RELEASE[word], word))
        else:
            parts.append((_POST, 0, word))
    return (*_strip_zeros(parts), END)  # the terminator makes tuple order the version order


def _strip_zeros(parts: list[tuple[int, int, str]]) -> Key:
    out: list[tuple[int, int, str]] = []
    pending_zeros: list[tuple[int, int, str]] = []
    for part in parts:
        if part == (_NUM, 0, ""):
            pending_zeros.append(part)
            continue
        if part[0] == _NUM:
            out.extend(pending_zeros)  # zeros between numbers count: 1.0.1
        pending_zeros = []
        out.append(part)
    return tuple(out)


def compare(left: str, right: str) -> int:
    """-1, 0 or 1 as `left` is older than, the same as, or newer than `right`."""
    a, b = version_key(left), version_key(right)
    return 0 if a == b else (-1 if a < b else 1)


def same_version(left: str, right: str) -> bool:
    return compare(left, right) == 0


def is_version(text: str) -> bool:
    """Does `text` start with a digit, as every version we can order does?"""
    return bool(text) and text[0].isdigit()
