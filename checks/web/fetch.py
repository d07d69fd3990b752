"""One HTTP/1.1 GET over TCP or TLS, with caps and a deadline, and the same-host redirects it leads to.

The scheduler resolved the host and checked every address against the agency's scope: we connect to that address
(`Target.address`) and send the host name as SNI and `Host`, never resolving the name again. A redirect is followed
only when its Location names the same host (inside the scope already checked) over http or https on that host's
port for the scheme; anything else is recorded as where the chain stopped. Headers, cookies and bodies are the
server's words: read up to a cap, never interpreted beyond what the facts need. Cookie values are never kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from checks.base import close_stream, probe_tls_context
from checks.shared.http import MAX_HTTP_HEAD_BYTES
from checks.shared.served import chain_of
from checks.web.models import MAX_HEADERS, MAX_SCRIPTS, CookieFact, Fetched, HeaderFact, ResponseFacts, ScriptFact

USER_AGENT = "posture-monitor web check (+https://www.cert.niedersachsen.de)"
# sent with GET / so that a server which reflects any Origin with credentials shows it (the Observatory's CORS test)
PROBE_ORIGIN = "https://posture-monitor.invalid"
CLOSE_WAIT_S = 0.5


class FetchFailed(Exception):
    """No response: refused, reset, TLS failure, deadline. `refused` when nothing listened on the port."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: the approved address, the host name for SNI and Host, the TLS context for https."""

    host: str
    address: str
    https_port: int = 443
    http_port: int = 80
    context: ssl.SSLContext | None = None

    def port(self, scheme: str) -> int:
        return self.https_port if scheme == "https" else self.http_port

    def url(self, scheme: str, path: str) -> str:
        default = 443 if scheme == "https" else 80
        port = self.port(scheme)
        name = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{name}{'' if port == default else f':{port}'}{path}"


@dataclass(frozen=True, slots=True)
class Raw:
    """One response as read: the facts, and the body bytes (capped) for whoever reads them next."""

    facts: ResponseFacts
    body: bytes
    peer_chain: tuple[bytes, ...] = ()


async def get(
    endpoint: Endpoint, scheme: str, path: str, *, timeout_s: float, max_body: int, origin: bool = False
) -> Raw:
    """One GET; FetchFailed when no response came back within `timeout_s`."""
    port = endpoint.port(scheme)
    url = endpoint.url(scheme, path)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            try:
                if scheme == "https":
                    reader, writer = await asyncio.open_connection(
                        endpoint.address,
                        port,
                        ssl=endpoint.context or probe_tls_context(),
                        server_hostname=endpoint.host,
                        limit=MAX_HTTP_HEAD_BYTES,
                    )
                else:
                    reader, writer = await asyncio.open_connection(endpoint.address, port, limit=MAX_HTTP_HEAD_BYTES)
            except ConnectionRefusedError:
                raise FetchFailed(f"{url}: connection refused", refused=True) from None
            except ssl.SSLError as err:
                raise FetchFailed(f"{url}: TLS handshake failed: {err.reason or err}") from None
            except OSError as err:
                raise FetchFailed(f"{url}: no connection: {err.strerror or type(err).__name__}") from None
            writer.write(_request(endpoint, scheme, path, origin))
            await writer.drain()
            head, truncated = await _read_head(reader)
            status, headers, head_truncated = parse_head(head)
            no_body = status in (204, 304) or 100 <= status < 200
            length = 0 if no_body else _content_length(headers)
            body, body_truncated = await _read_body(reader, max_body, length)
            chain = chain_of(writer) if scheme == "https" else ()
    except TimeoutError:
        raise FetchFailed(f"{url}: no complete response within {timeout_s:g} s") from None
    except (ConnectionError, ssl.SSLError, OSError) as err:
        raise FetchFailed(f"{url}: the connection broke: {type(err).__name__}") from None
    finally:
        if writer is not None:
            await close_stream(writer, CLOSE_WAIT_S)
    if _chunked(headers):
        body = dechunk(body)
    plain = [h for h in headers if h.name.lower() != "set-cookie"]
    cookies = [c for h in headers if h.name.lower() == "set-cookie" if (c := parse_cookie(h.value)) is not None]
    facts = ResponseFacts(
        url=url,
        status=status,
        headers=tuple(plain[:MAX_HEADERS]),
        cookies=tuple(cookies[:MAX_HEADERS]),
        head_truncated=truncated or head_truncated,
        body_bytes=len(body),
        body_truncated=body_truncated,
    )
    return Raw(facts, body, chain)


async def follow(
    endpoint: Endpoint,
    scheme: str,
    path: str,
    *,
    timeout_s: float,
    max_body: int,
    max_redirects: int,
    origin: bool = False,
) -> tuple[Fetched, list[Raw]]:
    """GET and the same-host redirects after it: the facts, and every response as read. FetchFailed only when
    the first request got no response; a later failure is recorded in the facts."""
    raws: list[Raw] = []
    url = endpoint.url(scheme, path)
    while True:
        try:
            raw = await get(endpoint, scheme, path, timeout_s=timeout_s, max_body=max_body, origin=origin)
        except FetchFailed as failed:
            if not raws:
                raise
            return Fetched(responses=tuple(r.facts for r in raws), error=failed.reason), raws
        raws.append(raw)
        location = raw.facts.first("location")
        if raw.facts.status not in (301, 302, 303, 307, 308) or location is None:
            return Fetched(responses=tuple(r.facts for r in raws)), raws
        target = urljoin(url, location.strip())
        hop = same_host_hop(endpoint, target)
        if hop is None or len(raws) > max_redirects:
            return Fetched(responses=tuple(r.facts for r in raws), stopped=target), raws
        url = target
        scheme, path = hop


