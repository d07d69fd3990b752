"""Shared helpers of the hostile-endpoint tests: what counts as a leaked thread or child process."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import psutil

# where a worker thread of a concurrent.futures pool sits while it waits for work
_IDLE_FILES = (
    str(Path(threading.__file__)),
    str(Path(sys.modules["concurrent.futures.thread"].__file__ or "")),
)


def idle_worker(thread: threading.Thread) -> bool:
    """An executor worker waiting for work: every Python frame of its stack is threading's or the pool's own."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_filename not in _IDLE_FILES:
            return False
        frame = frame.f_back
    return True


def busy_threads(baseline: set[int]) -> list[str]:
    """Threads started since `baseline` that are still doing something (not an idle pool worker)."""
    return [
        f"{t.name} ({_innermost(t)})"
        for t in threading.enumerate()
        if t.ident not in baseline and t.is_alive() and not idle_worker(t)
    ]


def _innermost(thread: threading.Thread) -> str:
    frame = sys._current_frames().get(thread.ident or -1)
    return f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}" if frame is not None else "?"


def thread_ids() -> set[int]:
    return {t.ident for t in threading.enumerate() if t.ident is not None}


def children() -> list[psutil.Process]:
    return psutil.Process(os.getpid()).children(recursive=True)


def child_cmdlines(exclude: set[int]) -> list[str]:
    """Descendants not in `exclude`, zombies (started, never reaped) included."""
    found = []
    for child in children():
        if child.pid in exclude:
            continue
        try:
            found.append(f"{child.status()}: {' '.join(child.cmdline())}")
        except psutil.NoSuchProcess:
            continue
        except psutil.ZombieProcess:
            found.append(f"zombie: pid {child.pid}")
    return found
