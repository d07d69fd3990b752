"""Small network helpers the checks share."""

from __future__ import annotations

import ipaddress
import ssl


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def probe_tls_context() -> ssl.SSLContext:
    """A client context that completes a handshake with anything: for probing. Judging TLS is the TLS check's job."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    return context
