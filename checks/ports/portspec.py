"""Port sets: the curated default list, `top:N`, or an explicit list of ports and ranges.

`parse_port_spec` is the one parser of the SPEC grammar; the config model, the CLI (`--ports SPEC`) and the
endpoint form all call it, so every place accepts and rejects the same strings with the same messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MIN_PORT = 1
MAX_PORT = 65535

# The TCP ports that matter on a public agency's internet edge: remote access, file sharing, databases, mail,
# directory, web, management, container/cache/search APIs and industrial protocols. Each has a reason to be here
# (see docs/ports.md); keep the list short, because every port costs a probe on every endpoint every round.
DEFAULT_PORTS: tuple[int, ...] = (
    21,  # FTP
    22,  # SSH
    23,  # Telnet
    25,  # SMTP
    53,  # DNS over TCP
    80,  # HTTP
    102,  # Siemens S7 / ISO-TSAP
    110,  # POP3
    111,  # rpcbind / portmapper
    135,  # Microsoft RPC endpoint mapper
    139,  # NetBIOS session (SMB)
    143,  # IMAP
    389,  # LDAP
    443,  # HTTPS
    445,  # SMB
    465,  # SMTP submission over TLS
    502,  # Modbus/TCP
    512,  # rexec
    513,  # rlogin
    514,  # rsh
    587,  # SMTP submission
    636,  # LDAPS
    873,  # rsync
    993,  # IMAPS
    995,  # POP3S
    1099,  # Java RMI registry
    1433,  # Microsoft SQL Server
    1521,  # Oracle TNS listener
    1723,  # PPTP VPN
    1883,  # MQTT without TLS
    2049,  # NFS
    2375,  # Docker API, plain text
    2376,  # Docker API over TLS
    2379,  # etcd client API
    3306,  # MySQL / MariaDB
    3389,  # RDP
    4786,  # Cisco Smart Install
    5432,  # PostgreSQL
    5800,  # VNC over HTTP
    5900,  # VNC
    5901,  # VNC display 1
    5984,  # CouchDB
    5985,  # WinRM over HTTP
    5986,  # WinRM over HTTPS
    6000,  # X11
    6379,  # Redis
    8000,  # alternative HTTP / admin consoles
    8009,  # Apache JServ Protocol (AJP)
    8080,  # alternative HTTP / proxies / admin consoles
    8443,  # alternative HTTPS / management interfaces
    8888,  # alternative HTTP / notebooks
    9200,  # Elasticsearch / OpenSearch REST API
    11211,  # Memcached
    20000,  # DNP3
    27017,  # MongoDB
    44818,  # EtherNet/IP
)


@dataclass(frozen=True, slots=True)
class PortSelection:
    """A parsed SPEC. Exactly one of `top` (nmap's N most frequent TCP ports) and `ports` is meaningful."""

    kind: str  # "default" | "top" | "list"
    ports: tuple[int, ...] = ()
    top: int | None = None

    @property
    def canonical(self) -> str:
        """The normalised SPEC: `default`, `top:N`, or sorted ranges such as `22,80,8000-8100`."""
        if self.kind == "top":
            return f"top:{self.top}"
        if self.kind == "default":
            return "default"
        return format_ports(self.ports)

    def nmap_args(self) -> list[str]:
        if self.kind == "top":
            return ["--top-ports", str(self.top)]
        return ["-p", format_ports(self.ports)]


def parse_port_spec(spec: str) -> PortSelection:
    """Parse `default`, `top:N` (1 ≤ N ≤ 65535) or a list such as `22,80,8000-8100`. Raise ValueError otherwise."""
    text = spec.strip().lower()
    if not text:
        raise ValueError("empty port spec (use 'default', 'top:N' or a list such as '22,80,8000-8100')")
    if text == "default":
        return PortSelection(kind="default", ports=DEFAULT_PORTS)
    if text.startswith("top:"):
        count = text[4:].strip()
        if not (count.isascii() and count.isdigit()) or not MIN_PORT <= int(count) <= MAX_PORT:
            raise ValueError(f"bad port spec {spec!r}: 'top:N' needs a whole number N from 1 to 65535")
        return PortSelection(kind="top", top=int(count))
    return PortSelection(kind="list", ports=parse_port_list(spec))


def parse_port_list(spec: str) -> tuple[int, ...]:
    """Parse `22,80,8000-8100` into sorted unique ports. Raise ValueError with the offending item."""
    ports: set[int] = set()
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"bad port spec {spec!r}: empty item between commas")
        low_text, dash, high_text = item.partition("-")
        low = _port_number(low_text.strip(), spec)
        high = _port_number(high_text.strip(), spec) if dash else low
        if high < low:
            raise ValueError(f"bad port spec {spec!r}: range {item!r} runs backwards")
        ports.update(range(low, high + 1))
    return tuple(sorted(ports))


def format_ports(ports: Iterable[int]) -> str:
    """Sorted, de-duplicated, consecutive ports folded into ranges: (22, 80, 81, 82) → `22,80-82`."""
    parts: list[str] = []
    ordered = sorted(set(ports))
    start = previous = None
    for port in [*ordered, None]:
        if port is not None and previous is not None and port == previous + 1:
            previous = port
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = port
    return ",".join(parts)


def _port_number(text: str, spec: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"bad port spec {spec!r}: {text!r} is not a port number")
    port = int(text)
    if not MIN_PORT <= port <= MAX_PORT:
        raise ValueError(f"bad port spec {spec!r}: port {port} is outside 1-65535")
    return port
