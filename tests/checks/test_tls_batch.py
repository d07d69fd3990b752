"""The scan batcher: one sslyze Scanner per batch, results matched to their waiters by request uuid."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from checks.tls import batch
from checks.tls.batch import ScanBatcher


@dataclass
class FakeRequest:
    name: str
    uuid: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class FakeResult:
    uuid: uuid.UUID
    name: str


class FakeScanner:
    """Stands in for sslyze's Scanner: records each batch, returns results in reverse (completion) order."""

    batches: list[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.requests: list[FakeRequest] = []

    def queue_scans(self, requests: list[FakeRequest]) -> None:
        self.requests = list(requests)
        FakeScanner.batches.append([r.name for r in requests])

    def get_results(self) -> Iterator[FakeResult]:
        for request in reversed(self.requests):
            yield FakeResult(request.uuid, request.name)


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadPoolExecutor]:
    FakeScanner.batches = []
    monkeypatch.setattr(batch, "Scanner", FakeScanner)
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def finish(result: FakeResult) -> str:
    if result.name == "broken":
        raise ValueError("cannot convert")
    return f"facts of {result.name}"


async def test_requests_made_together_share_one_scanner_and_get_their_own_result(pool: ThreadPoolExecutor) -> None:
    batcher = ScanBatcher(window_s=0.05, max_batch=10)
    names = [f"host{i}" for i in range(5)]
    results = await asyncio.gather(
        *(batcher.scan(FakeRequest(n), finish, connections_per_server=5, executor=pool) for n in names)  # type: ignore[arg-type]
    )
    assert results == [f"facts of {n}" for n in names]
    assert FakeScanner.batches == [names]


async def test_a_full_batch_starts_at_once_and_the_rest_form_the_next(pool: ThreadPoolExecutor) -> None:
    batcher = ScanBatcher(window_s=0.05, max_batch=3)
    names = [f"host{i}" for i in range(5)]
    await asyncio.gather(
        *(batcher.scan(FakeRequest(n), finish, connections_per_server=5, executor=pool) for n in names)  # type: ignore[arg-type]
    )
    assert sorted(len(b) for b in FakeScanner.batches) == [2, 3]


async def test_a_failing_conversion_reaches_only_its_own_waiter(pool: ThreadPoolExecutor) -> None:
    batcher = ScanBatcher(window_s=0.05)
    good = batcher.scan(FakeRequest("ok"), finish, connections_per_server=5, executor=pool)  # type: ignore[arg-type]
    bad = batcher.scan(FakeRequest("broken"), finish, connections_per_server=5, executor=pool)  # type: ignore[arg-type]
    results = await asyncio.gather(good, bad, return_exceptions=True)
    assert results[0] == "facts of ok"
    assert isinstance(results[1], ValueError)


async def test_a_waiter_that_gives_up_does_not_disturb_the_others(pool: ThreadPoolExecutor) -> None:
    batcher = ScanBatcher(window_s=0.05)
    impatient = asyncio.ensure_future(
        batcher.scan(FakeRequest("a"), finish, connections_per_server=5, executor=pool)  # type: ignore[arg-type]
    )
    patient = asyncio.ensure_future(
        batcher.scan(FakeRequest("b"), finish, connections_per_server=5, executor=pool)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0)
    impatient.cancel()
    assert await patient == "facts of b"
    assert impatient.cancelled()
