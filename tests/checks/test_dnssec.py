"""The DNSSEC check against real servers on loopback: knotd serves signed zones below `dnssec.test.`, unbound
validates with a trust anchor for the parent (tests/dns_lab.py).

Given a zone built with one property (signed well, stale DS, expired signatures, SHA-1, ...), when the check runs
through the runner against the validating resolver, then the resolver's verdict and exactly the expected finding keys
appear; a resolver that does not validate, refuses, is absent or stays silent is never judged as the domain's fault.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Iterator

import dns.message
import dns.rdatatype
import pytest

from checks.base import DNS_NAMESERVERS, CheckContext
from checks.dnssec import DnssecCheck, DnssecConfig, DnssecDetails
from monitor.models import DOMAIN_PORT, CheckResult, CheckStatus, Severity, Target
from monitor.runner import execute
from tests.dns_lab import DnsLab, Zone, dns_lab, utc_now

CHECK = DnssecCheck()
CONFIG = DnssecConfig(query_timeout_s=2.0)
NOW = utc_now()
DAY = dt.timedelta(days=1)
ZONES = (
    Zone("good"),
    Zone("nsec3", nsec3=(0, "")),
    Zone("nsec3-salted", nsec3=(10, "abcd")),
    Zone("plain", signed=False),
    Zone("no-ds", ds="none"),
    Zone("stale-ds", ds="other"),
    Zone("expired", inception=NOW - 30 * DAY, expiration=NOW - DAY),
    Zone("future", inception=NOW + 3 * DAY, expiration=NOW + 30 * DAY),
    Zone("two-days", expiration=NOW + 2 * DAY),
    Zone("three-days", expiration=NOW + 3 * DAY),
    Zone("six-days", expiration=NOW + 6 * DAY),
    Zone("sha1", algorithm="RSASHA1"),
    Zone("sha1-nsec3", algorithm="RSASHA1-NSEC3-SHA1", nsec3=(0, "")),
    Zone("tampered", tampered=("SOA",)),
    Zone("rsa", algorithm="RSASHA256"),
)


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    with dns_lab(ZONES) as running:
        yield running


def context(*resolvers: tuple[str, int]) -> CheckContext:
    return CheckContext(resources={DNS_NAMESERVERS: resolvers})


async def check(lab: DnsLab, label: str, *resolvers: tuple[str, int], cfg: DnssecConfig = CONFIG) -> CheckResult:
    ctx = context(*(resolvers or (lab.resolver,)))
    return await execute(CHECK, Target(lab.domain(label), DOMAIN_PORT, endpoint_id=1), cfg, ctx)


def keys(result: CheckResult) -> set[str]:
    return {o.key for o in result.observations}


def finding(result: CheckResult, key: str) -> dict[str, object]:
    found = next(o for o in result.observations if o.key == key)
    return dict(found.detail)


def severity(result: CheckResult, key: str) -> Severity:
    return next(o.severity for o in result.observations if o.key == key)


def details(result: CheckResult) -> DnssecDetails:
    assert result.status is CheckStatus.OK, result.error
    assert isinstance(result.details, DnssecDetails)
    return result.details


# --- the resolver says secure ------------------------------------------------------------------------------------


async def test_a_well_signed_nsec_zone_is_secure_without_findings(lab: DnsLab) -> None:
    result = await check(lab, "good")
    facts = details(result)
    assert result.observations == ()
    assert result.untested == ()
    assert facts.verdict == "secure"
    assert facts.resolver == f"{lab.resolver[0]}:{lab.resolver[1]}"
    assert facts.parent == "dnssec.test"
    assert facts.denial is not None and facts.denial.kind == "nsec"
    [ds] = facts.ds
    [key] = facts.dnskeys
    assert (ds.matches_key, ds.algorithm, ds.digest_type) == (key.key_tag, 13, 2)
    assert key.sep and key.signs_dnskey_set and key.algorithm == 13
    assert {sig.rrtype for sig in facts.signatures} == {"SOA", "NS", "DNSKEY", "A", "AAAA", "MX"}
    assert all(sig.key_tag == key.key_tag for sig in facts.signatures)
    assert facts.ede is None and facts.bogus_sets == ()


async def test_a_secure_domain_exports_its_state_and_earliest_signature_expiry(lab: DnsLab) -> None:
    facts = details(await check(lab, "two-days"))
    samples = {sample.name: sample.value for sample in CHECK.metrics(facts, NOW)}
    earliest = min(sig.expiration for sig in facts.signatures)
    assert samples == {
        "posture_dnssec_secure": 1.0,
        "posture_dnssec_signature_expiry_timestamp_seconds": earliest.timestamp(),
    }


async def test_an_nsec3_zone_records_iterations_and_salt(lab: DnsLab) -> None:
    plain = await check(lab, "nsec3")
    assert plain.observations == ()
    assert details(plain).denial is not None
    assert details(plain).denial.model_dump() == {"kind": "nsec3", "iterations": 0, "salt": ""}
    salted = await check(lab, "nsec3-salted")
    assert keys(salted) == {"dns.dnssec.nsec3_iterations"}
    assert finding(salted, "dns.dnssec.nsec3_iterations") == {"iterations": 10, "salt": "abcd"}
    assert severity(salted, "dns.dnssec.nsec3_iterations") is Severity.LOW


async def test_rsasha256_is_no_weak_algorithm(lab: DnsLab) -> None:
    result = await check(lab, "rsa")
    assert details(result).verdict == "secure" and result.observations == ()


@pytest.mark.parametrize(("label", "number", "name"), [("sha1", 5, "RSASHA1"), ("sha1-nsec3", 7, "RSASHA1-NSEC3-SHA1")])
async def test_sha1_signed_zones_still_validate_but_are_weak(lab: DnsLab, label: str, number: int, name: str) -> None:
    # Debian 12's OpenSSL 3.0 still verifies SHA-1 signatures for unbound 1.17 (no crypto policy forbids them), so
    # the resolver says secure and only the check's own reading of the algorithms finds the weakness. Where a crypto
    # policy disables SHA-1 (RHEL 9), unbound treats such zones as insecure instead: then `unsigned` appears too.
    result = await check(lab, label)
    assert details(result).verdict == "secure"
    assert keys(result) == {"dns.dnssec.weak_algorithm"}
    assert finding(result, "dns.dnssec.weak_algorithm") == {
        "algorithms": [{"name": name, "number": number}],
        "resolver_verdict": "secure",
    }


@pytest.mark.parametrize(
    ("label", "days", "expected"),
    [("two-days", 2, Severity.HIGH), ("three-days", 3, Severity.MEDIUM), ("six-days", 6, Severity.LOW)],
)
async def test_expiring_signatures_rise_in_severity_as_the_date_nears(
    lab: DnsLab, label: str, days: int, expected: Severity
) -> None:
    result = await check(lab, label)
    assert keys(result) == {"dns.dnssec.signature_expiring"}
    assert severity(result, "dns.dnssec.signature_expiring") is expected
    detail = finding(result, "dns.dnssec.signature_expiring")
    assert detail["set"] == "SOA"  # every set expires at the same second; SOA is named first
    assert detail["days_left"] == pytest.approx(days, abs=0.1)


# --- the resolver says insecure -----------------------------------------------------------------------------------


async def test_an_unsigned_delegation_is_unsigned_and_nothing_else(lab: DnsLab) -> None:
    result = await check(lab, "plain")
    facts = details(result)
    assert facts.verdict == "insecure" and facts.validating_ancestor == "dnssec.test"
    assert keys(result) == {"dns.dnssec.unsigned"}
    assert severity(result, "dns.dnssec.unsigned") is Severity.MEDIUM
    detail = finding(result, "dns.dnssec.unsigned")
    assert detail["zone_signed"] is False
    assert "publishes no DS record" in str(detail["reason"])
    samples = {sample.name: sample.value for sample in CHECK.metrics(facts, NOW)}
    assert samples == {"posture_dnssec_secure": 0.0}  # no signatures: no expiry


async def test_a_signed_zone_without_ds_is_unsigned_and_says_only_the_ds_is_missing(lab: DnsLab) -> None:
    result = await check(lab, "no-ds")
    assert keys(result) == {"dns.dnssec.unsigned"}
    detail = finding(result, "dns.dnssec.unsigned")
    assert detail["zone_signed"] is True
    assert "only the DS record is missing" in str(detail["reason"])


# --- the resolver says bogus --------------------------------------------------------------------------------------


async def test_a_stale_ds_is_bogus_with_the_resolvers_reason_and_the_mismatch(lab: DnsLab) -> None:
    result = await check(lab, "stale-ds")
    facts = details(result)
    assert facts.verdict == "bogus"
    assert keys(result) == {"dns.dnssec.bogus", "dns.dnssec.ds_mismatch"}
    assert severity(result, "dns.dnssec.bogus") is Severity.CRITICAL
    bogus = finding(result, "dns.dnssec.bogus")
    assert bogus["ede_code"] == 9 and bogus["ede_name"] == "DNSKEY Missing"
    assert "no keys have a DS" in str(bogus["ede_text"])
    assert bogus["causes"] == ["dns.dnssec.ds_mismatch"]
    assert "matches none of the zone's keys" in str(bogus["diagnosis"])
    [ds] = facts.ds
    assert ds.matches_key is None and ds.digest_supported


async def test_from_the_resolvers_cache_the_reason_is_generic_but_the_diagnosis_still_names_the_cause(
    lab: DnsLab,
) -> None:
    fresh = lab.start_resolver()
    codes = []
    for _ in range(3):
        result = await check(lab, "stale-ds", fresh)
        assert keys(result) == {"dns.dnssec.bogus", "dns.dnssec.ds_mismatch"}
        assert finding(result, "dns.dnssec.bogus")["causes"] == ["dns.dnssec.ds_mismatch"]
        codes.append(finding(result, "dns.dnssec.bogus")["ede_code"])
    # the first answers name the cause (9, DNSKEY Missing); while unbound keeps the failure in its cache (val-bogus-ttl)
    # it may answer every question, DNSKEY too, with the generic 6 (DNSSEC Bogus) and no text
    assert codes[0] == 9 and set(codes) <= {9, 6}


async def test_expired_signatures_are_bogus_and_signature_expired(lab: DnsLab) -> None:
    result = await check(lab, "expired")
    assert keys(result) == {"dns.dnssec.bogus", "dns.dnssec.signature_expired"}
    assert finding(result, "dns.dnssec.bogus")["ede_code"] == 7
    assert finding(result, "dns.dnssec.bogus")["causes"] == ["dns.dnssec.signature_expired"]
    expired = finding(result, "dns.dnssec.signature_expired")
    assert expired["sets"] == ["SOA", "NS", "DNSKEY", "A", "AAAA", "MX"]
    assert expired["days_ago"] == pytest.approx(1.0, abs=0.1)
    assert severity(result, "dns.dnssec.signature_expired") is Severity.CRITICAL


async def test_signatures_from_the_future_are_bogus_and_not_yet_valid(lab: DnsLab) -> None:
    result = await check(lab, "future")
    assert keys(result) == {"dns.dnssec.bogus", "dns.dnssec.signature_not_yet_valid"}
    assert finding(result, "dns.dnssec.bogus")["ede_code"] == 8


async def test_a_tampered_signature_is_bogus_with_the_resolvers_words_even_without_a_cause(lab: DnsLab) -> None:
    result = await check(lab, "tampered")
    facts = details(result)
    assert keys(result) == {"dns.dnssec.bogus"}
    assert facts.bogus_sets == ("SOA",)  # the keys validate; only the altered set fails
    bogus = finding(result, "dns.dnssec.bogus")
    assert bogus["ede_code"] == 6 and "signature crypto failed" in str(bogus["ede_text"])
    assert bogus["causes"] == []


# --- not the domain's fault ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def non_validating(lab: DnsLab) -> tuple[str, int]:
    return lab.start_resolver(validating=False)


@pytest.mark.parametrize("label", ["good", "plain", "stale-ds"])
async def test_a_resolver_that_does_not_validate_is_our_misconfiguration(
    lab: DnsLab, non_validating: tuple[str, int], label: str
) -> None:
    result = await check(lab, label, non_validating)
    assert result.status is CheckStatus.MISCONFIGURED
    assert "does not validate DNSSEC" in str(result.error)


async def test_nothing_listening_at_the_resolver_is_unreachable(lab: DnsLab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    result = await check(lab, "good", ("127.0.0.1", free))
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == f"resolver 127.0.0.1:{free} refused the query (nothing listens there)"


async def test_a_resolver_that_refuses_us_is_unreachable(lab: DnsLab) -> None:
    refusing = lab.start_resolver(refuse=True)
    result = await check(lab, "good", refusing)
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == f"resolver {refusing[0]}:{refusing[1]} refused the query (REFUSED)"


async def test_a_silent_resolver_is_unreachable_after_the_query_time_out(lab: DnsLab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        where = silent.getsockname()
        result = await check(lab, "good", where, cfg=DnssecConfig(query_timeout_s=0.3))
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == f"resolver 127.0.0.1:{where[1]} did not answer within 0.3 s"


async def test_the_next_resolver_serves_when_the_first_is_down(lab: DnsLab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()
    result = await check(lab, "good", dead, lab.resolver)
    assert details(result).verdict == "secure"


async def test_a_name_that_does_not_exist_is_unreachable(lab: DnsLab) -> None:
    result = await check(lab, "absent")
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == "the domain absent.dnssec.test does not exist (NXDOMAIN)"


async def test_a_name_inside_a_zone_is_no_zone_to_judge(lab: DnsLab) -> None:
    result = await check(lab, "www.good")
    assert result.status is CheckStatus.MISCONFIGURED
    assert "not a zone apex (it lies in the zone good.dnssec.test)" in str(result.error)


async def test_an_endpoint_is_no_domain(lab: DnsLab) -> None:
    result = await execute(CHECK, Target(lab.domain("good"), 443), CONFIG, context(lab.resolver))
    assert result.status is CheckStatus.MISCONFIGURED


# --- one question unanswered: the run is incomplete, never "resolved" -------------------------------------------


class _Proxy(asyncio.DatagramProtocol):
    """Forwards DNS over UDP to the resolver and counts the questions; never answers those of the types in `drop`."""

    def __init__(self, upstream: tuple[str, int], drop: set[dns.rdatatype.RdataType]) -> None:
        self.upstream = upstream
        self.drop = drop
        self.transport: asyncio.DatagramTransport | None = None
        self.clients: dict[int, tuple[str, int]] = {}
        self.questions: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.upstream:
            client = self.clients.pop(int.from_bytes(data[:2], "big"), None)
            if client is not None:
                self.transport.sendto(data, client)
            return
        question = dns.message.from_wire(data).question[0]
        self.questions.append(f"{question.name} {dns.rdatatype.to_text(question.rdtype)}")
        if question.rdtype in self.drop:
            return
        self.clients[int.from_bytes(data[:2], "big")] = addr
        self.transport.sendto(data, self.upstream)


async def proxy(lab: DnsLab, drop: set[dns.rdatatype.RdataType]) -> tuple[asyncio.DatagramTransport, _Proxy]:
    loop = asyncio.get_running_loop()
    return await loop.create_datagram_endpoint(lambda: _Proxy(lab.resolver, drop), local_addr=("127.0.0.1", 0))


async def test_an_unanswered_question_leaves_its_findings_untested(lab: DnsLab) -> None:
    transport, _ = await proxy(lab, {dns.rdatatype.AAAA})
    where = transport.get_extra_info("sockname")
    try:
        result = await check(lab, "good", where, cfg=DnssecConfig(query_timeout_s=0.3))
    finally:
        transport.close()
    facts = details(result)
    assert facts.verdict == "secure"
    assert [(entry.question, entry.reason) for entry in facts.unanswered] == [
        ("AAAA", f"resolver 127.0.0.1:{where[1]} did not answer within 0.3 s")
    ]
    untested = set(result.untested)
    assert {"dns.dnssec.bogus", "dns.dnssec.signature_expired", "dns.dnssec.signature_expiring"} <= untested
    assert "dns.dnssec.unsigned" not in untested


async def test_no_answer_for_any_of_the_zones_own_records_is_unreachable_not_insecure(lab: DnsLab) -> None:
    own = {dns.rdatatype.DNSKEY, dns.rdatatype.SOA, dns.rdatatype.NS, dns.rdatatype.A, dns.rdatatype.AAAA}
    transport, _ = await proxy(lab, own | {dns.rdatatype.MX})
    where = transport.get_extra_info("sockname")
    try:
        result = await check(lab, "good", where, cfg=DnssecConfig(query_timeout_s=0.3))
    finally:
        transport.close()
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == (
        f"no answer for the records of good.dnssec.test: resolver 127.0.0.1:{where[1]} did not answer within 0.3 s"
    )


@pytest.mark.parametrize(("label", "asked"), [("good", 8), ("plain", 9), ("stale-ds", 14)])
async def test_questions_per_run(lab: DnsLab, label: str, asked: int) -> None:
    """Eight questions for a signed or bogus-free domain; one more to prove the resolver validates when the domain is
    insecure; the failed sets again with checking disabled when it is bogus."""
    transport, counter = await proxy(lab, set())
    try:
        await check(lab, label, transport.get_extra_info("sockname"))
    finally:
        transport.close()
    assert len(counter.questions) == asked, counter.questions
