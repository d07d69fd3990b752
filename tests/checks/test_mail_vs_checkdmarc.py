"""Peer comparison (issue #22): our mail policy verdicts against checkdmarc's CLI on the same lab domains.

One DNS lab (unsigned zones: checkdmarc 5.17 cannot validate DNSSEC next to cryptography < 50, see
docs/mail-vs-checkdmarc.md) holds one domain per case; a second lab publishes `_dmarc.dnssec.test`, the
organisational domain's record, for the one case that needs it (in the first lab it would give every domain a
policy). Both sides ask the same unbound, on port 53 because checkdmarc cannot ask another port. The table below is
the agreement table of docs/mail-vs-checkdmarc.md: for each case our keys, checkdmarc's verdict translated into our
keys (`tests/checkdmarc_peer.py`), its other messages, and the documented difference (`""` when both agree). The
test fails when either side changes its verdict.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from monitor.oneoff import EXIT_CLEAN, EXIT_FINDINGS
from tests.checkdmarc_peer import PeerRun, PeerVerdict, peer_verdict, run_checkdmarc
from tests.conftest import POSTURE, posture_env
from tests.dns_lab import PARENT, Zone, dns_lab

MX_ADDRESS = "127.0.3.25"  # nothing listens: checkdmarc runs with --skip-tls, our STARTTLS is not compared
POLICY_PREFIXES = ("mail.spf.", "mail.dmarc.", "mail.tlsrpt.", "mail.mta_sts.")
DOC = Path(__file__).resolve().parents[2] / "docs" / "mail-vs-checkdmarc.md"
STS_MISSING = "mail.mta_sts.missing"  # no case but two publishes MTA-STS: both sides report it everywhere


def domain(label: str) -> str:
    return f"{label}.{PARENT}".rstrip(".")


def zone(
    label: str,
    *,
    spf: tuple[str, ...] = ("v=spf1 mx -all",),
    dmarc: str | None = "v=DMARC1; p=reject; rua=mailto:dmarc@{d}",
    tlsrpt: str | None = "v=TLSRPTv1; rua=mailto:tlsrpt@{d}",
    mx: tuple[str, ...] = ("@ MX 10 mx", f"mx A {MX_ADDRESS}"),
    extra: tuple[str, ...] = (),
) -> Zone:
    """A domain that gets everything right (SPF `mx -all`, DMARC reject with rua, TLS-RPT) but what a case changes."""
    d = domain(label)
    records = [*mx, *(f'@ TXT "{text.format(d=d)}"' for text in spf)]
    if dmarc is not None:
        records.append(f'_dmarc TXT "{dmarc.format(d=d)}"')
    if tlsrpt is not None:
        records.append(f'_smtp._tls TXT "{tlsrpt.format(d=d)}"')
    return Zone(label, signed=False, records=(*records, *(line.format(d=d) for line in extra)))


A4 = "a:mx.{d} " * 4
ALL_MISSING = frozenset({STS_MISSING})


@dataclass(frozen=True)
class Case:
    zone: Zone
    ours: frozenset[str]  # our policy keys
    peer: frozenset[str]  # checkdmarc's verdict in our keys
    difference: str = ""  # the docs section that explains the difference; "" when both agree
    peer_messages: tuple[str, ...] = ()  # its messages without a key of ours (prefixes)
    spf_all: str | None = "fail"  # its parsed `all`
    registered: str = ""  # the name scanned, when not the zone's apex

    @property
    def name(self) -> str:
        return self.registered or domain(self.zone.label)


def keys(*names: str) -> frozenset[str]:
    return frozenset({STS_MISSING, *(f"mail.{name}" for name in names)})


CASES: dict[str, Case] = {
    case.zone.label: case
    for case in (
        Case(zone("good"), ALL_MISSING, ALL_MISSING),
        Case(zone("spfmissing", spf=()), keys("spf.missing"), keys("spf.missing"), spf_all=None),
        Case(zone("spfplusall", spf=("v=spf1 +all",)), keys("spf.permissive"), ALL_MISSING, "spf-all", spf_all="pass"),
        Case(zone("spfneutral", spf=("v=spf1 mx ?all",)), keys("spf.permissive"), ALL_MISSING, "spf-all",
             spf_all="neutral"),
        Case(zone("spfsoftfail", spf=("v=spf1 mx ~all",)), keys("spf.softfail"), ALL_MISSING, "spf-all",
             spf_all="softfail"),
        Case(zone("spfnoall", spf=("v=spf1 mx",)), keys("spf.permissive"), ALL_MISSING, "spf-all", spf_all="neutral"),
        # 3 includes of 4 `a:` each: 15 lookups
        Case(zone("spflookups", spf=("v=spf1 include:_i0.{d} include:_i1.{d} include:_i2.{d} -all",),
                  extra=tuple(f'_i{i} TXT "v=spf1 {A4}-all"' for i in range(3))),
             keys("spf.too_many_lookups"), keys("spf.too_many_lookups")),
        Case(zone("spfsyntax", spf=("v=spf1 ip4:192.0.2.300 -all",)), keys("spf.invalid"), keys("spf.invalid"),
             spf_all=None),
        Case(zone("spftwo", spf=("v=spf1 -all", "v=spf1 mx -all")), keys("spf.invalid"), keys("spf.invalid"),
             spf_all=None),
        Case(zone("spfloop", spf=("v=spf1 include:_loop.{d} -all",), extra=('_loop TXT "v=spf1 include:{d} -all"',)),
             keys("spf.invalid"), keys("spf.invalid"), spf_all=None),
        Case(zone("spfvoid", spf=("v=spf1 a:n1.{d} a:n2.{d} a:n3.{d} -all",)), keys("spf.invalid"),
             keys("spf.invalid"), spf_all=None),
        Case(zone("spfnoinclude", spf=("v=spf1 include:_none.{d} -all",), extra=('_none TXT "not spf"',)),
             keys("spf.invalid"), ALL_MISSING, "spf-include",
             peer_messages=("spf: Error when processing _none.spfnoinclude.dnssec.test: An SPF record does not",)),
        Case(zone("spfredirect", spf=("v=spf1 redirect=_spf.{d}",), extra=('_spf TXT "v=spf1 mx:{d} ~all"',)),
             keys("spf.softfail"), ALL_MISSING, "spf-all", spf_all="softfail"),
        Case(zone("dmarcmissing", dmarc=None), keys("dmarc.missing"), keys("dmarc.missing")),
        Case(zone("dmarctwo", extra=('_dmarc TXT "v=DMARC1; p=none"',)), keys("dmarc.invalid"), keys("dmarc.invalid")),
        Case(zone("dmarcbadp", dmarc="v=DMARC1; p=block; rua=mailto:dmarc@{d}"), keys("dmarc.invalid"),
             keys("dmarc.invalid")),
        # the domain is sub.dmarcparent.dnssec.test; its parent publishes DMARC, the organisational domain does not
        Case(zone("dmarcparent", tlsrpt=None,
                  extra=("sub MX 10 mx", 'sub TXT "v=spf1 mx -all"',
                         '_smtp._tls.sub TXT "v=TLSRPTv1; rua=mailto:tlsrpt@sub.{d}"')),
             keys("dmarc.missing"), ALL_MISSING, "dmarc-discovery", registered=f"sub.{domain('dmarcparent')}"),
        Case(zone("dmarcnone", dmarc="v=DMARC1; p=none; rua=mailto:dmarc@{d}"), keys("dmarc.policy_none"),
             keys("dmarc.policy_none")),
        Case(zone("dmarcbadtag", dmarc="v=DMARC1; p=reject; adkim=x; rua=mailto:dmarc@{d}"), keys("dmarc.invalid"),
             ALL_MISSING, "dmarc-bad-value"),
        Case(zone("dmarcpct", dmarc="v=DMARC1; p=reject; pct=50; rua=mailto:dmarc@{d}"), keys("dmarc.partial"),
             ALL_MISSING, "dmarc-pct", peer_messages=("dmarc: Support for the pct tag was removed in RFC 9989",)),
        Case(zone("dmarcnorua", dmarc="v=DMARC1; p=reject"), keys("dmarc.no_rua"), keys("dmarc.no_rua")),
        Case(zone("nullmx", mx=("@ MX 0 .",), spf=("v=spf1 -all",), dmarc=f"v=DMARC1; p=reject; rua=mailto:dmarc@"
                  f"{domain('good')}"),
             frozenset(), ALL_MISSING, "null-mx"),
        Case(zone("nomx", mx=(f"@ A {MX_ADDRESS}",)), ALL_MISSING, ALL_MISSING, "no-mx",
             peer_messages=("spf: Error when processing nomx.dnssec.test: An mx mechanism points to",
                            "dmarc: The domain for rua email address dmarc@nomx.dnssec.test has no MX records")),
        Case(zone("tlsrptmissing", tlsrpt=None), keys("tlsrpt.missing"), keys("tlsrpt.missing")),
        Case(zone("tlsrptinvalid", tlsrpt="v=TLSRPTv1; rua=ftp://reports.example"), keys("tlsrpt.invalid"),
             keys("tlsrpt.invalid")),
        Case(zone("stsinvalid", extra=('_mta-sts TXT "v=STSv1; id=not-an-id!"',)), frozenset({"mail.mta_sts.invalid"}),
             frozenset({"mail.mta_sts.invalid"})),
        # a valid TXT record, no policy host: checkdmarc fetches https://mta-sts.<domain>/ (the name does not resolve)
        Case(zone("stsnopolicy", extra=('_mta-sts TXT "v=STSv1; id=20261204"',)),
             frozenset({"mail.mta_sts.invalid"}), frozenset({"mail.mta_sts.invalid"})),
    )
}  # fmt: skip

# the second lab: `_dmarc.dnssec.test` (the organisational domain of every lab domain, as `test` is no public
# suffix) says p=reject but sp=none; orgsub.dnssec.test has none of its own
ORG_RECORD = "v=DMARC1; p=reject; sp=none; rua=mailto:dmarc@orgsub.dnssec.test"
ORG_CASE = Case(zone("orgsub", dmarc=None), keys("dmarc.policy_none"), keys("dmarc.policy_none"))
ORG_ZONES = (ORG_CASE.zone, Zone("_dmarc", signed=False, records=(f'@ TXT "{ORG_RECORD}"',)))
ALL_CASES = {**CASES, "orgsub": ORG_CASE}


def our_keys(resolver: tuple[str, int], names: list[str]) -> dict[str, frozenset[str]]:
    """Our verdict per name: the product, `posture scan NAME --checks mail --json` with POSTURE_DNS_SERVERS set to
    the same resolver, four scans at a time; the DNS-policy keys of its observations."""
    env = posture_env("sqlite+aiosqlite:///unused.db", POSTURE_DNS_SERVERS=json.dumps([f"{resolver[0]}:{resolver[1]}"]))

    def scan(name: str) -> frozenset[str]:
        argv = [*POSTURE, "scan", name, "--checks", "mail", "--json"]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert done.returncode in (EXIT_CLEAN, EXIT_FINDINGS), done.stderr
        (result,) = json.loads(done.stdout)["results"]
        assert result["status"] == "ok", result["error"]
        return frozenset(o["key"] for o in result["observations"] if o["key"].startswith(POLICY_PREFIXES))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(names, pool.map(scan, names), strict=True))


@dataclass(frozen=True)
class Compared:
    ours: dict[str, frozenset[str]]
    peer: dict[str, PeerVerdict]
    run: PeerRun


async def _compare(zones: tuple[Zone, ...], cases: list[Case]) -> Compared:
    with dns_lab(zones) as lab:
        resolver = lab.start_resolver(port=53)
        names = [case.name for case in cases]
        run = run_checkdmarc(names, resolver)
        ours = await asyncio.to_thread(our_keys, resolver, names)
    return Compared(ours, {name: peer_verdict(result) for name, result in run.results.items()}, run)


@pytest.fixture(scope="module")
def compared() -> Iterator[dict[str, tuple[frozenset[str], PeerVerdict, PeerRun]]]:
    main = asyncio.run(_compare(tuple(case.zone for case in CASES.values()), list(CASES.values())))
    org = asyncio.run(_compare(ORG_ZONES, [ORG_CASE]))
    table = {}
    for label, case in ALL_CASES.items():
        side = org if case is ORG_CASE else main
        table[label] = (side.ours[case.name], side.peer[case.name], side.run)
    yield table


def test_checkdmarc_never_left_loopback(compared: dict[str, tuple[frozenset[str], PeerVerdict, PeerRun]]) -> None:
    for _, _, run in compared.values():
        assert run.blocked == ()


def test_the_guard_refuses_an_address_beyond_loopback() -> None:
    # --nameserver names a documentation address: each question is refused before it is sent, and logged; the
    # system resolver (/etc/resolv.conf in checkdmarc's mount namespace) is a loopback address where nothing listens
    run = run_checkdmarc([domain("good")], ("127.0.0.99", 53), nameserver="192.0.2.53", timeout_s=0.5)
    assert run.blocked and all("192.0.2.53" in line for line in run.blocked), run.blocked


@pytest.mark.parametrize("label", list(ALL_CASES))
def test_agreement_table(label: str, compared: dict[str, tuple[frozenset[str], PeerVerdict, PeerRun]]) -> None:
    case = ALL_CASES[label]
    ours, peer, _ = compared[label]
    assert ours == case.ours, f"our verdict on {label} changed"
    assert peer.keys == case.peer, f"checkdmarc's verdict on {label} changed"
    assert len(peer.messages) == len(case.peer_messages), peer.messages
    for message, expected in zip(peer.messages, case.peer_messages, strict=True):
        assert message.startswith(expected), peer.messages
    assert peer.spf_all == case.spf_all
    agree = ours == peer.keys and not peer.messages
    assert agree == (case.difference == ""), f"{label}: agreement is {agree}, the table says {case.difference!r}"


def test_every_difference_is_explained_in_the_docs() -> None:
    text = DOC.read_text()
    agreeing = sum(1 for case in ALL_CASES.values() if not case.difference)
    assert f"{agreeing} of {len(ALL_CASES)} cases agree" in text
    for label, case in ALL_CASES.items():
        assert f"`{label}`" in text, f"{label} is not in the table of {DOC.name}"
        if case.difference:
            assert f'<a id="{case.difference}"></a>' in text, f"{case.difference} is not explained in {DOC.name}"


def test_discovery_found_the_parent_record_where_rfc_9989_looks(
    compared: dict[str, tuple[frozenset[str], PeerVerdict, PeerRun]],
) -> None:
    assert compared["dmarcparent"][1].dmarc_location == domain("dmarcparent")
    assert compared["orgsub"][1].dmarc_location == PARENT.rstrip(".")
