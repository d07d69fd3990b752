"""Checks with known behaviour, for testing the runner and the scheduler (not the checks themselves)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from checks.base import (
    Check,
    CheckConfig,
    CheckContext,
    CheckDetails,
    CheckMisconfigured,
    FindingSpec,
    TargetUnreachable,
)
from monitor.models import AssetKind, Observation, Severity, Target


class FakeConfig(CheckConfig):
    timeout_s: float = 2.0


class FakeDetails(CheckDetails):
    host: str
    port: int


NOTICED = FindingSpec("fake.noticed", Severity.HIGH, "noticed", "test", "none")


class NoopCheck(Check[FakeConfig, FakeDetails]):
    """Does nothing, instantly: measures the daemon's own overhead."""

    name: ClassVar[str] = "noop"
    description: ClassVar[str] = "does nothing"
    config_model = FakeConfig
    details_model = FakeDetails

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        return FakeDetails(host=target.host, port=target.port)

    def evaluate(self, details: FakeDetails, cfg: FakeConfig, ctx: CheckContext) -> list[Observation]:
        return []


class FindingCheck(NoopCheck):
    """Reports `fake.noticed` on odd ports."""

    name: ClassVar[str] = "finding"
    findings = (NOTICED,)

    def evaluate(self, details: FakeDetails, cfg: FakeConfig, ctx: CheckContext) -> list[Observation]:
        return [NOTICED.observe({"port": details.port})] if details.port % 2 else []


class ToggleCheck(NoopCheck):
    """Reports `fake.noticed` while `present` is true: a server that gets fixed between two runs."""

    name: ClassVar[str] = "toggle"
    findings = (NOTICED,)
    present: ClassVar[bool] = True

    def evaluate(self, details: FakeDetails, cfg: FakeConfig, ctx: CheckContext) -> list[Observation]:
        return [NOTICED.observe({"port": details.port, "banner": "<script>alert(1)</script>"})] if self.present else []


class DomainCheck(NoopCheck):
    """Runs on a domain (a name without a port) and finds nothing: registers domains in tests until a real domain
    check is in checks.REGISTRY. Not in FAKE_REGISTRY: tests hand it to the rules with the registry they build."""

    name: ClassVar[str] = "fake_domain"
    description: ClassVar[str] = "a domain check that does nothing"
    asset_kind: ClassVar[AssetKind] = "domain"


class HangingCheck(NoopCheck):
    name: ClassVar[str] = "hang"

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


class RaisingCheck(NoopCheck):
    name: ClassVar[str] = "raise"

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        raise ZeroDivisionError("a bug in the check")


class UnreachableCheck(NoopCheck):
    name: ClassVar[str] = "unreachable"

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        raise TargetUnreachable("connection refused")


class MisconfiguredCheck(NoopCheck):
    name: ClassVar[str] = "misconfigured"

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        raise CheckMisconfigured("thing binary not found")


class PartialCheck(NoopCheck):
    """Completes, but could not test `fake.noticed` (as a TLS scan whose server reset one probe)."""

    name: ClassVar[str] = "partial"
    findings = (NOTICED,)

    def untested(self, details: FakeDetails) -> tuple[str, ...]:
        return (NOTICED.key,)


class UncataloguedCheck(NoopCheck):
    name: ClassVar[str] = "uncatalogued"

    def evaluate(self, details: FakeDetails, cfg: FakeConfig, ctx: CheckContext) -> list[Observation]:
        return [Observation("fake.secret_key", Severity.LOW, "not in the catalogue")]


class SlowCheck(NoopCheck):
    """Takes 0.2 s and records how many ran at once per host."""

    name: ClassVar[str] = "slow"
    active: ClassVar[dict[str, int]] = {}
    peak: ClassVar[dict[str, int]] = {}
    peak_total: ClassVar[list[int]] = [0]

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        SlowCheck.active[target.host] = SlowCheck.active.get(target.host, 0) + 1
        SlowCheck.peak[target.host] = max(SlowCheck.peak.get(target.host, 0), SlowCheck.active[target.host])
        SlowCheck.peak_total[0] = max(SlowCheck.peak_total[0], sum(SlowCheck.active.values()))
        try:
            await asyncio.sleep(0.2)
        finally:
            SlowCheck.active[target.host] -= 1
        return FakeDetails(host=target.host, port=target.port)


class DomainFindingCheck(NoopCheck):
    """A check of domains: reports `fake.noticed` on every domain, and remembers the targets it was given."""

    name: ClassVar[str] = "domainfinding"
    asset_kind = "domain"
    findings = (NOTICED,)
    targets: ClassVar[list[Target]] = []

    async def run(self, target: Target, cfg: FakeConfig, ctx: CheckContext) -> FakeDetails:
        self.targets.append(target)
        return FakeDetails(host=target.host, port=target.port)

    def evaluate(self, details: FakeDetails, cfg: FakeConfig, ctx: CheckContext) -> list[Observation]:
        return [NOTICED.observe({"name": details.host})]


FAKE_REGISTRY = {
    check.name: check
    for check in (
        NoopCheck,
        FindingCheck,
        ToggleCheck,
        HangingCheck,
        RaisingCheck,
        UnreachableCheck,
        MisconfiguredCheck,
        UncataloguedCheck,
        SlowCheck,
        DomainFindingCheck,
    )
}
