"""A small authoritative DNS server on loopback (dnslib), whose records a test can change while it runs."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dnslib import AAAA, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

HOST = "127.0.0.2"


class _Quiet(DNSLogger):
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)

    def log_recv(self, handler: DNSHandler, data: bytes) -> None: ...
    def log_send(self, handler: DNSHandler, data: bytes) -> None: ...
    def log_request(self, handler: DNSHandler, request: DNSRecord) -> None: ...
    def log_reply(self, handler: DNSHandler, reply: DNSRecord) -> None: ...
    def log_error(self, handler: DNSHandler, e: Exception) -> None: ...


@dataclass
class Zone(BaseResolver):  # type: ignore[misc]
    """name → {"A": [...], "AAAA": [...], "TXT": [...]}; unknown names get NXDOMAIN. `asked` lists every name a
    question was about (a test proves that a name was never looked up)."""

    records: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    ttl: int = 1  # seconds, of every answer
    asked: list[str] = field(default_factory=list)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        self.asked.append(name)
        qtype = QTYPE[request.q.qtype]
        if name not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        make = {"A": A, "AAAA": AAAA, "TXT": TXT}
        for value in self.records[name].get(qtype, []):
            reply.add_answer(RR(name, getattr(QTYPE, qtype), rdata=make[qtype](value), ttl=self.ttl))
        return reply


@contextmanager
def dns_server(zone: Zone) -> Iterator[str]:
    """Serve `zone` over UDP on 127.0.0.2; yields "IP:PORT" for DnsResolver."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    server = DNSServer(zone, port=port, address=HOST, logger=_Quiet())
    server.start_thread()
    try:
        yield f"{HOST}:{port}"
    finally:
        server.stop()
        server.server.server_close()
        server.thread.join(5)
