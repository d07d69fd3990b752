"""The certificate chain a server served on a live TLS connection, and our verdict on it (trust and name).

Shared by the mail check's TLS connections (the MX's STARTTLS, the MTA-STS policy host): they handshake with
`checks.base.probe_tls_context` (anything completes), keep the chain, and judge it as the TLS check judges one
(`checks.shared.certs`): a path to the system store or the agency's CA bundle by signatures, RFC 6125 names, and
validity at the time of the connection. Judging parses certificates and may load the trust store: callers run
`judge_chain` in an executor, off the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from checks.shared.certs import analyse_chain, names_match, parse_served, trust_anchors


def served_chain(ssl_object: ssl.SSLObject) -> tuple[bytes, ...]:
    """The certificates the server sent, leaf first, DER. Python 3.11 has no public API for the chain beyond the
    leaf (3.13 adds `get_unverified_chain`); the private method of the same name exists since 3.10."""
    inner = getattr(ssl_object, "_sslobj", None)
    getter = getattr(inner, "get_unverified_chain", None)
    if getter is not None:
        with contextlib.suppress(ssl.SSLError, ValueError, AttributeError):
            chain = getter() or []
            ders = tuple(c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain)  # type: ignore[attr-defined]
            if ders:
                return ders
    leaf = ssl_object.getpeercert(binary_form=True)
    return (leaf,) if leaf else ()


def chain_of(writer: asyncio.StreamWriter) -> tuple[bytes, ...]:
    """The chain served on `writer`'s TLS connection; empty for a plain one."""
    ssl_object = writer.get_extra_info("ssl_object")
    return served_chain(ssl_object) if isinstance(ssl_object, ssl.SSLObject) else ()


def judge_chain(chain: tuple[bytes, ...], host: str, ca_file: Path | None) -> dict[str, Any]:
    """Trust (system store + `ca_file`, as the TLS check), the name match for `host` (RFC 6125) and the validity
    period now, of a served chain: the fields `trusted`, `trust_reason`, `name_matches`, `not_after`, `expired`."""
    certificates = parse_served(chain)
    if not certificates:
        return {"trusted": False, "trust_reason": "the server sent no certificate that parses"}
    analysed = analyse_chain(certificates, trust_anchors(ca_file))
    leaf = certificates[0]
    now = datetime.now(UTC)
    return {
        "trusted": analysed.trust == "trusted",
        "trust_reason": analysed.trust_reason,
        "name_matches": names_match(host, analysed.dns_names, analysed.ip_addresses),
        "not_after": leaf.not_valid_after_utc.isoformat(),
        "expired": leaf.not_valid_after_utc < now or leaf.not_valid_before_utc > now,
    }