def same_host_hop(endpoint: Endpoint, url: str) -> tuple[str, str] | None:
    """(scheme, path) when `url` stays on the endpoint's host and the port we use for its scheme; else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or (parts.hostname or "").rstrip(".") != endpoint.host.lower():
        return None
    if port is not None and port != endpoint.port(parts.scheme):
        return None
    path = parts.path or "/"
    return parts.scheme, path + (f"?{parts.query}" if parts.query else "")


def _request(endpoint: Endpoint, scheme: str, path: str, origin: bool) -> bytes:
    default = 443 if scheme == "https" else 80
    port = endpoint.port(scheme)
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}{'' if port == default else f':{port}'}",
        f"User-Agent: {USER_AGENT}",
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Encoding: identity",
        "Connection: close",
    ]
    if origin:
        lines.append(f"Origin: {PROBE_ORIGIN}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """The response head up to the empty line, at most MAX_HTTP_HEAD_BYTES; True when cut there."""
    try:
        return await reader.readuntil(b"\r\n\r\n"), False
    except asyncio.LimitOverrunError:
        return await reader.read(MAX_HTTP_HEAD_BYTES), True
    except asyncio.IncompleteReadError as err:
        if not err.partial:
            raise FetchFailed("the server closed the connection without a response") from None
        return err.partial, False


def _content_length(headers: list[HeaderFact]) -> int | None:
    """The body's length when the response states it (and is not chunked, RFC 9112 §6.3); None: read to the close."""
    if _chunked(headers):
        return None
    values = {h.value.strip() for h in headers if h.name.lower() == "content-length"}
    if len(values) != 1:
        return None
    value = values.pop()
    return int(value) if value.isdigit() else None


async def _read_body(reader: asyncio.StreamReader, cap: int, length: int | None = None) -> tuple[bytes, bool]:
    """The body: `length` bytes when the response states them (a server that keeps the connection open after them
    despite `Connection: close` is answered all the same), else up to the close; at most `cap`, True when cut."""
    wanted = cap + 1 if length is None else min(length, cap + 1)
    data = bytearray()
    while len(data) < wanted:
        try:
            chunk = await reader.read(min(65536, wanted - len(data)))
        except (ConnectionError, ssl.SSLError):
            break  # a body cut short is still what the server sent (many servers skip close_notify)
        if not chunk:
            break
        data += chunk
    return bytes(data[:cap]), len(data) > cap


def parse_head(head: bytes) -> tuple[int, list[HeaderFact], bool]:
    """Status and header lines (Latin-1, as RFC 9110 allows); True when there were more than MAX_HEADERS."""
    text = head.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/") or not status_line[1].isdigit():
        raise FetchFailed(f"not an HTTP response: {lines[0][:80]!r}")
    headers: list[HeaderFact] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        if line[0] in " \t" and headers:  # obsolete line folding: a continuation
            last = headers[-1]
            headers[-1] = HeaderFact(name=last.name, value=f"{last.value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers.append(HeaderFact(name=name.strip(), value=value.strip()))
    return int(status_line[1]), headers[: MAX_HEADERS + 1], len(headers) > MAX_HEADERS


def parse_cookie(header: str) -> CookieFact | None:
    """A Set-Cookie header's name and attributes (RFC 6265 §5.2); the value is dropped here."""
    pair, *attributes = header.split(";")
    name, sep, _ = pair.partition("=")
    if not sep or not name.strip():
        return None
    flags: dict[str, object] = {"name": name.strip()}
    for attribute in attributes:
        key, has_value, value = attribute.strip().partition("=")
        key = key.strip().lower()
        if key == "secure":
            flags["secure"] = True
        elif key == "httponly":
            flags["http_only"] = True
        elif key == "samesite":
            flags["same_site"] = value.strip() if has_value else ""
    return CookieFact.model_validate(flags)


def _chunked(headers: list[HeaderFact]) -> bool:
    return any(h.name.lower() == "transfer-encoding" and "chunked" in h.value.lower() for h in headers)


def dechunk(body: bytes) -> bytes:
    """A chunked body's data; tolerant: a body cut by our cap yields what arrived."""
    out = bytearray()
    rest = body
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if not sep or size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


class PageParser(HTMLParser):
    """The parts of an HTML page the Observatory reads: `<meta http-equiv>` and `<script src>`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: list[HeaderFact] = []
        self.scripts: list[ScriptFact] = []
        self.script_count = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value for name, value in attrs}
        if tag == "meta" and values.get("http-equiv") and values.get("content") is not None:
            if len(self.meta) < MAX_HEADERS:
                self.meta.append(HeaderFact(name=values["http-equiv"] or "", value=values["content"] or ""))
        elif tag == "script":
            self.script_count += 1
            src = values.get("src")
            if src and len(self.scripts) < MAX_SCRIPTS:
                integrity = bool((values.get("integrity") or "").strip())
                self.scripts.append(ScriptFact(src=src, integrity=integrity, crossorigin=values.get("crossorigin")))


def read_page(body: bytes, charset: str | None) -> PageParser:
    parser = PageParser()
    with contextlib.suppress(LookupError):
        text = body.decode(charset or "utf-8", errors="replace")
        parser.feed(text)
        parser.close()
    return parser
