"""One AXFR attempt (RFC 5936) over TCP, read message by message within a byte and a name budget: the names of the
zone if the server hands it out, else why not."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from checks.zonetransfer.models import Outcome


@dataclass(slots=True)
class Transfer:
    outcome: Outcome
    names: set[str] = field(default_factory=set)
    reason: str = ""
    truncated: bool = False


async def attempt(zone: dns.name.Name, address: str, port: int, timeout_s: float, max_names: int,
                  max_bytes: int) -> Transfer:  # fmt: skip
    try:
        async with asyncio.timeout(timeout_s):
            return await _transfer(zone, address, port, max_names, max_bytes)
    except TimeoutError:
        return Transfer("failed", reason=f"no complete answer within {timeout_s:g} s")
    except (OSError, EOFError, asyncio.IncompleteReadError) as err:
        if isinstance(err, ConnectionRefusedError):
            return Transfer("refused", reason="TCP connection refused")
        return Transfer("failed", reason=f"{type(err).__name__}: {err}"[:200])


async def _transfer(zone: dns.name.Name, address: str, port: int, max_names: int, max_bytes: int) -> Transfer:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        wire = dns.message.make_query(zone, dns.rdatatype.AXFR).to_wire()
        writer.write(struct.pack("!H", len(wire)) + wire)
        await writer.drain()
        names: set[str] = set()
        read = 0
        first = True
        while True:
            try:
                head = await reader.readexactly(2)
            except asyncio.IncompleteReadError:
                if first:
                    return Transfer("refused", reason="the server closed the connection without an answer")
                return Transfer("failed", names, "the transfer ended before its closing SOA")
            size = struct.unpack("!H", head)[0]
            read += size + 2
            if read > max_bytes:
                return Transfer("open", names, f"more than {max_bytes} bytes: read no further", truncated=True)
            try:
                message = dns.message.from_wire(await reader.readexactly(size), one_rr_per_rrset=True)
            except dns.exception.DNSException as err:
                return Transfer("failed", names, f"an unreadable answer: {type(err).__name__}")
            if message.rcode() != dns.rcode.NOERROR:
                return Transfer("refused", reason=dns.rcode.to_text(message.rcode()))
            if first:
                if not message.answer or message.answer[0].rdtype != dns.rdatatype.SOA:
                    return Transfer("refused", reason="the answer does not start with the zone's SOA")
                first = False
            elif not message.answer:
                return Transfer("failed", names, "an empty message inside the transfer")
            for rrset in message.answer:
                if rrset.rdtype == dns.rdatatype.SOA and names:
                    return Transfer("open", names)  # the closing SOA
                if rrset.name.is_subdomain(zone):
                    names.add(rrset.name.to_text(omit_final_dot=True).lower())
                if len(names) >= max_names:
                    return Transfer("open", names, f"more than {max_names} names: read no further", truncated=True)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
