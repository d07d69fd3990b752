"""STARTTLS on one MX (RFC 5321, RFC 3207): greeting, EHLO, STARTTLS, handshake, QUIT, under one deadline.

One connection per call. The server is treated as hostile: replies are read with the caps of checks/shared/smtp.py
(line length, lines per reply, bytes before TLS; over a cap the probe ends as a protocol failure), and the whole
exchange (a tarpit answering a byte a second included) ends by the deadline. Every failure becomes a typed
fact (`StarttlsFacts.failure`); nothing is raised.

STARTTLS counts as offered only as an EHLO keyword: RFC 5321 §4.1.1.1 puts the domain (and free text) on the first
line of the EHLO reply and one keyword with its parameters on each further line, so "STARTTLS" in the greeting or in
the server's host name is no offer.

The certificate is judged as the TLS check judges it (checks.shared.certs): a path to the system store or the
agency's CA bundle, signatures only, and RFC 6125 matching of the MX host name against the subjectAltName.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl
import time
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from checks.base import close_stream, probe_tls_context
from checks.mail.transport_models import StarttlsFacts, StarttlsFailure
from checks.shared.served import judge_chain, served_chain
from checks.shared.smtp import MAX_LINE, SmtpBroken, SmtpDialogue, ehlo_keywords, os_reason

QUIT_WAIT_S = 1.0  # how long a polite QUIT waits for its 221 (within the deadline)
CLOSE_WAIT_S = 0.5  # how long the close after QUIT waits for the peer (never beyond the deadline)


class _Stop(Exception):
    """The dialogue ended short of a verified session: `failure` and `reason` say why."""

    def __init__(self, failure: StarttlsFailure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


async def probe_starttls(
    address: str,
    mx_name: str,
    port: int = 25,
    *,
    deadline_s: float,
    ca_file: Path | None = None,
    ehlo_name: str | None = None,
    executor: Executor | None = None,
) -> StarttlsFacts:
    """Connect to `address`:`port`, the MX `mx_name`; EHLO, STARTTLS, handshake, QUIT; all within `deadline_s`.

    `ehlo_name`: the name we greet with; default an address literal of our end of the connection (RFC 5321 §4.1.3).
    Never raises for anything the server does; the facts say how far the dialogue got and why it stopped. The served
    chain is judged in `executor` (None: the loop's default one), off the event loop.
    """
    mx = mx_name.rstrip(".").lower()
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    ends = loop.time() + deadline_s
    facts: dict[str, Any] = {"mx": mx, "address": address, "port": port}
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(deadline_s):
            try:
                reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
            except OSError as err:
                raise _Stop("connect", f"no connection to {address} port {port}: {os_reason(err)}") from None
            await _dialogue(SmtpDialogue(reader, writer), writer, mx, (ca_file, executor), ehlo_name, facts)
    except _Stop as stop:
        facts["failure"] = stop.failure
        facts["reason"] = stop.reason
    except SmtpBroken as broken:
        facts["failure"] = broken.kind
        facts["reason"] = broken.reason
    except TimeoutError:
        facts["failure"] = "timeout"
        facts["reason"] = f"the dialogue did not finish within {deadline_s:g} s"
    finally:
        if writer is not None:
            await close_stream(writer, min(CLOSE_WAIT_S, ends - loop.time()))
    facts["duration_s"] = round(time.monotonic() - started, 3)
    return StarttlsFacts.model_validate(facts)


async def _dialogue(
    talk: SmtpDialogue,
    writer: asyncio.StreamWriter,
    mx: str,
    trust: tuple[Path | None, Executor | None],
    ehlo_name: str | None,
    facts: dict[str, Any],
) -> None:
    greeting = await talk.reply("greeting")
    facts["greeting_code"] = greeting.code
    facts["greeting"] = greeting.first
    if greeting.code != 220:
        raise _Stop("greeting_rejected", f"the server greets with {greeting.code}: {facts['greeting']}")
    ehlo = await talk.command(f"EHLO {ehlo_name or talk.address_literal()}", "EHLO reply")
    facts["ehlo_code"] = ehlo.code
    if ehlo.code != 250:
        await _quit(talk, facts)
        raise _Stop("ehlo_rejected", f"the server answers EHLO with {ehlo.code}: {ehlo.first}")
    facts["extensions"] = keywords = ehlo_keywords(ehlo.lines)
    facts["offered"] = "STARTTLS" in keywords
    if not facts["offered"]:
        await _quit(talk, facts)
        raise _Stop("not_offered", "the EHLO reply does not offer STARTTLS")
    answer = await talk.command("STARTTLS", "STARTTLS reply")
    facts["starttls_code"] = answer.code
    if answer.code != 220:
        await _quit(talk, facts)
        raise _Stop("starttls_rejected", f"the server answers STARTTLS with {answer.code}: {answer.first}")
    if talk.pending():
        raise _Stop("protocol", "the server sent clear text after its 220 to STARTTLS (a command injection risk)")
    try:
        await writer.start_tls(probe_tls_context(), server_hostname=mx)
    except (ssl.SSLError, ConnectionError, OSError) as err:
        raise _Stop("handshake", f"the TLS handshake failed: {os_reason(err)}") from None
    facts["upgraded"] = True
    ssl_object = writer.get_extra_info("ssl_object")
    if isinstance(ssl_object, ssl.SSLObject):
        facts["tls_version"] = ssl_object.version()
        cipher = ssl_object.cipher()
        facts["cipher"] = cipher[0] if cipher else None
        chain = served_chain(ssl_object)
        facts["chain_der_b64"] = tuple(base64.b64encode(der).decode("ascii") for der in chain)
        judged = await asyncio.get_running_loop().run_in_executor(trust[1], judge_chain, chain, mx, trust[0])
        facts.update(judged)
    await _quit(talk, facts)


async def _quit(talk: SmtpDialogue, facts: dict[str, Any]) -> None:
    """QUIT politely; its 221 is waited for briefly and never required."""
    with contextlib.suppress(SmtpBroken, TimeoutError, ConnectionError, OSError, ssl.SSLError):
        talk.writer.write(b"QUIT\r\n")
        facts["quit_sent"] = True
        async with asyncio.timeout(QUIT_WAIT_S):
            await talk.writer.drain()
            await talk.reply("QUIT reply")
