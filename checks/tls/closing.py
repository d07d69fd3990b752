"""sslyze's sockets: closed whatever the TLS shutdown did, and cut when the run they belong to ends.

nassl's `shutdown()` closes the socket only after `SSL_shutdown` succeeded or failed with one of two expected
errors; any other error (a handshake that a reset or time-out left half done) propagates and leaves the file
descriptor to the garbage collector. `install()` wraps sslyze's `SslConnection.close` so that the socket is closed
whatever the shutdown did.

A blocked read ends only when no byte arrives within the socket timeout: a server that keeps sending something
(a renegotiation request every 50 ms, one byte a second) holds an sslyze thread for as long as it likes. So every
socket sslyze opens in a thread that belongs to a run (`owned_by`) is registered with that run's `RunSockets`,
and `cut()` at the run's end (its deadline, or a cancellation) shuts them down: the blocked call returns at once,
the job fails, and its result is dropped.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sslyze.connection_helpers import tls_connection
from sslyze.connection_helpers.tls_connection import SslConnection

T = TypeVar("T")
_INSTALLED = False
_current = threading.local()


class RunSockets:
    """The sockets that one run's threads opened and have not closed yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self._cut = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._cut:
                self._open.add(sock)
                return
        _shut(sock)  # opened after the end: cut at once

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            still_open = list(self._open)
            self._open.clear()
        for sock in still_open:
            _shut(sock)


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
        try:
            return function(*args)
        finally:
            _current.sockets = None

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
                owner = getattr(_current, "sockets", None)
                if owner is not None:
                    owner.discard(sock)

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
