"""The "dns" source: names under each registered domain that answer in DNS, asked of the configured resolver only.

For every registered domain: the apex and `www`; the targets of its MX and NS records; the targets (and ports) of
SRV records of common services; and a list of service names agencies commonly run (`vpn`, `webmail`, `owa` …).
A name is a sighting when it has an A or AAAA record. The names a zone transfer handed out come through the axfr
check's stored facts (`names_seen`), not from here (docs/discovery.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import dns.exception
import dns.name
import dns.rdatatype

from monitor.discovery.models import AgencyAssets, Sighting
from monitor.scope_resolution import dns_client

# Names a public agency's services often have: remote access and VPN gateways, mail and groupware, portals and
# single sign-on, file exchange, and the test systems that tend to be forgotten.
SERVICE_LABELS: tuple[str, ...] = (
    "mail", "webmail", "smtp", "imap", "pop", "mx", "autodiscover", "owa", "exchange", "outlook",
    "vpn", "sslvpn", "remote", "gateway", "citrix", "rdp", "rdweb", "access",
    "portal", "intranet", "extranet", "login", "sso", "auth", "idp", "adfs",
    "cloud", "files", "nextcloud", "owncloud", "share", "ftp", "sftp",
    "api", "app", "apps", "service", "services", "online", "buergerservice", "formulare", "termin",
    "test", "dev", "staging", "demo", "alt", "old", "neu", "new", "backup",
    "cms", "wiki", "git", "gitlab", "jira", "confluence", "support", "helpdesk", "ticket",
    "monitoring", "grafana", "kibana", "admin", "web", "www2", "m", "mobile", "shop", "ns1", "ns2", "dns",
)  # fmt: skip
# SRV records (RFC 2782) that point at mail, groupware, telephony, chat and directory servers.
SRV_SERVICES: tuple[str, ...] = (
    "_autodiscover._tcp", "_submission._tcp", "_submissions._tcp", "_imap._tcp", "_imaps._tcp", "_pop3s._tcp",
    "_caldavs._tcp", "_carddavs._tcp", "_sip._tls", "_sip._tcp", "_sipfederationtls._tcp",
    "_xmpp-client._tcp", "_xmpp-server._tcp", "_ldap._tcp", "_kerberos._tcp", "_matrix._tcp",
)  # fmt: skip
CONCURRENCY = 16
TIMEOUT_S = 3.0


class DnsNames:
    """The source the daemon runs for one agency's registered domains."""

    def __init__(
        self,
        nameservers: Sequence[str] = (),
        labels: Sequence[str] = SERVICE_LABELS,
        srv: Sequence[str] = SRV_SERVICES,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.resolver = dns_client(nameservers, timeout_s)
        self.labels = tuple(labels)
        self.srv = tuple(srv)
        self.gate = asyncio.Semaphore(CONCURRENCY)

    async def __call__(self, agency: AgencyAssets) -> list[Sighting]:
        found: list[Sighting] = []
        for domain in agency.domains:
            found += await self.names_under(domain)
        return found

    async def names_under(self, domain: str) -> list[Sighting]:
        """Every name under `domain` that answers, with how it was found."""
        candidates: dict[tuple[str, int | None], dict[str, str]] = {
            (domain, None): {"record": "A", "of": domain},
            **{
                (f"{label}.{domain}", None): {"record": "A", "of": f"{label}.{domain}"}
                for label in ("www", *self.labels)
            },
        }
        for rdtype in ("MX", "NS"):
            for target in await self._targets(domain, rdtype):
                candidates.setdefault((target, None), {"record": rdtype, "of": domain})
        srv = await asyncio.gather(*(self._srv(f"{service}.{domain}") for service in self.srv))
        for service, answers in zip(self.srv, srv, strict=True):
            for target, port in answers:
                candidates.setdefault((target, port), {"record": "SRV", "of": f"{service}.{domain}"})
        hosts = sorted({host for host, _ in candidates})
        addresses = dict(zip(hosts, await asyncio.gather(*(self._addresses(host) for host in hosts)), strict=True))
        return [
            Sighting(host, port, "dns", {**how, "addresses": addresses[host]})
            for (host, port), how in candidates.items()
            if addresses[host]
        ]

    async def _ask(self, name: str, rdtype: str) -> list[object]:
        async with self.gate:
            try:
                answer = await self.resolver.resolve(name, rdtype, raise_on_no_answer=False)
            except (dns.exception.DNSException, OSError):
                return []  # NXDOMAIN is the common case; a failing resolver makes this name say nothing
        return list(answer.rrset or [])

    async def _targets(self, domain: str, rdtype: str) -> list[str]:
        names = []
        for record in await self._ask(domain, rdtype):
            target = record.exchange if rdtype == "MX" else record.target  # type: ignore[attr-defined]
            text = target.to_text(omit_final_dot=True).lower()
            if text and text != ".":
                names.append(text)
        return names

    async def _srv(self, name: str) -> list[tuple[str, int]]:
        found = []
        for record in await self._ask(name, "SRV"):
            target = record.target.to_text(omit_final_dot=True).lower()  # type: ignore[attr-defined]
            if target and target != ".":  # "." means: the service is decidedly not offered (RFC 2782)
                found.append((target, int(record.port)))  # type: ignore[attr-defined]
        return found

    async def _addresses(self, host: str) -> list[str]:
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            found += [record.address for record in await self._ask(host, rdtype)]  # type: ignore[attr-defined]
        return found
