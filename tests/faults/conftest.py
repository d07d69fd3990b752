"""Fixtures of the fault tests: daemons in subprocesses, a small file system to fill."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.harness import run_root_tool
from tests.integration.test_scale import Replicas


@pytest.fixture
def daemon_dir(tmp_path: Path) -> Path:
    """Where the daemons' logs go: never on the file system a test fills or freezes."""
    logs = tmp_path / "logs"
    logs.mkdir()
    return logs


@pytest.fixture
def daemons(daemon_dir: Path) -> Iterator[Callable[[str], Replicas]]:
    """`daemons(url)`: a group of `posture run` processes on that database (tests/integration/test_scale.py)."""
    groups: list[Replicas] = []

    def make(url: str) -> Replicas:
        groups.append(Replicas(daemon_dir, url))
        return groups[-1]

    yield make
    for group in groups:
        for process in group.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of its own, to fill up."""
    mount = tmp_path / "small-fs"
    mount.mkdir()
    run_root_tool(
        "mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "posture-faults", str(mount),
        reason="a full disk is simulated with a small tmpfs, which needs root (CAP_SYS_ADMIN)",
    )  # fmt: skip
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)
