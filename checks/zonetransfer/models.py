"""The zone-transfer check's settings and facts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from checks.base import CheckConfig, CheckDetails, Facts

Outcome = Literal["open", "refused", "failed", "not_contacted"]


class ZoneTransferConfig(CheckConfig):
    timeout_s: float = Field(default=60.0, gt=0, le=600)
    query_timeout_s: float = Field(default=4.0, gt=0, le=60, description="one question to the resolver")
    server_timeout_s: float = Field(default=10.0, gt=0, le=120, description="one transfer attempt, all of it")
    port: int = Field(default=53, ge=1, le=65535, description="the authoritative servers' port (53)")
    max_names: int = Field(default=10_000, ge=1, le=1_000_000, description="names read from an open transfer")
    max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024, description="bytes read from one")


class TransferAttempt(Facts):
    ns: str  # the name server's name (NS record of the zone)
    address: str
    outcome: Outcome
    names: int = 0  # owner names read (an open transfer), at most max_names
    reason: str = ""  # why refused, failed or not contacted


class ZoneTransferDetails(CheckDetails):
    domain: str
    servers: tuple[TransferAttempt, ...] = ()
    names: tuple[str, ...] = ()  # in-zone host names from the open transfers, sorted, at most max_names
    truncated: bool = False  # a transfer had more than max_names names or max_bytes bytes
