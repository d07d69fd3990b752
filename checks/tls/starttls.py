"""SMTP STARTTLS (RFC 3207) before our own TLS connections: greeting, EHLO, STARTTLS, then the caller's handshake.

The TLS check's quick probe and its own ClientHellos (checks/tls/hello.py) open connections themselves; on an MX
they first go through this preamble, read with the caps of checks/shared/smtp.py under the caller's deadline.
sslyze's connections do the same dialogue in sslyze (`tls_opportunistic_encryption`, checks/tls/scan.py).
"""

from __future__ import annotations

import asyncio

from checks.shared.smtp import SmtpBroken, SmtpDialogue, ehlo_keywords


class StarttlsFailed(Exception):
    """The server did not get us to a TLS handshake: `reason` says where the dialogue stopped."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def smtp_starttls(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ehlo_name: str | None) -> None:
    """Read the 220 greeting, EHLO (`ehlo_name`, default an address literal of our end), STARTTLS and its 220:
    the stream is then ready for a TLS ClientHello. Raises StarttlsFailed for anything else the server does."""
    talk = SmtpDialogue(reader, writer)
    try:
        greeting = await talk.reply("greeting")
        if greeting.code != 220:
            raise StarttlsFailed(f"the server greets with {greeting.code}: {greeting.first}")
        ehlo = await talk.command(f"EHLO {ehlo_name or talk.address_literal()}", "EHLO reply")
        if ehlo.code != 250:
            raise StarttlsFailed(f"the server answers EHLO with {ehlo.code}: {ehlo.first}")
        if "STARTTLS" not in ehlo_keywords(ehlo.lines):
            raise StarttlsFailed("the EHLO reply does not offer STARTTLS")
        answer = await talk.command("STARTTLS", "STARTTLS reply")
    except SmtpBroken as err:
        raise StarttlsFailed(err.reason) from None
    if answer.code != 220:
        raise StarttlsFailed(f"the server answers STARTTLS with {answer.code}: {answer.first}")
    if talk.pending():
        raise StarttlsFailed("the server sent clear text after its 220 to STARTTLS")
