"""This check's own cheap reads, for ports where nmap named no version.

One connection per port, a few hundred bytes, a short deadline: servers that speak first (SSH, FTP, SMTP, POP3,
IMAP) are read; an HTTP(S) port is asked `HEAD /` with aiohttp (at most `MAX_HEADERS` header lines) and only its
`Server` and `X-Powered-By` headers are kept. Failures are silent (the port simply gives no fingerprint): a banner
is a bonus, not a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

import aiohttp

from checks.base import is_ip_literal
from checks.patches.fingerprints import Fingerprint, from_banner
from monitor.models import Target

MAX_READ = 512
# a hostile HTTP answer may carry megabytes of headers: aiohttp stops at these (at most ~0.5 MB held)
MAX_HEADERS = 64
MAX_HEADER_LINE = 8190
_HTTP_SERVICES = ("http", "https", "http-proxy", "http-alt", "ssl/http")
_HTTPS_PORTS = frozenset({443, 8443, 9443})


async def read_banners(
    target: Target, ports: list[tuple[int, str]], timeout_s: float, max_ports: int
) -> list[Fingerprint]:
    chosen = ports[:max_ports]
    results = await asyncio.gather(*(_one(target, port, service, timeout_s) for port, service in chosen))
    return [fingerprint for found in results for fingerprint in found]


async def _one(target: Target, port: int, service: str, timeout_s: float) -> list[Fingerprint]:
    if service.startswith("http") or "http" in service:
        return await _http(target, port, service == "https" or port in _HTTPS_PORTS, timeout_s)
    greeting = await _greeting(target.connect_to, port, timeout_s)
    if greeting:
        return from_banner(greeting, port)
    if not service:  # unknown service that stayed silent: it may be HTTP
        return await _http(target, port, port in _HTTPS_PORTS, timeout_s)
    return []


async def _greeting(host: str, port: int, timeout_s: float) -> str:
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return ""
    try:
        async with asyncio.timeout(min(timeout_s, 2.0)):
            data = await reader.read(MAX_READ)
    except (OSError, TimeoutError):
        data = b""
    finally:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
    return data.decode("latin-1").split("\n", 1)[0].strip()


async def _http(target: Target, port: int, tls: bool, timeout_s: float) -> list[Fingerprint]:
    context: ssl.SSLContext | bool = False
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # a version read, not a trust decision: the TLS check judges trust
    # Connect to the checked address; the name travels in Host and SNI only. Redirects are never followed.
    url = f"{'https' if tls else 'http'}://{_authority(target.connect_to)}:{port}/"
    request_headers = {"Host": f"{_authority(target.host)}:{port}"}
    server_name = target.host if tls and not is_ip_literal(target.host) else None
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout_s),
                max_line_size=MAX_HEADER_LINE,
                max_field_size=MAX_HEADER_LINE,
                max_headers=MAX_HEADERS,
            ) as session,
            session.head(
                url, ssl=context, allow_redirects=False, headers=request_headers, server_hostname=server_name
            ) as response,
        ):
            headers = [
                f"{name}: {response.headers[name]}" for name in ("Server", "X-Powered-By") if name in response.headers
            ]
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return []
    return [fingerprint for line in headers for fingerprint in from_banner(line[:MAX_READ], port)]


def _authority(host: str) -> str:
    return f"[{host}]" if ":" in host else host
