"""Fetching the MTA-STS policy file (RFC 8461 §3.3) from one address of `mta-sts.<domain>`, under one deadline.

HTTPS on port 443 with the host name as SNI and Host. The handshake completes with anything (`probe_tls_context`)
and the served chain is judged as every certificate of the mail check is (`checks.shared.served`), so that the
policy host's certificate problem is reported as exactly that. The request is HTTP/1.0 (no chunked replies to
decode, the body ends at the close); §3.3: a redirect is not followed and only a 200 is a policy. The reply is
hostile until proven otherwise: the head and the body are capped, and the whole exchange ends by the deadline.
"""

from __future__ import annotations

import asyncio
import ssl
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from checks.base import probe_tls_context
from checks.mail.details import MtaStsFetch, Reach
from checks.mail.models import cap
from checks.mail.mtasts import parse_policy
from checks.shared.served import chain_of, judge_chain

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_HEAD = 16 * 1024
MAX_BODY = 64 * 1024  # a policy is a few hundred bytes; Postfix's and Exim's resolvers cap it at 64 KiB too


class _Failed(Exception):
    pass


def policy_url(domain: str) -> tuple[str, str]:
    """The policy host and URL of `domain`."""
    host = f"mta-sts.{domain.rstrip('.').lower()}"
    return host, f"https://{host}{POLICY_PATH}"


async def fetch_policy(
    host: str,
    address: str,
    reach: Reach,
    *,
    deadline_s: float,
    ca_file: Path | None = None,
    executor: Executor | None = None,
    port: int = 443,
) -> MtaStsFetch:
    """GET the policy from `address` (one of `host`'s, already admitted by the scope rule). Never raises for
    anything the server does: the facts say how far it got."""
    url = f"https://{host}{POLICY_PATH}"
    facts: dict[str, Any] = {"url": url, "host": host, "address": address, "reach": reach, "status": "failed"}
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(deadline_s):
            try:
                reader, writer = await asyncio.open_connection(
                    address, port, ssl=probe_tls_context(), server_hostname=host, limit=MAX_HEAD
                )
            except ssl.SSLError as err:
                raise _Failed(f"the TLS handshake failed: {err.reason or err}") from None
            except OSError as err:
                raise _Failed(f"no connection to {address} port {port}: {err.strerror or type(err).__name__}") from None
            chain = chain_of(writer)
            facts.update(await asyncio.get_running_loop().run_in_executor(executor, judge_chain, chain, host, ca_file))
            writer.write(
                f"GET {POLICY_PATH} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: posture-monitor (MTA-STS)\r\n"
                "Accept: text/plain\r\n\r\n".encode("ascii")
            )
            await writer.drain()
            status, headers = await _head(reader)
            facts["http_status"] = status
            facts["content_type"] = headers.get("content-type", "")
            if status != 200:
                where = f" to {headers['location']}" if 300 <= status < 400 and "location" in headers else ""
                raise _Failed(
                    f"HTTP {status}{where} (RFC 8461 §3.3: only a 200 is a policy; redirects are not followed)"
                )
            body = await reader.read(MAX_BODY + 1)
            while len(body) <= MAX_BODY:
                more = await reader.read(MAX_BODY + 1 - len(body))
                if not more:
                    break
                body += more
            if len(body) > MAX_BODY:
                raise _Failed(f"the policy is larger than {MAX_BODY} bytes")
    except _Failed as failed:
        facts["reason"] = str(failed)
        return MtaStsFetch.model_validate(facts)
    except TimeoutError:
        facts["reason"] = f"no complete answer within {deadline_s:g} s"
        return MtaStsFetch.model_validate(facts)
    except (ConnectionError, OSError, ssl.SSLError) as err:
        facts["reason"] = f"the connection broke: {type(err).__name__}"
        return MtaStsFetch.model_validate(facts)
    finally:
        if writer is not None:
            writer.transport.abort()  # a policy server owes us no polite close; the deadline is spent otherwise
    text = body.decode("utf-8", errors="replace")
    facts.update(status="fetched", text=cap(text), policy=parse_policy(text))
    return MtaStsFetch.model_validate(facts)


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status code and the headers (names lower case; the first of a repeated one) of an HTTP reply."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise _Failed(f"the HTTP reply head is larger than {MAX_HEAD} bytes") from None
    except asyncio.IncompleteReadError:
        raise _Failed("the connection ended inside the HTTP reply head") from None
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise _Failed(f"not an HTTP reply: {cap(lines[0], 80)!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().lower(), cap(value.strip(), 200))
    return int(parts[1]), headers
