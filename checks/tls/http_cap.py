"""A byte cap on sslyze's HTTP response read (the HTTP_HEADERS scan command, which gives us HSTS).

sslyze 6 reads the response head with `response += read(4096)` until it sees an empty line: without any limit,
and in a worker thread that cannot be cancelled. A hostile server that sends megabytes of headers, or headers that
never end, makes that thread grow without bound (and copy quadratically) until the connection's socket timeout
strikes between two reads, which a steady trickle never lets happen. `install()` replaces the parser's entry point
with one that stops at `MAX_HTTP_HEAD_BYTES` and turns every malformed head (also http.client's "more than 100
headers") into sslyze's own `NotAValidHttpResponseError`, which the plugin records as the HTTP answer's error.
"""

from __future__ import annotations

import http.client
from typing import Any

from nassl._nassl import OpenSSLError
from sslyze.connection_helpers.http_response_parser import HttpResponseParser, NotAValidHttpResponseError

MAX_HTTP_HEAD_BYTES = 32 * 1024  # nassl itself fails with a bad record MAC past ~64 KiB of one response


def parse_capped(ssl_client: Any) -> http.client.HTTPResponse:
    received = 0

    def read(size: int) -> bytes:
        nonlocal received
        if received >= MAX_HTTP_HEAD_BYTES:
            raise NotAValidHttpResponseError(f"HTTP response head larger than {MAX_HTTP_HEAD_BYTES} bytes")
        try:
            data: bytes = ssl_client.read(min(size, MAX_HTTP_HEAD_BYTES - received))
        except OpenSSLError as err:  # a corrupt record; the plugin catches nassl's SslError only
            raise NotAValidHttpResponseError(f"TLS error while reading the HTTP response: {err}") from None
        received += len(data)
        return data

    try:
        response: http.client.HTTPResponse = HttpResponseParser._parse(read)
    except http.client.HTTPException as err:  # e.g. more than 100 header lines, a line over 64 KiB
        raise NotAValidHttpResponseError(f"malformed HTTP response head: {type(err).__name__}: {err}") from None
    return response


def install() -> None:
    """Idempotent; the plugin looks the parser up on the class at every call."""
    HttpResponseParser.parse_from_ssl_connection = staticmethod(parse_capped)  # type: ignore[method-assign,assignment]
