"""Check settings at three levels: the global config, an agency's overrides, an endpoint's own; and how stored
overrides are validated and changed (JSON merge patch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

from pydantic import ValidationError

from checks import REGISTRY, Registry
from checks.base import CheckConfig, InvalidSetting
from monitor.errors import InvalidInput

INVALID_SETTINGS = "agency or endpoint settings no longer valid"


def endpoint_config(
    base: CheckConfig,
    overrides: Mapping[str, Any] | None = None,
    expected_ports: Sequence[int] = (),
    agency: Mapping[str, Any] | None = None,
) -> CheckConfig:
    """The config one check runs with on one endpoint: the global one, then the agency's settings, then the
    endpoint's own (each key from the most specific level that sets it).

    An endpoint's declared expected ports reach every check whose config has an `expected_ports` field.
    Raises InvalidInput naming the setting when the result is not a valid config.
    """
    updates = {**(agency or {}), **(overrides or {})}
    if expected_ports and "expected_ports" in type(base).model_fields:
        updates["expected_ports"] = sorted(expected_ports)
    if not updates:
        return base
    try:
        return type(base).model_validate({**base.model_dump(), **updates})
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise InvalidInput(field, "unknown setting" if first["type"] == "extra_forbidden" else message) from None


def stored_check_settings(
    configs: Mapping[str, CheckConfig], settings: Mapping[str, Any], registry: Registry = REGISTRY
) -> dict[str, dict[str, Any]]:
    """Per-check overrides about to be stored (an agency's or an endpoint's), checked as they are written.

    Known checks and keys, valid values, and what only this host can tell: paths are absolute (the daemon reads
    them from its own working directory) and their files exist and parse. Returns the overrides in their JSON
    form; raises InvalidInput naming `check.key`.
    """
    stored: dict[str, dict[str, Any]] = {}
    for name, overrides in settings.items():
        if name not in configs or name not in registry:
            raise InvalidInput(name, f"unknown check (known: {', '.join(sorted(configs))})")
        if not isinstance(overrides, Mapping):
            raise InvalidInput(name, "must be a table of settings")
        try:
            cfg = endpoint_config(configs[name], overrides)
        except InvalidInput as err:
            raise InvalidInput(f"{name}.{err.field}", err.reason) from None
        for key in overrides:
            value = getattr(cfg, key)
            if isinstance(value, PurePath) and not value.is_absolute():
                raise InvalidInput(f"{name}.{key}", f"{value}: must be an absolute path on the scanner host")
        try:
            registry[name].check_settings_on_host(cfg)
        except InvalidSetting as err:
            raise InvalidInput(f"{name}.{err.field}", err.reason) from None
        if overrides:
            stored[name] = cfg.model_dump(mode="json", include=set(overrides))
    return stored


def patch_check_settings(
    current: Mapping[str, Mapping[str, Any]], patch: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Stored overrides changed by a JSON merge patch (RFC 7396): a value sets a key, null removes it (the key
    is inherited again from the next level up); a check set to null loses all its overrides."""
    merged = {name: dict(values) for name, values in current.items()}
    for name, values in patch.items():
        if values is None:
            merged.pop(name, None)
            continue
        if not isinstance(values, Mapping):
            raise InvalidInput(name, "must be a table of settings, or null")
        changed = merged.setdefault(name, {})
        for key, value in values.items():
            if value is None:
                changed.pop(key, None)
            else:
                changed[key] = value
        if not changed:
            del merged[name]
    return merged
