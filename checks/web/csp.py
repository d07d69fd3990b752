"""Content-Security-Policy parsing as the MDN HTTP Observatory does it (`src/analyzer/cspParser.js`), and the
source-list questions both our findings and the Observatory-compatible score ask. Pure."""

from __future__ import annotations

from collections.abc import Sequence

Policy = dict[str, set[str]]

SHORTEST = len("img-src") - 1  # the Observatory's shortest policy
DISALLOWED_IN_META = ("frame-ancestors", "report-uri", "sandbox")
ALLOWED_DUPLICATES = ("report-uri", "report-to")
DUPLICATES = "_duplicates"  # the key under which allowed duplicate directives are noted

DANGEROUSLY_BROAD = frozenset({"ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"})
UNSAFE_INLINE = frozenset({"'unsafe-inline'", "data:"})
NONCES_HASHES = ("'sha256-", "'sha384-", "'sha512-", "'nonce-")


class InvalidPolicy(ValueError):
    """A policy the Observatory refuses: too short, or a directive twice (other than report-uri / report-to)."""


def split_policies(values: Sequence[str]) -> list[str]:
    """Header values → policies: a comma separates policies (CSP3 §2.2.1)."""
    return [part.strip() for value in values for part in value.split(",")]


def parse(policies: Sequence[str]) -> Policy:
    """The effective directives of one or more policies: each directive's sources (lower case); with several
    policies, a source counts only where every policy allows it (the Observatory's path-prefix intersection)."""
    cleaned = [policy.replace("\r", "").replace("\n", "").strip() for policy in policies]
    if not cleaned:
        return {}
    for policy in cleaned:
        if len(policy) < SHORTEST:
            raise InvalidPolicy(f"invalid policy: {policy[:64]}")
    merged: dict[str, list[tuple[str, int, bool]]] = {}
    duplicates: set[str] = set()
    for index, policy in enumerate(cleaned):
        seen: set[str] = set()
        for entry in policy.split(";"):
            words = entry.strip().split()
            if not words:
                continue
            directive = words[0].lower()
            if directive in seen:
                if directive not in ALLOWED_DUPLICATES:
                    raise InvalidPolicy(f"duplicate directive {directive} in policy {index}")
                duplicates.add(directive)
            seen.add(directive)
            keep = index == 0
            values = [(source.strip().lower(), index, keep) for source in words[1:]]
            if not values and directive.endswith("-src"):
                values = [("'none'", index, keep)]
            combined = values if index == 0 else [*merged.get(directive, []), *values]
            combined.sort(key=lambda item: item[0])
            for position in range(1, len(combined)):
                source, at, kept = combined[position]
                previous = combined[position - 1]
                if at == previous[1] and source.startswith(previous[0]):
                    kept = False
                if at != previous[1] and _path_part_match(previous[0], source):
                    kept = True
                combined[position] = (source, at, kept)
            merged[directive] = [item for item in combined if item[2]]
            if index == 0 and len(cleaned) > 1:
                merged[directive] = [(source, at, False) for source, at, _ in merged[directive]]
    result: Policy = {
        directive: {source for source, _, _ in sources} if sources else {"'none'"}
        for directive, sources in merged.items()
    }
    if duplicates:
        result[DUPLICATES] = duplicates
    return result


def parse_meta(policies: Sequence[str]) -> Policy:
    """A policy from `<meta http-equiv>`: without the directives a meta element may not set."""
    policy = parse(policies)
    for directive in DISALLOWED_IN_META:
        policy.pop(directive, None)
    return policy


def _path_part_match(a: str, b: str) -> bool:
    if not a:
        return True
    if a == "/" and not b:
        return True
    exact = not a.endswith("/")
    parts_a, parts_b = a.split("/"), b.split("/")
    if len(parts_a) > len(parts_b) or (exact and len(parts_a) != len(parts_b)):
        return False
    if not exact:
        parts_a.pop()
    return all(x == y for x, y in zip(parts_a, parts_b, strict=False))


def has_nonce_or_hash(sources: set[str]) -> bool:
    return any(source.startswith(NONCES_HASHES) for source in sources)


def effective(policy: Policy, directive: str) -> set[str]:
    """A fetch directive's sources with default-src as its fallback; `*` when neither is set."""
    return set(policy.get(directive) or policy.get("default-src") or {"*"})


def script_sources(policy: Policy) -> set[str]:
    """script-src (or default-src) as the Observatory judges it: 'unsafe-inline' is ignored next to a nonce or
    hash, and with 'strict-dynamic' (and a nonce or hash) host and scheme sources, 'self' and 'unsafe-inline' are."""
    sources = effective(policy, "script-src")
    if has_nonce_or_hash(sources):
        sources.discard("'unsafe-inline'")
        if "'strict-dynamic'" in sources:
            sources = {
                s
                for s in sources
                if not s.startswith(tuple(DANGEROUSLY_BROAD)) and s not in ("'self'", "'unsafe-inline'")
            }
    return sources


def style_sources(policy: Policy) -> set[str]:
    sources = effective(policy, "style-src")
    if has_nonce_or_hash(sources):
        sources.discard("'unsafe-inline'")
    return sources
