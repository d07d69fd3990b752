"""The DNSSEC check's judgement on hand-built facts: pure, offline, time passed in.

Stored details are judged again later without a query: as `ctx.now` moves on, the same facts turn into
`signature_expiring` and then `signature_expired`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dns.edns
import dns.message
import dns.rcode
import pytest
from pydantic import ValidationError

from checks.base import CheckContext
from checks.dnssec import DnssecCheck, DnssecConfig, DnssecDetails
from checks.dnssec.models import DenialFact, DnskeyFact, DsFact, EdeFact, SignatureFact, Unanswered
from checks.dnssec.survey import _most_specific
from monitor.models import Observation, Severity

CHECK = DnssecCheck()
CONFIG = DnssecConfig()
SIGNED_AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
EXPIRES = SIGNED_AT + dt.timedelta(days=30)
SETS = ("SOA", "NS", "DNSKEY", "A", "AAAA", "MX")


def signatures(expiration: dt.datetime = EXPIRES, *, key_tag: int = 4711, algorithm: int = 13) -> tuple:
    return tuple(
        SignatureFact(rrtype=rrtype, key_tag=key_tag, algorithm=algorithm, inception=SIGNED_AT, expiration=expiration)
        for rrtype in SETS
    )


def secure(**changes: Any) -> DnssecDetails:
    facts: dict[str, Any] = {
        "domain": "stadt.example",
        "resolver": "192.0.2.53:53",
        "verdict": "secure",
        "parent": "example",
        "ds": (DsFact(key_tag=4711, algorithm=13, digest_type=2, matches_key=4711),),
        "dnskeys": (DnskeyFact(key_tag=4711, algorithm=13, flags=257, signs_dnskey_set=True),),
        "signatures": signatures(),
        "denial": DenialFact(kind="nsec"),
    }
    facts.update(changes)
    return DnssecDetails(**facts)


def judge(details: DnssecDetails, now: dt.datetime, cfg: DnssecConfig = CONFIG) -> list[Observation]:
    return CHECK.evaluate(details, cfg, CheckContext(now=now))


def keys(found: list[Observation]) -> set[str]:
    return {o.key for o in found}


def only(found: list[Observation], key: str) -> Observation:
    [match] = [o for o in found if o.key == key]
    return match


def test_a_secure_zone_far_from_expiry_has_no_findings() -> None:
    assert judge(secure(), SIGNED_AT + dt.timedelta(days=1)) == []


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [
        (8, None),
        (7, Severity.LOW),
        (4, Severity.LOW),
        (3.5, Severity.MEDIUM),
        (2.5, Severity.MEDIUM),
        (2, Severity.HIGH),
    ],
)
def test_stored_details_judged_later_warn_more_as_expiry_nears(days_left: float, expected: Severity | None) -> None:
    found = judge(secure(), EXPIRES - dt.timedelta(days=days_left))
    if expected is None:
        assert found == []
    else:
        warning = only(found, "dns.dnssec.signature_expiring")
        assert warning.severity is expected
        assert warning.detail == {"days_left": days_left, "set": "SOA", "expiration": EXPIRES.isoformat()}


def test_stored_details_judged_after_expiry_are_expired_not_expiring() -> None:
    found = judge(secure(), EXPIRES + dt.timedelta(hours=36))
    assert keys(found) == {"dns.dnssec.signature_expired"}
    expired = only(found, "dns.dnssec.signature_expired")
    assert expired.severity is Severity.CRITICAL
    assert expired.detail == {"sets": list(SETS), "expired_at": EXPIRES.isoformat(), "days_ago": 1.5}


def test_the_ladder_follows_the_configuration() -> None:
    cfg = DnssecConfig(expiry_warning_days=14, expiry_high_days=3)
    assert only(judge(secure(), EXPIRES - dt.timedelta(days=10), cfg), "dns.dnssec.signature_expiring").severity is (
        Severity.LOW
    )
    assert only(judge(secure(), EXPIRES - dt.timedelta(days=5), cfg), "dns.dnssec.signature_expiring").severity is (
        Severity.MEDIUM
    )
    assert only(judge(secure(), EXPIRES - dt.timedelta(days=3), cfg), "dns.dnssec.signature_expiring").severity is (
        Severity.HIGH
    )


def test_a_set_stays_valid_while_one_of_its_signatures_is() -> None:
    # a key rollover: the old key's signatures run out first, the new key's carry the sets
    both = signatures(SIGNED_AT + dt.timedelta(days=3), key_tag=1) + signatures(EXPIRES, key_tag=2)
    assert judge(secure(signatures=both), SIGNED_AT + dt.timedelta(days=10)) == []


def test_the_earliest_set_is_named_and_exported() -> None:
    early = tuple(
        sig.model_copy(update={"expiration": SIGNED_AT + dt.timedelta(days=5)}) if sig.rrtype == "MX" else sig
        for sig in signatures()
    )
    details = secure(signatures=early)
    warning = only(judge(details, SIGNED_AT), "dns.dnssec.signature_expiring")
    assert warning.detail["set"] == "MX"
    samples = {s.name: s.value for s in CHECK.metrics(details, SIGNED_AT)}
    assert (
        samples["posture_dnssec_signature_expiry_timestamp_seconds"] == (SIGNED_AT + dt.timedelta(days=5)).timestamp()
    )
    assert samples["posture_dnssec_secure"] == 1.0


def test_signatures_from_the_future_are_not_yet_valid() -> None:
    found = judge(secure(verdict="bogus", bogus_sets=("SOA",)), SIGNED_AT - dt.timedelta(hours=2))
    assert keys(found) == {"dns.dnssec.bogus", "dns.dnssec.signature_not_yet_valid"}
    assert only(found, "dns.dnssec.bogus").detail["causes"] == ["dns.dnssec.signature_not_yet_valid"]


def test_a_ds_that_matches_no_key_is_a_mismatch_and_the_cause_of_bogus() -> None:
    stale = secure(
        verdict="bogus",
        bogus_sets=("DNSKEY", "SOA"),
        ede=EdeFact(code=9, text="no keys have a DS"),
        ds=(DsFact(key_tag=1111, algorithm=13, digest_type=2, matches_key=None),),
    )
    found = judge(stale, SIGNED_AT)
    assert keys(found) == {"dns.dnssec.bogus", "dns.dnssec.ds_mismatch"}
    bogus = only(found, "dns.dnssec.bogus")
    assert bogus.severity is Severity.CRITICAL
    assert bogus.detail["ede_code"] == 9 and bogus.detail["ede_name"] == "DNSKEY Missing"
    assert bogus.detail["ede_text"] == "no keys have a DS"
    assert bogus.detail["causes"] == ["dns.dnssec.ds_mismatch"]
    assert bogus.detail["diagnosis"] == ["DS 1111/13 (key tag/algorithm) matches none of the zone's keys 4711/13"]


def test_an_expiring_signature_is_a_warning_next_to_bogus_not_its_cause() -> None:
    stale = secure(verdict="bogus", bogus_sets=("SOA",), ds=(DsFact(key_tag=1, algorithm=13, digest_type=2),))
    found = judge(stale, EXPIRES - dt.timedelta(days=3))
    assert keys(found) == {"dns.dnssec.bogus", "dns.dnssec.ds_mismatch", "dns.dnssec.signature_expiring"}
    assert only(found, "dns.dnssec.bogus").detail["causes"] == ["dns.dnssec.ds_mismatch"]


def test_a_ds_of_a_key_that_does_not_sign_the_key_set_is_a_mismatch_too() -> None:
    keys_ = (
        DnskeyFact(key_tag=4711, algorithm=13, flags=257, signs_dnskey_set=False),
        DnskeyFact(key_tag=815, algorithm=13, flags=256, signs_dnskey_set=True),
    )
    found = judge(secure(dnskeys=keys_), SIGNED_AT)
    assert "does not sign the zone's key set" in only(found, "dns.dnssec.ds_mismatch").detail["reason"]


def test_a_ds_at_the_parent_of_a_zone_without_keys_is_a_mismatch() -> None:
    found = judge(secure(verdict="bogus", bogus_sets=("SOA",), dnskeys=(), signatures=()), SIGNED_AT)
    assert "the zone publishes no DNSKEY at all" in only(found, "dns.dnssec.ds_mismatch").detail["reason"]


def test_a_ds_of_a_digest_type_the_monitor_cannot_compute_is_no_mismatch() -> None:
    gost = (DsFact(key_tag=4711, algorithm=13, digest_type=3, matches_key=None, digest_supported=False),)
    assert judge(secure(ds=gost), SIGNED_AT) == []


def test_a_bogus_verdict_without_a_found_cause_still_is_bogus_with_the_resolvers_reason() -> None:
    found = judge(secure(verdict="bogus", bogus_sets=("SOA",), ede=EdeFact(code=6, text="")), SIGNED_AT)
    assert keys(found) == {"dns.dnssec.bogus"}
    detail = only(found, "dns.dnssec.bogus").detail
    assert detail["reason"] == "resolver 192.0.2.53:53 answers SERVFAIL for SOA (Extended DNS Error 6, DNSSEC Bogus)"
    assert detail["causes"] == []


def test_signatures_by_a_key_the_zone_does_not_publish_are_named_in_the_diagnosis() -> None:
    orphaned = tuple(s.model_copy(update={"crypto": "no_key", "key_tag": 999}) for s in signatures() if s.rrtype == "A")
    rest = tuple(s for s in signatures() if s.rrtype != "A")
    found = judge(secure(verdict="bogus", bogus_sets=("A",), signatures=rest + orphaned), SIGNED_AT)
    assert only(found, "dns.dnssec.bogus").detail["diagnosis"] == [
        "the signatures of A name key 999, which the zone does not publish"
    ]


def test_signatures_are_not_judged_without_a_chain_of_trust() -> None:
    # signed, but no DS: validators ignore the signatures, so their times are no finding (only the missing DS is)
    unsigned = secure(verdict="insecure", ds=(), validating_ancestor="example")
    found = judge(unsigned, EXPIRES + dt.timedelta(days=1))
    assert keys(found) == {"dns.dnssec.unsigned"}
    assert only(found, "dns.dnssec.unsigned").detail["zone_signed"] is True


def test_an_unsigned_zone_under_an_unvalidated_parent_says_so() -> None:
    island = secure(verdict="insecure", parent="kreis.example", validating_ancestor="example")
    reason = only(judge(island, SIGNED_AT), "dns.dnssec.unsigned").detail["reason"]
    assert reason == (
        "kreis.example publishes DS records, but is not validated itself (the closest validated zone is example)"
    )


@pytest.mark.parametrize(
    ("number", "name"), [(1, "RSAMD5"), (3, "DSA"), (5, "RSASHA1"), (7, "RSASHA1-NSEC3-SHA1"), (12, "ECC-GOST")]
)
def test_algorithms_that_must_not_sign_are_weak(number: int, name: str) -> None:
    old = secure(
        dnskeys=(DnskeyFact(key_tag=4711, algorithm=number, flags=257, signs_dnskey_set=True),),
        ds=(DsFact(key_tag=4711, algorithm=number, digest_type=2, matches_key=4711),),
        signatures=signatures(algorithm=number),
    )
    weak = only(judge(old, SIGNED_AT), "dns.dnssec.weak_algorithm")
    assert weak.severity is Severity.MEDIUM
    assert weak.detail == {"algorithms": [{"name": name, "number": number}], "resolver_verdict": "secure"}


@pytest.mark.parametrize("number", [8, 10, 13, 14, 15, 16])
def test_recommended_algorithms_are_not_weak(number: int) -> None:
    current = secure(dnskeys=(DnskeyFact(key_tag=4711, algorithm=number, flags=257, signs_dnskey_set=True),))
    assert "dns.dnssec.weak_algorithm" not in keys(judge(current, SIGNED_AT))


@pytest.mark.parametrize(
    ("iterations", "expected"), [(0, None), (1, Severity.LOW), (100, Severity.LOW), (101, Severity.MEDIUM)]
)
def test_nsec3_iterations_above_zero_are_a_finding(iterations: int, expected: Severity | None) -> None:
    found = judge(secure(denial=DenialFact(kind="nsec3", iterations=iterations, salt="")), SIGNED_AT)
    if expected is None:
        assert found == []
    else:
        assert only(found, "dns.dnssec.nsec3_iterations").severity is expected


def test_unanswered_questions_name_the_untested_keys() -> None:
    partial = secure(unanswered=(Unanswered(question="NSEC3PARAM", reason="no answer"),))
    assert CHECK.untested(partial) == ("dns.dnssec.nsec3_iterations",)
    no_ds = secure(unanswered=(Unanswered(question="DS", reason="no answer"),))
    assert set(CHECK.untested(no_ds)) >= {"dns.dnssec.unsigned", "dns.dnssec.ds_mismatch"}
    no_keys = secure(dnskeys=(), unanswered=(Unanswered(question="DNSKEY", reason="no answer"),))
    assert "dns.dnssec.ds_mismatch" in CHECK.untested(no_keys)
    assert "dns.dnssec.ds_mismatch" not in keys(judge(no_keys, SIGNED_AT))  # no keys read is no mismatch found
    assert CHECK.untested(secure()) == ()


def test_details_survive_the_store_as_json() -> None:
    details = secure(ede=EdeFact(code=7, text="signature expired"), unanswered=(Unanswered(question="MX", reason="x"),))
    assert DnssecDetails.model_validate_json(details.model_dump_json()) == details


def test_the_resolvers_text_is_capped_data() -> None:
    with pytest.raises(ValidationError):
        EdeFact(code=6, text="x" * 301)


def _reply(*options: tuple[int, str]) -> dns.message.Message:
    query = dns.message.make_query("stadt.example.", "SOA", use_edns=0)
    reply = dns.message.make_response(query)
    reply.set_rcode(dns.rcode.SERVFAIL)
    reply.use_edns(0, options=[dns.edns.EDEOption(code, text) for code, text in options])
    return reply


def test_the_most_specific_extended_error_is_kept_and_its_text_made_harmless() -> None:
    generic = _reply((6, "bogus"))
    specific = _reply((9, "no keys \x1b[31mmatch\x00" + "y" * 400))
    chosen = _most_specific([generic, specific, _reply((0, "other"))])
    assert chosen is not None and chosen.code == 9
    assert "\x1b" not in chosen.text and "\x00" not in chosen.text
    assert len(chosen.text) == 300 and chosen.text.endswith("…")
    assert _most_specific([_reply()]) is None


def test_the_configuration_is_strict() -> None:
    with pytest.raises(ValidationError):
        DnssecConfig.model_validate({"expiry_warning_days": 7, "typo": 1})
    with pytest.raises(ValidationError, match="expiry_high_days"):
        DnssecConfig(expiry_warning_days=3, expiry_high_days=5)
