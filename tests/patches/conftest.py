"""Fixtures of the patch-check tests: the bundled seed as a database, feed directories to break, a store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from checks.patches import MemoryVulnDb, PatchCheck
from checks.patches.snapshot import SEED_DIR, default_database


@pytest.fixture(scope="session")
def seed_db() -> MemoryVulnDb:
    return default_database()


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    """A writable copy of the bundled seed, for tests that damage or change a feed."""
    target = tmp_path / "feeds"
    shutil.copytree(SEED_DIR, target, ignore=shutil.ignore_patterns("README.md", "LICENSE", "*schema*"))
    for path in target.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return target


@pytest.fixture
def registry() -> dict[str, type[PatchCheck]]:
    return {PatchCheck.name: PatchCheck}
