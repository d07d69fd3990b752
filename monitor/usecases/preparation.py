"""What a check runs with on one asset: the config (global, then agency, then asset) and the context (its peers'
stored details); for the scheduler, `posture scan` and re-judging alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from checks.base import Check, CheckConfig, CheckContext
from monitor.errors import InvalidInput
from monitor.usecases.check_settings import INVALID_SETTINGS, endpoint_config


@dataclass(frozen=True, slots=True)
class AssetSettings:
    """What an asset's registration says about how one check runs on it."""

    check_settings: Mapping[str, Any] = field(default_factory=dict)  # the check's overrides on this asset
    agency_settings: Mapping[str, Any] = field(default_factory=dict)  # … and on all the agency's assets
    expected_ports: Sequence[int] = ()


class SettingsRefused(Exception):
    """The agency's or the asset's stored settings no longer make a valid config: the check is not run."""


@dataclass(frozen=True, slots=True)
class Prepared:
    config: CheckConfig
    context: CheckContext


def prepare(
    check: Check[Any, Any],
    base: CheckConfig,
    asset: AssetSettings,
    stored: Mapping[str, Any],
    now: datetime,
    executor: Executor | None = None,
    resources: Mapping[str, Any] | None = None,
) -> Prepared:
    """The config (global, then agency, then asset) and the context (the stored details of the check's peers,
    as stored: the check reads each as that peer's model) a check runs or is judged with. Raises SettingsRefused."""
    try:
        config = endpoint_config(base, asset.check_settings, asset.expected_ports, agency=asset.agency_settings)
    except InvalidInput as err:
        raise SettingsRefused(f"{INVALID_SETTINGS}: {err}") from None
    peers = {name: stored[name] for name in type(check).peer_names() if name in stored}
    context = CheckContext(
        now=now, executor=executor, peer_details=peers, resources=resources if resources is not None else {}
    )
    return Prepared(config, context)
