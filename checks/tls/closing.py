"""sslyze's sockets: closed whatever the TLS shutdown did, and cut when the run they belong to ends.

nassl's `shutdown()` closes the socket only after `SSL_shutdown` succeeded or failed with one of two expected
errors; any other error (a handshake that a reset or time-out left half done) propagates and leaves the file
descriptor to the garbage collector. `install()` wraps sslyze's `SslConnection.close` so that the socket is closed
whatever the shutdown did.

A blocked read ends only when no byte arrives within the socket timeout: a server that keeps sending something
(a renegotiation request every 50 ms, one byte a second) holds an sslyze thread for as long as it likes. So every
socket a thread of a run (`owned_by`) opens is noted in that run's `RunSockets`, and `cut()` at the run's end (its
deadline, or a cancellation) shuts the open ones down: a blocked call returns at once, the job fails, and its
result is dropped. Once no thread of the run is at work, what is still open is closed.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sslyze.connection_helpers import tls_connection
from sslyze.connection_helpers.tls_connection import SslConnection

T = TypeVar("T")
_INSTALLED = False
_current = threading.local()


class RunSockets:
    """The sockets one run's threads opened, and how many of those threads are still at work."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opened: list[socket.socket] = []
        self._active = 0
        self._cut = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if len(self._opened) >= _PRUNE_AT:
                self._opened = [s for s in self._opened if s.fileno() != -1]
            self._opened.append(sock)
            cut = self._cut
        if cut:
            _shut(sock)  # opened after the end: cut at once

    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            leftovers = self._take() if self._cut and self._active == 0 else []
        _close(leftovers)

    def cut(self) -> None:
        """The run is over: a socket no thread can use any more is closed (sslyze leaves some to the garbage
        collector); while threads are still at work, their sockets are shut down, and the last thread to stop
        closes what is left."""
        with self._lock:
            self._cut = True
            if self._active == 0:
                leftovers, busy = self._take(), []
            else:
                leftovers, busy = [], [s for s in self._opened if s.fileno() != -1]
        _close(leftovers)
        for sock in busy:
            _shut(sock)

    def _take(self) -> list[socket.socket]:
        still_open = [s for s in self._opened if s.fileno() != -1]
        self._opened.clear()
        return still_open


_PRUNE_AT = 256  # closed sockets are dropped from the list now and then, so a long run holds few


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.close()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def owned_by(sockets: RunSockets, function: Callable[..., T]) -> Callable[..., T]:
    """`function`, run so that the sockets it opens in its thread belong to `sockets`.

    A plain try/finally, not a context manager: sslyze's exceptions are frozen dataclasses, and a generator-based
    context manager re-raising one would try to set its `__traceback__`.
    """

    @functools.wraps(function)
    def call(*args: Any) -> T:
        _current.sockets = sockets
        sockets.enter()
        try:
            return function(*args)
        finally:
            _current.sockets = None
            sockets.leave()

    return call


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    shutdown_tls = SslConnection.close
    open_socket = tls_connection._open_socket

    @functools.wraps(shutdown_tls)
    def close(self: Any) -> None:
        try:
            shutdown_tls(self)
        finally:
            sock = self.ssl_client.get_underlying_socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    @functools.wraps(open_socket)
    def open_tracked(*args: Any, **kwargs: Any) -> socket.socket:
        sock = open_socket(*args, **kwargs)
        owner = getattr(_current, "sockets", None)
        if owner is not None:
            owner.add(sock)
        return sock

    SslConnection.close = close  # type: ignore[method-assign]
    tls_connection._open_socket = open_tracked
    _INSTALLED = True
