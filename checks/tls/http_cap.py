"""A byte cap on sslyze's HTTP response read (the HTTP_HEADERS scan command, which gives us HSTS).

sslyze 6 reads the response head with `response += read(4096)` until it sees an empty line: no limit, quadratic
copying, in a worker thread that cannot be cancelled. Against a server sending megabytes of headers, nassl today
happens to fail first (a bad record MAC after about 64 KiB of one response), and sslyze files that, like
http.client's "more than 100 headers", as a bug of its own: the check reported `crashed`. `install()` replaces the
parser's entry point with one that stops at `MAX_HTTP_HEAD_BYTES` on purpose and turns each of these into sslyze's
`NotAValidHttpResponseError`, which the plugin records as the HTTP answer's error; the scan itself stays valid.
"""

from __future__ import annotations

import http.client
from typing import Any

from nassl._nassl import OpenSSLError
from sslyze.connection_helpers.http_response_parser import HttpResponseParser, NotAValidHttpResponseError

from checks.shared.http import MAX_HTTP_HEAD_BYTES


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
        if not data:  # sslyze would ask again for ever
            raise NotAValidHttpResponseError("the connection ended inside the HTTP response head")
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
