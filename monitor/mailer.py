"""Sending mail: an asynchronous SMTP client (aiosmtplib) with STARTTLS required by default, verified against the
system's or a configured CA bundle, credentials from a file."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from monitor.errors import InvalidInput
from monitor.scope import parse_ip

TlsMode = Literal["starttls", "tls", "none"]


class SendFailed(Exception):
    """The mail was not accepted; the message is one line, fit for the delivery's last_error."""


class Sender(Protocol):
    async def send(self, message: EmailMessage, recipient: str) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 587
    tls: TlsMode = "starttls"
    username: str | None = None
    password_file: Path | None = None
    ca_file: Path | None = None
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.tls == "none" and not _loopback(self.host):
            raise InvalidInput("smtp_tls", "none (no encryption) is allowed for a loopback mail server only")
        if self.password_file is not None and self.username is None:
            raise InvalidInput("smtp_username", "required with smtp_password_file")


def _loopback(host: str) -> bool:
    address = parse_ip(host)
    return host == "localhost" or (address is not None and address.is_loopback)


class SmtpSender:
    """One SMTP conversation per mail: a weekly batch is small, and a broken connection never spoils the next."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        self._password = config.password_file.read_text().strip() if config.password_file else None

    async def send(self, message: EmailMessage, recipient: str) -> None:
        config = self.config
        try:
            await aiosmtplib.send(
                message,
                recipients=[recipient],
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=self._password,
                use_tls=config.tls == "tls",
                start_tls=config.tls == "starttls",
                tls_context=self._context if config.tls != "none" else None,
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPResponseException as err:
            raise SendFailed(f"{err.code} {_one_line(err.message)}") from None
        except aiosmtplib.SMTPRecipientsRefused as err:
            refused = err.recipients[0] if err.recipients else None
            reason = f"{refused.code} {_one_line(refused.message)}" if refused else "recipient refused"
            raise SendFailed(reason) from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            raise SendFailed(_one_line(f"{type(err).__name__}: {err}")) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]
