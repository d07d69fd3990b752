"""STARTTLS on one MX (RFC 5321, RFC 3207): greeting, EHLO, STARTTLS, handshake, QUIT, under one deadline.

One connection per call. The server is treated as hostile: a reply line longer than MAX_LINE bytes, a reply of more
than MAX_REPLY_LINES lines, or a dialogue of more than MAX_READ bytes ends the probe as a protocol failure, and the
whole exchange (a tarpit answering a byte a second included) ends by the deadline. Every failure becomes a typed
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

from checks.base import probe_tls_context
from checks.mail.transport_models import StarttlsFacts, StarttlsFailure
from checks.shared.served import judge_chain, served_chain

MAX_LINE = 1000  # RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; we accept some slack, not a flood
MAX_REPLY_LINES = 100  # a real EHLO reply has about a dozen
MAX_READ = 64 * 1024  # the whole dialogue before TLS
QUIT_WAIT_S = 1.0  # how long a polite QUIT waits for its 221 (within the deadline)
CLOSE_WAIT_S = 0.5  # how long the close after QUIT waits for the peer (never beyond the deadline)
EVIDENCE_CHARS = 200


class _Stop(Exception):
    """The dialogue ended short of a verified session: `failure` and `reason` say why."""

    def __init__(self, failure: StarttlsFailure, reason: str) -> None:
        super().__init__(reason)
        self.failure = failure
        self.reason = reason


class _Reply:
    __slots__ = ("code", "lines")

    def __init__(self, code: int, lines: list[str]) -> None:
        self.code = code
        self.lines = lines  # the text after "NNN-" / "NNN ", one per line


class _Dialogue:
    """Reads SMTP replies from a stream with the caps above."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.read = 0

    async def reply(self, what: str) -> _Reply:
        code: int | None = None
        lines: list[str] = []
        while True:
            try:
                raw = await self.reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                raise _Stop("closed", f"the server closed the connection during the {what}") from None
            except asyncio.LimitOverrunError:
                raise _Stop("protocol", f"a line of the {what} is longer than {MAX_LINE} bytes") from None
            except (ConnectionError, OSError) as err:
                raise _Stop("closed", f"the connection broke during the {what}: {_os_reason(err)}") from None
            self.read += len(raw)
            if self.read > MAX_READ:
                raise _Stop("protocol", f"the server sent more than {MAX_READ} bytes before TLS")
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            head, separator = line[:3], line[3:4]
            if len(head) != 3 or not head.isdigit() or separator not in ("-", " ", ""):
                raise _Stop("protocol", f"the {what} is not an SMTP reply: {_quote(line)}")
            if code is None:
                code = int(head)
            elif int(head) != code:
                raise _Stop("protocol", f"the {what} mixes reply codes ({code} and {head})")
            lines.append(line[4:])
            if len(lines) > MAX_REPLY_LINES:
                raise _Stop("protocol", f"the {what} has more than {MAX_REPLY_LINES} lines")
            if separator != "-":
                return _Reply(code, lines)

    async def command(self, text: str, what: str) -> _Reply:
        try:
            self.writer.write(text.encode("ascii") + b"\r\n")
            await self.writer.drain()
        except (ConnectionError, OSError) as err:
            raise _Stop("closed", f"the connection broke sending {text.split()[0]}: {_os_reason(err)}") from None
        return await self.reply(what)


