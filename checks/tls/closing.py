"""sslyze closes a connection by shutting TLS down; when that shutdown fails, the socket stays open.

nassl's `shutdown()` closes the socket only after `SSL_shutdown` succeeded or failed with one of two expected
errors; any other error (a handshake that a reset or time-out left half done) propagates and leaves the file
descriptor to the garbage collector, which on a busy scan may come much later. `install()` wraps sslyze's
`SslConnection.close` so that the socket is closed whatever the shutdown did.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from sslyze.connection_helpers.tls_connection import SslConnection

_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    shutdown_tls = SslConnection.close

    @functools.wraps(shutdown_tls)
    def close(self: Any) -> None:
        try:
            shutdown_tls(self)
        finally:
            sock = self.ssl_client.get_underlying_socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()

    SslConnection.close = close  # type: ignore[method-assign]
    _INSTALLED = True
