"""Reading SMTP replies from a hostile server (RFC 5321 §4.2), with caps: the mail check's STARTTLS probe and the
TLS check's STARTTLS preamble both talk through `SmtpDialogue`.

A reply line longer than MAX_LINE bytes, a reply of more than MAX_REPLY_LINES lines, or a dialogue of more than
MAX_READ bytes ends the dialogue as a protocol failure. Time limits are the caller's (one deadline around it all).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

MAX_LINE = 1000  # RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; we accept some slack, not a flood
MAX_REPLY_LINES = 100  # a real EHLO reply has about a dozen
MAX_READ = 64 * 1024  # the whole dialogue before TLS
EVIDENCE_CHARS = 200


class SmtpBroken(Exception):
    """The server ended the dialogue: it closed the connection, or sent what is no SMTP reply within our caps."""

    def __init__(self, kind: Literal["closed", "protocol"], reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SmtpReply:
    code: int
    lines: tuple[str, ...]  # the text after "NNN-" / "NNN ", one per line

    @property
    def first(self) -> str:
        """The first line, printable and cut short: server text quoted as evidence."""
        return quote(self.lines[0] if self.lines else "")


class SmtpDialogue:
    """Commands to and replies from one SMTP server over a stream (open it with `limit=MAX_LINE` where possible:
    a longer line then fails without being buffered)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.read = 0

    async def reply(self, what: str) -> SmtpReply:
        code: int | None = None
        lines: list[str] = []
        while True:
            raw = await self._line(what)
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            head, separator = line[:3], line[3:4]
            if len(head) != 3 or not head.isdigit() or separator not in ("-", " ", ""):
                raise SmtpBroken("protocol", f"the {what} is not an SMTP reply: {quote(line)}")
            if code is None:
                code = int(head)
            elif int(head) != code:
                raise SmtpBroken("protocol", f"the {what} mixes reply codes ({code} and {head})")
            lines.append(line[4:])
            if len(lines) > MAX_REPLY_LINES:
                raise SmtpBroken("protocol", f"the {what} has more than {MAX_REPLY_LINES} lines")
            if separator != "-":
                return SmtpReply(code, tuple(lines))

    async def _line(self, what: str) -> bytes:
        try:
            raw = await self.reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            raise SmtpBroken("closed", f"the server closed the connection during the {what}") from None
        except asyncio.LimitOverrunError:
            raise SmtpBroken("protocol", f"a line of the {what} is longer than {MAX_LINE} bytes") from None
        except (ConnectionError, OSError) as err:
            raise SmtpBroken("closed", f"the connection broke during the {what}: {os_reason(err)}") from None
        if len(raw) > MAX_LINE + 2:  # a reader with a larger limit: the same cap
            raise SmtpBroken("protocol", f"a line of the {what} is longer than {MAX_LINE} bytes")
        self.read += len(raw)
        if self.read > MAX_READ:
            raise SmtpBroken("protocol", f"the server sent more than {MAX_READ} bytes before TLS")
        return raw

    async def command(self, text: str, what: str) -> SmtpReply:
        try:
            self.writer.write(text.encode("ascii") + b"\r\n")
            await self.writer.drain()
        except (ConnectionError, OSError) as err:
            raise SmtpBroken("closed", f"the connection broke sending {text.split()[0]}: {os_reason(err)}") from None
        return await self.reply(what)

    def pending(self) -> bool:
        """Bytes already received and not read: after the 220 to STARTTLS, RFC 3207 §5 allows none in clear text."""
        return bool(self.reader._buffer)  # type: ignore[attr-defined]

    def address_literal(self) -> str:
        return address_literal(self.writer)


def address_literal(writer: asyncio.StreamWriter) -> str:
    """An address literal of our end of the connection (RFC 5321 §4.1.3), to greet with in EHLO."""
    local = writer.get_extra_info("sockname")
    host = str(local[0]) if local else "127.0.0.1"
    return f"[IPv6:{host}]" if ":" in host else f"[{host}]"


def ehlo_keywords(reply_lines: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The extension keywords of an EHLO reply's text lines (RFC 5321 §4.1.1.1): every line after the first, its
    first word, upper case. The first line is the server's domain and a greeting, never a keyword."""
    keywords = []
    for line in reply_lines[1:]:
        words = line.split()
        if words and words[0].replace("-", "").isalnum():
            keywords.append(words[0].upper())
    return tuple(keywords)


def quote(text: str) -> str:
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable[:EVIDENCE_CHARS]


def os_reason(err: BaseException) -> str:
    return getattr(err, "strerror", None) or getattr(err, "reason", None) or type(err).__name__
