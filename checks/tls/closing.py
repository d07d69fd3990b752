"""sslyze's sockets: closed whatever the TLS shutdown did, and cut when the run they belong to ends.

nassl's `shutdown()` closes the socket only after `SSL_shutdown` succeeded or failed with one of two expected
errors; any other error (a handshake that a reset or time-out left half done) propagates and leaves the file
descriptor to the garbage collector. `install()` wraps sslyze's `SslConnection.close` so that the socket is closed
whatever the shutdown did.

A blocked read ends only when no byte arrives within the socket timeout: a server that keeps sending something
(a renegotiation request every 50 ms, one byte a second) holds an sslyze thread for as long as it likes. So the
socket each thread of a run (`owned_by`) opened last is noted in that run's `RunSockets` (a job holds one
connection at a time), and `cut()` at the run's end (its deadline, or a cancellation) shuts them down: a blocked
call returns at once, the job fails, and its result is dropped.
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
    """The socket each of one run's threads opened last (a job uses one connection at a time)."""

    def __init__(self) -> None:
        self._latest: dict[int, socket.socket] = {}  # thread id → socket; one dict write per connection
        self._cut = False

    def add(self, sock: socket.socket) -> None:
        self._latest[threading.get_ident()] = sock
        if self._cut:
            _shut(sock)  # opened after the end: cut at once

    def cut(self) -> None:
        self._cut = True
        for sock in list(self._latest.values()):
            _shut(sock)  # a socket already closed refuses with an OSError: nothing to do
        self._latest.clear()


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
