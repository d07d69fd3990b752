"""The zone-transfer check of a domain: does any of its authoritative servers hand the whole zone to anyone who
asks (AXFR, RFC 5936)? An open transfer lists every name of the zone for an attacker, internal ones included; its
names also feed discovery (`names_seen`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

import dns.exception
import dns.name
import dns.rdatatype

from checks.base import Check, CheckContext, CheckMisconfigured, FindingSpec, NameSeen, TargetUnreachable, Texts
from checks.shared.dnsquery import QueryFailed, ResolverClient, configured_resolvers
from checks.zonetransfer.axfr import attempt
from checks.zonetransfer.models import TransferAttempt, ZoneTransferConfig, ZoneTransferDetails
from monitor.models import Observation, Severity, Target

OPEN_KEY = "dns.axfr.open"
OPEN = FindingSpec(
    key=OPEN_KEY,
    severity=Severity.HIGH,
    title="The zone can be transferred by anyone (AXFR)",
    meaning="An authoritative name server of the domain answers a zone transfer (AXFR) to any client: it hands out "
    "every name of the zone at once, internal and forgotten hosts included, a map for an attacker. RFC 5936 §5 "
    "asks servers to restrict transfers to their secondaries.",
    remediation="Allow zone transfers only to your secondary name servers, by address or TSIG key: BIND "
    "`allow-transfer { key <tsig-key>; };` (or the secondaries' addresses), Knot an `acl` with `action: transfer` "
    "limited to them, PowerDNS `allow-axfr-ips`, Windows DNS: zone properties, *Zone Transfers*, *Only to servers "
    "listed on the Name Servers tab*.",
    de=Texts(
        title="Die Zone kann von jedem übertragen werden (AXFR)",
        meaning="Ein autoritativer Nameserver der Domain beantwortet eine Zonenübertragung (AXFR) an beliebige "
        "Anfragende: Er gibt auf einmal jeden Namen der Zone heraus, auch interne und vergessene Systeme, eine "
        "Landkarte für Angreifer. RFC 5936 §5 verlangt, Übertragungen auf die sekundären Server zu beschränken.",
        remediation="Erlauben Sie Zonenübertragungen nur Ihren sekundären Nameservern, per Adresse oder TSIG-"
        "Schlüssel: BIND `allow-transfer { key <tsig-key>; };` (oder die Adressen der Sekundären), Knot eine `acl` "
        "mit `action: transfer`, beschränkt auf diese, PowerDNS `allow-axfr-ips`, Windows-DNS: Eigenschaften der "
        "Zone, *Zonenübertragungen*, *Nur an Server, die in der Registerkarte Namenserver aufgeführt sind*.",
    ),
)


class ZoneTransferCheck(Check[ZoneTransferConfig, ZoneTransferDetails]):
    name: ClassVar[str] = "axfr"
    description: ClassVar[str] = "whether the domain's authoritative name servers hand out the whole zone (AXFR)"
    finding_prefix: ClassVar[str | None] = "dns.axfr"
    asset_kind = "domain"
    config_model = ZoneTransferConfig
    details_model = ZoneTransferDetails
    findings = (OPEN,)

    async def run(self, target: Target, cfg: ZoneTransferConfig, ctx: CheckContext) -> ZoneTransferDetails:
        if target.kind != "domain":
            raise CheckMisconfigured(f"the axfr check runs on domains, not on the endpoint {target.display}")
        try:
            zone = dns.name.from_text(target.host.rstrip(".") + ".")
        except dns.exception.DNSException as err:
            raise CheckMisconfigured(f"{target.host!r} is no domain name: {err}") from None
        servers = await self._servers(zone, cfg, ctx)
        if not servers:
            raise TargetUnreachable(f"{target.host} has no name server with an address")
        attempts: list[TransferAttempt] = []
        names: set[str] = set()
        truncated = False
        results = await asyncio.gather(*(self._try(zone, ns, address, cfg, target) for ns, address in servers))
        for tried, found, cut in results:
            attempts.append(tried)
            names |= found
            truncated = truncated or cut
        return ZoneTransferDetails(
            domain=target.host,
            servers=tuple(attempts),
            names=tuple(sorted(names)[: cfg.max_names]),
            truncated=truncated,
        )

    async def _servers(self, zone: dns.name.Name, cfg: ZoneTransferConfig, ctx: CheckContext) -> list[tuple[str, str]]:
        """(NS name, address) of every authoritative server, as the configured resolver answers."""
        reasons = []
        for address, port in configured_resolvers(ctx.resources):
            try:
                async with ResolverClient(address, port, cfg.query_timeout_s) as client:
                    reply = await client.ask(zone, dns.rdatatype.NS, cd=False)
                    hosts = sorted({rr.target for rrset in reply.answer if rrset.rdtype == dns.rdatatype.NS
                                    for rr in rrset})  # fmt: skip
                    found: list[tuple[str, str]] = []
                    for host in hosts:
                        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
                            answer = await client.ask(host, rdtype, cd=False)
                            found += [
                                (host.to_text(omit_final_dot=True).lower(), rr.address)
                                for rrset in answer.answer if rrset.rdtype == rdtype for rr in rrset
                            ]  # fmt: skip
                    return found
            except QueryFailed as err:
                reasons.append(str(err))
        raise TargetUnreachable("; ".join(reasons))

    async def _try(
        self, zone: dns.name.Name, ns: str, address: str, cfg: ZoneTransferConfig, target: Target
    ) -> tuple[TransferAttempt, set[str], bool]:
        if target.scope is not None and target.scope.forbidden([address]):
            reason = "a non-public address outside the agency's networks: never contacted"
            return TransferAttempt(ns=ns, address=address, outcome="not_contacted", reason=reason), set(), False
        done = await attempt(zone, address, cfg.port, cfg.server_timeout_s, cfg.max_names, cfg.max_bytes)
        tried = TransferAttempt(ns=ns, address=address, outcome=done.outcome, names=len(done.names),
                                reason=done.reason)  # fmt: skip
        return tried, done.names if done.outcome == "open" else set(), done.truncated

    def evaluate(self, details: ZoneTransferDetails, cfg: ZoneTransferConfig, ctx: CheckContext) -> list[Observation]:
        open_servers = [server for server in details.servers if server.outcome == "open"]
        if not open_servers:
            return []
        evidence = {
            "servers": [{"ns": s.ns, "address": s.address, "names": s.names} for s in open_servers],
        }
        return [OPEN.observe(evidence)]

    def untested(self, details: ZoneTransferDetails) -> tuple[str, ...]:
        """No server answered either way: an open transfer seen before is not resolved by that."""
        if any(server.outcome in ("open", "refused") for server in details.servers):
            return ()
        return (OPEN_KEY,)

    def names_seen(self, details: ZoneTransferDetails) -> Sequence[NameSeen]:
        servers = [s.ns for s in details.servers if s.outcome == "open"]
        # where discovery's inbox says the name came from (not a finding's detail)
        seen_by = {"via": "axfr", "servers": servers, "zone": details.domain}
        return tuple(NameSeen(name, "dns", seen_by) for name in details.names)
