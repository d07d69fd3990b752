"""Run checkdmarc's own CLI (`checkdmarc._cli._main`) with a guard: no socket outside 127.0.0.0/8 and ::1.

    python tests/checkdmarc_guard.py BLOCKED_LOG [checkdmarc arguments ...]

An audit hook (PEP 578) sees every `connect` and `sendto` of every Python socket: dnspython's questions, smtplib's
STARTTLS test, requests' MTA-STS and BIMI downloads. A destination outside loopback is refused (`OSError`
ENETUNREACH, as if there were no route) and written to BLOCKED_LOG, so the caller can fail the test: checkdmarc
must not even try. Names resolved through the system (getaddrinfo) go to the resolver in /etc/resolv.conf, which
`tests/checkdmarc_peer.py` replaces by the lab's resolver in a private mount namespace; so the glibc stub (which
an audit hook cannot see) asks loopback too.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
from typing import Any


def loopback(address: object) -> bool:
    """Whether a socket address is on loopback (AF_UNIX paths and unparsable names are not)."""
    if not isinstance(address, tuple) or not address:
        return False
    try:
        return ipaddress.ip_address(str(address[0]).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def install(log_path: str) -> None:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in ("socket.connect", "socket.sendto"):
            return
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6) or loopback(address):
            return
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"{event} {address!r}\n")
        raise OSError(errno.ENETUNREACH, f"blocked by the loopback guard: {address!r}")

    sys.addaudithook(hook)


def main() -> None:
    log_path, *arguments = sys.argv[1:]
    install(log_path)
    from checkdmarc._cli import _main  # after the hook: nothing it imports may open a socket unseen

    sys.argv = ["checkdmarc", *arguments]
    _main()


if __name__ == "__main__":
    main()
