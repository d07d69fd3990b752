"""Process memory settings of the daemon."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number
DEFAULT_ARENAS = 2


def limit_malloc_arenas(arenas: int = DEFAULT_ARENAS) -> bool:
    """Cap glibc's malloc arenas for the threads started from now on; True when the cap took effect.

    glibc gives threads their own arenas (up to 8 per core) and keeps what they freed in RSS. sslyze scans in
    many threads, so each round of full TLS scans raised the daemon's RSS in steps that never came back
    (`bench/soak.py`: +16 % over 10 minutes, +4 % with two arenas). An operator's MALLOC_ARENA_MAX wins; on a
    C library without mallopt (musl, macOS) nothing changes.
    """
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    applied = bool(mallopt(ctypes.c_int(M_ARENA_MAX), ctypes.c_int(arenas)))
    if applied:
        log.debug("malloc arenas capped at %d", arenas)
    return applied