def ehlo_keywords(reply_lines: list[str]) -> tuple[str, ...]:
    """The extension keywords of an EHLO reply's text lines (RFC 5321 §4.1.1.1): every line after the first, its
    first word, upper case. The first line is the server's domain and a greeting, never a keyword."""
    keywords = []
    for line in reply_lines[1:]:
        words = line.split()
        if words and words[0].replace("-", "").isalnum():
            keywords.append(words[0].upper())
    return tuple(keywords)


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
                raise _Stop("connect", f"no connection to {address} port {port}: {_os_reason(err)}") from None
            await _dialogue(_Dialogue(reader, writer), writer, mx, (ca_file, executor), ehlo_name, facts)
    except _Stop as stop:
        facts["failure"] = stop.failure
        facts["reason"] = stop.reason
    except TimeoutError:
        facts["failure"] = "timeout"
        facts["reason"] = f"the dialogue did not finish within {deadline_s:g} s"
    finally:
        if writer is not None:
            await _close(writer, min(CLOSE_WAIT_S, ends - loop.time()))
    facts["duration_s"] = round(time.monotonic() - started, 3)
    return StarttlsFacts.model_validate(facts)


async def _dialogue(
    talk: _Dialogue,
    writer: asyncio.StreamWriter,
    mx: str,
    trust: tuple[Path | None, Executor | None],
    ehlo_name: str | None,
    facts: dict[str, Any],
) -> None:
    greeting = await talk.reply("greeting")
    facts["greeting_code"] = greeting.code
    facts["greeting"] = _quote(greeting.lines[0] if greeting.lines else "")
    if greeting.code != 220:
        raise _Stop("greeting_rejected", f"the server greets with {greeting.code}: {facts['greeting']}")
    ehlo = await talk.command(f"EHLO {ehlo_name or _address_literal(writer)}", "EHLO reply")
    facts["ehlo_code"] = ehlo.code
    if ehlo.code != 250:
        await _quit(talk, facts)
        raise _Stop("ehlo_rejected", f"the server answers EHLO with {ehlo.code}: {_quote(ehlo.lines[0])}")
    facts["extensions"] = keywords = ehlo_keywords(ehlo.lines)
    facts["offered"] = "STARTTLS" in keywords
    if not facts["offered"]:
        await _quit(talk, facts)
        raise _Stop("not_offered", "the EHLO reply does not offer STARTTLS")
    answer = await talk.command("STARTTLS", "STARTTLS reply")
    facts["starttls_code"] = answer.code
    if answer.code != 220:
        await _quit(talk, facts)
        raise _Stop("starttls_rejected", f"the server answers STARTTLS with {answer.code}: {_quote(answer.lines[0])}")
    if talk.reader._buffer:  # type: ignore[attr-defined]  # RFC 3207 §5: nothing may follow 220 in clear text
        raise _Stop("protocol", "the server sent clear text after its 220 to STARTTLS (a command injection risk)")
    try:
        await writer.start_tls(probe_tls_context(), server_hostname=mx)
    except (ssl.SSLError, ConnectionError, OSError) as err:
        raise _Stop("handshake", f"the TLS handshake failed: {_os_reason(err)}") from None
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


async def _quit(talk: _Dialogue, facts: dict[str, Any]) -> None:
    """QUIT politely; its 221 is waited for briefly and never required."""
    with contextlib.suppress(_Stop, TimeoutError, ConnectionError, OSError, ssl.SSLError):
        talk.writer.write(b"QUIT\r\n")
        facts["quit_sent"] = True
        async with asyncio.timeout(QUIT_WAIT_S):
            await talk.writer.drain()
            await talk.reply("QUIT reply")


async def _close(writer: asyncio.StreamWriter, wait_s: float) -> None:
    """Close (TLS close_notify, then FIN) and wait for the peer at most `wait_s` (what is left of the deadline);
    a peer that does not finish the close in that time is cut off (RST)."""
    if wait_s <= 0:
        writer.transport.abort()
        return
    writer.close()
    try:
        async with asyncio.timeout(wait_s):
            await writer.wait_closed()
    except (TimeoutError, ConnectionError, OSError, ssl.SSLError):
        writer.transport.abort()


def _address_literal(writer: asyncio.StreamWriter) -> str:
    local = writer.get_extra_info("sockname")
    host = str(local[0]) if local else "127.0.0.1"
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"


def _quote(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable[:EVIDENCE_CHARS]


def _os_reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or getattr(err, "reason", None) or type(err).__name__
