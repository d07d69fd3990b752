"""The mail check's DNS-policy building blocks (issue #22): parsers with RFC examples and edge cases, the SPF walk
against a fake resolver for the counting rules, and every lookup against the DNS lab (knotd + unbound on loopback).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping

import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from checks.mail import findings
from checks.mail.dmarc import PublicSuffixList, bundled_psl, is_dmarc, lookup_dmarc, parse_dmarc
from checks.mail.evaluate import evaluate_dmarc, evaluate_mta_sts, evaluate_policy, evaluate_spf, untested
from checks.mail.lookup import DnsLookup, LookupFailed
from checks.mail.models import MAX_TEXT, DmarcFacts, MailPolicyFacts, SpfFacts
from checks.mail.mtasts import lookup_sts_txt, mx_matches, parse_policy, parse_sts_txt, policy_covers
from checks.mail.policy import gather_policy, lookup_mx
from checks.mail.spf import is_spf, lookup_spf, parse_spf, select_spf
from checks.mail.tlsrpt import is_tlsrpt, lookup_tlsrpt, parse_tlsrpt
from checks.shared.dnsquery import ResolverClient
from monitor.models import Observation, Severity
from tests.dns_lab import PARENT, DnsLab, Zone, dns_lab

# --- a fake resolver for the counting rules ---------------------------------------------------------------


class FakeAsker:
    """Answers from a table {(name, type): [rdata text]}; a name absent from the table is NXDOMAIN."""

    def __init__(self, records: Mapping[tuple[str, str], list[str]], fail: frozenset[str] = frozenset()) -> None:
        self.records = {(name.lower().rstrip("."), rdtype): values for (name, rdtype), values in records.items()}
        self.names = {name for name, _ in self.records}
        self.fail = fail
        self.asked: list[tuple[str, str]] = []

    async def ask(self, name: dns.name.Name, rdtype: dns.rdatatype.RdataType, *, cd: bool) -> dns.message.Message:
        text = name.to_text().lower().rstrip(".")
        kind = dns.rdatatype.to_text(rdtype)
        self.asked.append((text, kind))
        reply = dns.message.make_response(dns.message.make_query(name, rdtype))
        if text in self.fail:
            reply.set_rcode(dns.rcode.SERVFAIL)
        elif text not in self.names:
            reply.set_rcode(dns.rcode.NXDOMAIN)
        elif (text, kind) in self.records:
            reply.answer.append(dns.rrset.from_text_list(name, 300, "IN", kind, self.records[(text, kind)]))
        return reply


def txt(*values: str) -> list[str]:
    return [f'"{value}"' for value in values]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def keys(observations: list[Observation]) -> set[str]:
    return {o.key for o in observations}


def spf_of(records: Mapping[tuple[str, str], list[str]], domain: str = "example.org") -> SpfFacts:
    return run(lookup_spf(domain, DnsLookup(FakeAsker(records))))


# --- SPF: record selection and term syntax ----------------------------------------------------------------


def test_spf_selection_takes_exactly_one_v_spf1_record() -> None:
    assert is_spf("v=spf1") and is_spf("V=SPF1 -all") and not is_spf("v=spf10 -all") and not is_spf("v=spf1-all")
    found, problem = select_spf(["google-site-verification=x", "v=spf1 -all"])
    assert found == ["v=spf1 -all"] and problem is None
    found, problem = select_spf(["v=spf1 -all", "v=spf1 mx -all"])
    assert len(found) == 2 and problem is not None and problem.kind == "several_records"


@pytest.mark.parametrize(
    "record",
    [
        "v=spf1 +mx a:colo.example.com/28 -all",  # RFC 7208 appendix A
        "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.123 a -all",
        "v=spf1 ip6:2001:db8::/32 ip6:2001:db8::1 ~all",
        "v=spf1 a/24//64 mx:example.org/24 mx//64 ?all",
        "v=spf1 include:_spf.example.com exists:%{ir}.%{l1r+-}._spf.%{d} -all",  # macros are legal
        "v=spf1 ptr ptr:example.org redirect=_spf.example.com exp=explain._spf.%{d}",
        "v=spf1 mx  -all",  # several spaces
        "v=spf1 foo=bar -all",  # unknown modifiers are ignored (§6)
    ],
)
def test_spf_valid_terms_parse_without_problems(record: str) -> None:
    assert parse_spf(record).problems == []


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("v=spf1 ip4:192.0.2.300 -all", "ip4: bad address"),
        ("v=spf1 ip4:192.0.2.0/33 -all", "ip4: bad prefix length"),
        ("v=spf1 ip6:192.0.2.1 -all", "ip6: bad address"),
        ("v=spf1 include -all", "include needs a domain"),
        ("v=spf1 include:nodot -all", "include needs a domain"),
        ("v=spf1 all:example.org", "all takes no value"),
        ("v=spf1 mx:example.org/40 -all", "mx: bad prefix length"),
        ("v=spf1 exists:%{z}.example.org -all", "exists needs a domain"),  # not a macro letter
        ("v=spf1 redirect=a.example redirect=b.example", "redirect appears twice"),
        ("v=spf1 ipv4:192.0.2.1 -all", "unknown mechanism"),
        ("v=spf1 exists:%{c}.example.org -all", "exists needs a domain"),  # c: exp only
        ("v=spf1 *all", "unknown mechanism"),
    ],
)
def test_spf_syntax_errors_are_named(record: str, why: str) -> None:
    problems = parse_spf(record).problems
    assert problems and why in problems[0].detail, problems


def test_spf_terms_after_all_are_never_reached_and_redirect_beside_all_is_ignored() -> None:
    parsed = parse_spf("v=spf1 mx -all include:late.example redirect=other.example")
    assert [t.name for t in parsed.reached()] == ["mx", "all"]
    facts = spf_of({("example.org", "TXT"): txt("v=spf1 mx -all include:late.example redirect=other.example")})
    assert facts.lookups == 1 and facts.all_qualifier == "-" and facts.problems == ()


# --- SPF: the walk (fake resolver) ------------------------------------------------------------------------


def test_spf_counts_through_includes_and_redirect_and_finds_the_effective_all() -> None:
    facts = spf_of(
        {
            ("example.org", "TXT"): txt("v=spf1 a include:one.example redirect=two.example"),
            ("example.org", "A"): ["192.0.2.1"],
            ("one.example", "TXT"): txt("v=spf1 mx ptr ?all"),  # an include's `all` is not the domain's
            ("one.example", "MX"): ["10 mx.one.example."],
            ("two.example", "TXT"): txt("v=spf1 exists:%{i}.two.example ~all"),
        }
    )
    # a, include, mx, ptr, redirect, exists
    assert facts.lookups == 6 and facts.unexpanded == 1
    assert facts.all_qualifier == "~" and facts.all_from == "two.example"
    assert keys(evaluate_spf(facts)) == {"mail.spf.softfail"}


def test_spf_more_than_ten_lookups_is_counted_across_includes() -> None:
    records = {("example.org", "TXT"): txt("v=spf1 " + " ".join(f"include:i{n}.example" for n in range(4)) + " -all")}
    for n in range(4):
        records[(f"i{n}.example", "TXT")] = txt("v=spf1 ip4:192.0.2.1 ptr exists:%{i}.x.example -all")
    facts = spf_of(records)
    assert facts.lookups == 12 and not facts.lookups_capped
    observed = evaluate_spf(facts)
    assert keys(observed) == {"mail.spf.too_many_lookups"}
    assert observed[0].detail["count"] == 12


def test_spf_include_loop_and_self_redirect_are_detected() -> None:
    loop = spf_of(
        {
            ("example.org", "TXT"): txt("v=spf1 include:a.example -all"),
            ("a.example", "TXT"): txt("v=spf1 include:example.org -all"),
        }
    )
    assert [p.kind for p in loop.problems] == ["loop"]
    assert "example.org → a.example → example.org" in loop.problems[0].detail
    itself = spf_of({("example.org", "TXT"): txt("v=spf1 redirect=example.org")})
    assert [p.kind for p in itself.problems] == ["loop"]
    assert keys(evaluate_spf(itself)) == {"mail.spf.invalid"}


def test_spf_recursion_is_bounded_by_the_follow_limit() -> None:
    records = {(f"c{n}.example", "TXT"): txt(f"v=spf1 include:c{n + 1}.example -all") for n in range(60)}
    facts = spf_of(records, "c0.example")
    assert facts.lookups_capped and facts.lookups > 10
    observed = evaluate_spf(facts)
    assert keys(observed) == {"mail.spf.too_many_lookups"} and observed[0].detail["at_least"] is True


def test_spf_include_of_a_domain_without_spf_and_void_lookups_are_permerrors() -> None:
    facts = spf_of(
        {
            ("example.org", "TXT"): txt("v=spf1 include:nospf.example a:gone1.example mx:gone2.example -all"),
            ("nospf.example", "TXT"): txt("not spf"),
        }
    )
    kinds = [p.kind for p in facts.problems]
    assert kinds == ["include_without_spf"] and facts.void_lookups == 2  # gone1 (A, AAAA), gone2 (MX)
    three = spf_of(
        {("example.org", "TXT"): txt("v=spf1 a:gone1.example a:gone2.example mx:gone3.example ip4:192.0.2.1 -all")}
    )
    assert three.void_lookups == 3 and [p.kind for p in three.problems] == ["void_lookups"]
    asker = FakeAsker({("example.org", "TXT"): txt("v=spf1 exists:gone.example -all")})
    assert run(lookup_spf("example.org", DnsLookup(asker))).void_lookups == 1
    assert ("gone.example", "AAAA") not in asker.asked and ("gone.example", "A") in asker.asked
    observed = evaluate_spf(three)
    assert keys(observed) == {"mail.spf.invalid"} and observed[0].detail["which"] == ["void_lookups"]


def test_spf_permissive_forms_and_missing() -> None:
    for record, mechanism in (("v=spf1 +all", "+all"), ("v=spf1 mx ?all", "?all"), ("v=spf1 mx", "no all")):
        facts = spf_of({("example.org", "TXT"): txt(record), ("example.org", "MX"): ["10 mx.example.org."]})
        observed = evaluate_spf(facts)
        assert keys(observed) == {"mail.spf.permissive"}, record
        assert str(observed[0].detail["mechanism"]).startswith(mechanism)
        assert observed[0].severity == Severity.HIGH
    chain = spf_of({("example.org", "TXT"): txt("v=spf1 redirect=r.example"), ("r.example", "TXT"): txt("v=spf1 a")})
    assert evaluate_spf(chain)[0].detail["mechanism"] == "no all at the end of the redirect chain"
    assert keys(evaluate_spf(spf_of({("example.org", "TXT"): txt("hello")}))) == {"mail.spf.missing"}
    assert evaluate_spf(spf_of({("example.org", "TXT"): txt("v=spf1 -all")})) == []


def test_spf_several_records_and_temporary_errors() -> None:
    several = spf_of({("example.org", "TXT"): txt("v=spf1 -all", "v=spf1 +all")})
    assert keys(evaluate_spf(several)) == {"mail.spf.invalid"}
    failed = run(lookup_spf("example.org", DnsLookup(FakeAsker({}, fail=frozenset({"example.org"})))))
    assert failed.status == "unknown" and evaluate_spf(failed) == []


def test_the_query_budget_stops_a_run_and_turns_it_into_unknown() -> None:
    records = {(f"c{n}.example", "TXT"): txt(f"v=spf1 include:c{n + 1}.example -all") for n in range(60)}
    lookup = DnsLookup(FakeAsker(records), budget=5)
    facts = run(lookup_spf("c0.example", lookup))
    assert facts.status == "unknown" and "budget" in facts.error and lookup.queries == 5


def test_attacker_strings_are_capped_in_the_facts() -> None:
    long = "v=spf1 " + "ip4:192.0.2.1 " * 200 + "-all"
    facts = SpfFacts(status="found", domain="example.org", record=long, records=(long,) * 50)
    assert len(facts.record) == MAX_TEXT and len(facts.records) == 20
    assert SpfFacts.model_validate_json(facts.model_dump_json()) == facts


# --- DMARC ------------------------------------------------------------------------------------------------


def test_dmarc_rfc_examples_parse() -> None:
    # RFC 7489 appendix B.2.1, B.2.3 and B.2.4
    tags, problems = parse_dmarc("v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com")
    assert problems == [] and tags is not None and tags.p == "none"
    assert tags.rua == ("mailto:dmarc-feedback@example.com",)
    tags, _ = parse_dmarc(
        "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; "
        "ruf=mailto:auth-reports@thirdparty.example.net; pct=25; sp=reject; adkim=s; aspf=r; fo=0:d; ri=3600"
    )
    assert tags is not None and tags.pct == 25 and tags.sp == "reject" and tags.fo == "0:d" and len(tags.rua) == 2
    assert is_dmarc("v=DMARC1;p=reject") and not is_dmarc("v=DMARC10; p=reject") and not is_dmarc("p=reject; v=DMARC1")


@pytest.mark.parametrize(
    ("record", "tag", "void"),
    [
        ("v=DMARC1", "p", True),
        ("v=DMARC1; p=maybe", "p", True),
        ("p=reject; v=DMARC1", "v", True),
        ("v=DMARC1; p=reject; p=none", "p", True),
        # RFC 7489 §6.3: errors in the remainder are discarded in favour of the defaults; the policy applies
        ("v=DMARC1; p=reject; sp=never", "sp", False),
        ("v=DMARC1; p=reject; pct=150", "pct", False),
        ("v=DMARC1; p=reject; pct=-1", "pct", False),
        ("v=DMARC1; p=reject; rua=dmarc@example.org", "rua", False),
        ("v=DMARC1; p=reject; adkim=x", "adkim", False),
        ("v=DMARC1; p=reject; fo=2", "fo", False),
        ("v=DMARC1; p=reject; ri=soon", "ri", False),
        ("v=DMARC1; p=reject; p reject", "syntax", False),
    ],
)
def test_dmarc_syntax_errors_name_the_tag(record: str, tag: str, void: bool) -> None:
    tags, problems = parse_dmarc(record)
    assert tag in [p.kind for p in problems], problems
    assert (tags is None) is void
    if not void:
        assert tags is not None and tags.p == "reject" and tags.adkim == "r" and tags.pct in (100,)


def test_dmarc_unknown_tags_are_ignored_and_trailing_semicolon_is_fine() -> None:
    tags, problems = parse_dmarc("v=DMARC1; p=reject; np=reject; psd=n;")
    assert problems == [] and tags is not None and tags.p == "reject"


def test_dmarc_judgements() -> None:
    def facts(record: str, found_at: str = "example.org") -> DmarcFacts:
        tags, problems = parse_dmarc(record)
        return DmarcFacts(
            status="found", domain="example.org", found_at=found_at, record=record, tags=tags, problems=tuple(problems)
        )

    assert keys(evaluate_dmarc(facts("v=DMARC1; p=reject; rua=mailto:d@example.org"))) == set()
    assert keys(evaluate_dmarc(facts("v=DMARC1; p=none; rua=mailto:d@example.org"))) == {"mail.dmarc.policy_none"}
    partial = evaluate_dmarc(facts("v=DMARC1; p=reject; pct=50; rua=mailto:d@example.org"))
    assert keys(partial) == {"mail.dmarc.partial"} and partial[0].detail["pct"] == 50
    bad_optional = {o.key: o for o in evaluate_dmarc(facts("v=DMARC1; p=none; adkim=x"))}
    assert bad_optional["mail.dmarc.invalid"].severity == Severity.LOW  # the policy still applies (§6.3)
    assert bad_optional["mail.dmarc.invalid"].detail["tag"] == "adkim" and "mail.dmarc.policy_none" in bad_optional
    void = evaluate_dmarc(facts("v=DMARC1; p=maybe"))
    assert keys(void) == {"mail.dmarc.invalid"} and void[0].severity == Severity.MEDIUM
    no_rua = evaluate_dmarc(facts("v=DMARC1; p=quarantine"))
    assert keys(no_rua) == {"mail.dmarc.no_rua"} and no_rua[0].severity == Severity.INFO
    invalid = evaluate_dmarc(facts("v=DMARC1; p=reject; pct=101; rua=mailto:d@example.org"))
    assert keys(invalid) == {"mail.dmarc.invalid"} and invalid[0].detail["tag"] == "pct"  # pct 100 applies
    # inherited from the organisational domain: its sp applies to the subdomain
    inherited = evaluate_dmarc(facts("v=DMARC1; p=reject; sp=none; rua=mailto:d@example.org", found_at="org.example"))
    assert keys(inherited) == {"mail.dmarc.policy_none"}
    assert keys(evaluate_dmarc(DmarcFacts(status="missing", domain="example.org"))) == {"mail.dmarc.missing"}


# --- the Public Suffix List -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "organisational"),
    [
        ("example.com", "example.com"),
        ("www.example.com", "example.com"),
        ("a.b.example.com", "example.com"),
        ("mail.stadt-beispiel.de", "stadt-beispiel.de"),
        ("example.co.uk", "example.co.uk"),
        ("www.example.co.uk", "example.co.uk"),
        ("com", None),
        ("co.uk", None),
        ("c.kobe.jp", None),  # *.kobe.jp
        ("b.c.kobe.jp", "b.c.kobe.jp"),
        ("a.b.c.kobe.jp", "b.c.kobe.jp"),
        ("city.kobe.jp", "city.kobe.jp"),  # !city.kobe.jp
        ("www.city.kobe.jp", "city.kobe.jp"),
        ("example.unknowntld", "example.unknowntld"),  # the implicit rule "*"
        ("WWW.Example.COM.", "example.com"),
        ("www.beispiel.xn--55qx5d.cn", "beispiel.xn--55qx5d.cn"),  # the list's 公司.cn, as DNS spells it
        ("xn--55qx5d.cn", None),
    ],
)
def test_organisational_domain_with_the_bundled_list(name: str, organisational: str | None) -> None:
    # the cases of the list's own test file (publicsuffix/list tests/test_psl.txt)
    assert bundled_psl().organisational_domain(name) == organisational


def test_a_suffix_list_can_be_passed_in() -> None:
    psl = PublicSuffixList("// a lab's list\ntest\ndnssec.test\n*.wild.test\n!ok.wild.test\n")
    assert psl.organisational_domain("sub.org.dnssec.test") == "org.dnssec.test"
    assert psl.organisational_domain("dnssec.test") is None
    assert psl.organisational_domain("a.b.wild.test") == "a.b.wild.test"
    assert psl.organisational_domain("x.ok.wild.test") == "ok.wild.test"


def test_the_list_ships_in_the_package_data() -> None:
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["checks"]
    assert "mail/*.dat" in data and (root / "checks" / "mail" / "public_suffix_list.dat").exists()


# --- TLS-RPT and MTA-STS ----------------------------------------------------------------------------------


def test_tlsrpt_records() -> None:
    # RFC 8460 §3 examples
    assert parse_tlsrpt("v=TLSRPTv1;rua=mailto:reports@example.com") == (("mailto:reports@example.com",), [])
    rua, problems = parse_tlsrpt("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt")
    assert problems == [] and rua == ("https://reporting.example.com/v1/tlsrpt",)
    rua, problems = parse_tlsrpt("v=TLSRPTv1; rua=mailto:a@example.com, https://r.example.com/x;")
    assert problems == [] and len(rua) == 2
    assert [p.kind for p in parse_tlsrpt("v=TLSRPTv1")[1]] == ["rua"]
    assert [p.kind for p in parse_tlsrpt("v=TLSRPTv1; rua=ftp://example.com")[1]] == ["rua"]
    assert [p.kind for p in parse_tlsrpt("v=TLSRPTv1; rua=http://example.com/r")[1]] == ["rua"]
    assert is_tlsrpt("v=TLSRPTv1;rua=mailto:x@example.com") and not is_tlsrpt("v=tlsrptv1; rua=mailto:x@example.com")


def test_mta_sts_txt_records() -> None:
    assert parse_sts_txt("v=STSv1; id=20160831085700Z;") == ("20160831085700Z", [])  # RFC 8461 §3.1
    assert [p.kind for p in parse_sts_txt("v=STSv1;")[1]] == ["id"]
    assert [p.kind for p in parse_sts_txt("v=STSv1; id=has-dash")[1]] == ["id"]
    assert [p.kind for p in parse_sts_txt("v=STSv1; id=" + "a" * 33)[1]] == ["id"]


def test_mta_sts_policy_parser() -> None:
    # RFC 8461 §3.2 example
    policy = parse_policy(
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
        "mx: backupmx.example.com\r\nmax_age: 604800\r\n"
    )
    assert policy.problems == () and policy.mode == "enforce" and policy.max_age == 604800
    assert policy.mx == ("mail.example.com", "*.example.net", "backupmx.example.com")
    assert parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n").problems == ()  # LF, mode none without mx
    broken = parse_policy("version: STSv2\nmode: strict\nmax_age: 99999999999\nmx: *.*.example.net\nfoo bar\n")
    assert {p.kind for p in broken.problems} == {"version", "mode", "max_age", "mx", "syntax"}
    assert [p.kind for p in parse_policy("version: STSv1\nmode: testing\nmax_age: 1\n").problems] == ["mx"]
    asker = FakeAsker({("_mta-sts.example.org", "TXT"): txt("v=STSv1; id=1")})
    sts = run(lookup_sts_txt("example.org", DnsLookup(asker)))
    assert sts.id == "1" and evaluate_mta_sts(sts, "example.org") == []
    assert evaluate_mta_sts(sts, "example.org", broken)[0].detail["part"] == "policy"


@pytest.mark.parametrize(
    ("pattern", "host", "matches"),
    [
        ("mail.example.com", "mail.example.com", True),
        ("mail.example.com", "MAIL.example.com.", True),
        ("*.example.net", "mx1.example.net", True),
        ("*.example.net", "example.net", False),  # §4.1: the wildcard is one whole label
        ("*.example.net", "a.b.example.net", False),
        ("*.example.net", "mx1.example.net.evil", False),
        ("mail.example.com", "mail2.example.com", False),
    ],
)
def test_mx_pattern_matching(pattern: str, host: str, matches: bool) -> None:
    assert mx_matches(pattern, host) is matches


def test_policy_covers_a_host() -> None:
    policy = parse_policy("version: STSv1\nmode: enforce\nmx: *.example.net\nmax_age: 86400\n")
    assert policy_covers(policy, "mx.example.net") and not policy_covers(policy, "mx.example.org")


# --- the catalogue ----------------------------------------------------------------------------------------


def test_every_finding_has_german_texts_and_a_mail_key() -> None:
    assert len({spec.key for spec in findings.POLICY_FINDINGS}) == len(findings.POLICY_FINDINGS) == 16
    for spec in findings.POLICY_FINDINGS:
        assert spec.key.startswith("mail.") and spec.de is not None and spec.remediation and spec.de.remediation
        assert "Sie" in spec.de.remediation + spec.de.meaning, spec.key


# --- against the DNS lab ----------------------------------------------------------------------------------

D = PARENT.rstrip(".")
LAB_PSL = PublicSuffixList(f"test\n{D}\n")  # the lab's zones behave as registrable domains below dnssec.test
ZONES = (
    Zone(
        "m",
        records=(
            "@ MX 10 mx1",
            "mx1 A 127.0.0.31",
            f'@ TXT "v=spf1 mx include:spf-a.{D} -all"',
            '@ TXT "google-site-verification=abc"',
            f'_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@m.{D}"',
            f'_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls@m.{D}"',
            '_mta-sts TXT "v=STSv1; id=20261204"',
        ),
    ),
    Zone("spf-a", records=(f'@ TXT "v=spf1 ip4:192.0.2.0/24 include:spf-b.{D} ~all"',)),
    Zone("spf-b", records=('@ TXT "v=spf1 a mx -all"', "@ A 127.0.0.32", "@ MX 10 @")),
    Zone("loop1", records=(f'@ TXT "v=spf1 include:loop2.{D} -all"',)),
    Zone("loop2", records=(f'@ TXT "v=spf1 include:loop1.{D} -all"',)),
    Zone("many", records=(f'@ TXT "v=spf1 include:spf-a.{D} include:spf-a.{D} include:spf-a.{D} -all"',)),
    Zone("void", records=(f'@ TXT "v=spf1 a:nx1.void.{D} a:nx2.void.{D} mx:nx3.void.{D} -all"',)),
    Zone("redir", records=(f'@ TXT "v=spf1 redirect=spf-a.{D}"',)),
    Zone("noinc", records=(f'@ TXT "v=spf1 include:org.{D} -all"',)),
    Zone("nullmx", records=("@ MX 0 .", '@ TXT "v=spf1 -all"', '_dmarc TXT "v=DMARC1; p=reject"')),
    Zone("amx", records=("@ A 127.0.0.33", "@ AAAA ::1", '@ TXT "v=spf1 a -all"')),
    Zone(
        "org",
        signed=False,
        records=(f'_dmarc TXT "v=DMARC1; p=quarantine; sp=none; rua=mailto:d@org.{D}"', "sub A 127.0.0.34"),
    ),
    Zone(
        "bad",
        records=(
            '@ TXT "v=spf1 +all"',
            '@ TXT "v=spf1" " -all"',
            '_dmarc TXT "v=DMARC1; p=maybe"',
            '_smtp._tls TXT "v=TLSRPTv1; rua=ftp://x.example"',
            '_mta-sts TXT "v=STSv1; id=has-dash"',
        ),
    ),
    Zone("split", records=('@ TXT "v=spf1 ip4:192.0.2.1" " -all"',)),
)


@pytest.fixture(scope="module")
def lab() -> Iterator[DnsLab]:
    with dns_lab(ZONES) as running:
        yield running


async def ask_lab(lab: DnsLab, label: str, what):  # type: ignore[no-untyped-def]
    address, port = lab.resolver
    async with ResolverClient(address, port, 2.0) as client:
        lookup = DnsLookup(client)
        return await what(lab.domain(label).rstrip("."), lookup), lookup


async def test_lab_a_complete_domain(lab: DnsLab) -> None:
    facts, lookup = await ask_lab(lab, "m", lambda d, lk: gather_policy(d, lk, LAB_PSL))
    assert facts.mx.status == "mx" and [h.host for h in facts.mx.hosts] == [f"mx1.m.{D}"]
    # mx, include:spf-a, include:spf-b, a, mx
    assert facts.spf.lookups == 5 and facts.spf.all_qualifier == "-" and facts.spf.problems == ()
    assert facts.dmarc.found_at == f"m.{D}" and facts.dmarc.tags is not None and facts.dmarc.tags.p == "reject"
    assert facts.tlsrpt.rua == (f"mailto:tls@m.{D}",) and facts.mta_sts.id == "20261204"
    assert evaluate_policy(facts) == [] and untested(facts) == () and facts.queries == lookup.queries
    assert MailPolicyFacts.model_validate_json(facts.model_dump_json()) == facts


async def test_lab_spf_counting_loop_and_void_lookups(lab: DnsLab) -> None:
    many, _ = await ask_lab(lab, "many", lookup_spf)
    assert many.lookups == 12 and keys(evaluate_spf(many)) == {"mail.spf.too_many_lookups"}
    loop, _ = await ask_lab(lab, "loop1", lookup_spf)
    assert [p.kind for p in loop.problems] == ["loop"]
    void, _ = await ask_lab(lab, "void", lookup_spf)
    assert void.void_lookups == 3 and "void_lookups" in [p.kind for p in void.problems]
    noinc, _ = await ask_lab(lab, "noinc", lookup_spf)
    assert [p.kind for p in noinc.problems] == ["include_without_spf"]
    redir, _ = await ask_lab(lab, "redir", lookup_spf)
    assert redir.all_qualifier == "~" and redir.all_from == f"spf-a.{D}"
    assert keys(evaluate_spf(redir)) == {"mail.spf.softfail"}
    split, _ = await ask_lab(lab, "split", lookup_spf)
    assert split.record == "v=spf1 ip4:192.0.2.1 -all" and evaluate_spf(split) == []


async def test_lab_dmarc_at_the_domain_and_at_the_organisational_domain(lab: DnsLab) -> None:
    at_org, _ = await ask_lab(lab, "org", lambda d, lk: lookup_dmarc(f"sub.{d}", lk, LAB_PSL))
    assert at_org.queried == (f"_dmarc.sub.org.{D}", f"_dmarc.org.{D}") and at_org.found_at == f"org.{D}"
    assert keys(evaluate_dmarc(at_org)) == {"mail.dmarc.policy_none"}  # sp=none applies to the subdomain
    itself, _ = await ask_lab(lab, "org", lambda d, lk: lookup_dmarc(d, lk, LAB_PSL))
    assert itself.queried == (f"_dmarc.org.{D}",) and evaluate_dmarc(itself) == []
    # with the real list, dnssec.test's organisational domain is dnssec.test itself (".test" is no public suffix
    # there; the implicit rule "*" makes "test" one): the fallback asks _dmarc.dnssec.test, which has none
    real, _ = await ask_lab(lab, "spf-a", lambda d, lk: lookup_dmarc(d, lk))
    assert real.queried == (f"_dmarc.spf-a.{D}", f"_dmarc.{D}") and real.status == "missing"


async def test_lab_null_mx_and_the_address_fallback(lab: DnsLab) -> None:
    null, _ = await ask_lab(lab, "nullmx", lambda d, lk: gather_policy(d, lk, LAB_PSL))
    assert null.mx.status == "null" and not null.mx.receives_mail
    # no TLS-RPT and no MTA-STS expected; DMARC is still judged (no rua)
    assert keys(evaluate_policy(null)) == {"mail.dmarc.no_rua"}
    lone_dot = DnsLookup(FakeAsker({("example.org", "MX"): ["10 ."]}))
    assert (await lookup_mx("example.org", lone_dot)).status == "null"
    beside = DnsLookup(FakeAsker({("example.org", "MX"): ["0 .", "10 mx.example.org."]}))
    assert [h.host for h in (await lookup_mx("example.org", beside)).hosts] == ["mx.example.org"]
    fallback, _ = await ask_lab(lab, "amx", lookup_mx)
    assert fallback.status == "none" and set(fallback.fallback) == {"127.0.0.33", "::1"}
    policy, _ = await ask_lab(lab, "amx", lambda d, lk: gather_policy(d, lk, LAB_PSL))
    assert {"mail.tlsrpt.missing", "mail.mta_sts.missing", "mail.dmarc.missing"} <= keys(evaluate_policy(policy))


async def test_lab_broken_records(lab: DnsLab) -> None:
    facts, _ = await ask_lab(lab, "bad", lambda d, lk: gather_policy(d, lk, LAB_PSL))
    observed = {o.key: o for o in evaluate_policy(facts)}
    assert set(observed) == {"mail.spf.invalid", "mail.dmarc.invalid", "mail.tlsrpt.invalid", "mail.mta_sts.invalid"}
    assert observed["mail.spf.invalid"].detail["which"] == ["several_records"]
    assert observed["mail.dmarc.invalid"].detail["tag"] == "p"
    tlsrpt, _ = await ask_lab(lab, "bad", lookup_tlsrpt)
    assert tlsrpt.status == "found" and tlsrpt.rua == ()


async def test_lab_resolver_failure_is_unknown_not_missing(lab: DnsLab) -> None:
    async with ResolverClient("127.0.0.1", 9, 0.5) as client:  # nothing listens on the discard port
        lookup = DnsLookup(client)
        facts = await gather_policy(lab.domain("m"), lookup, LAB_PSL)
    assert {facts.spf.status, facts.dmarc.status, facts.tlsrpt.status, facts.mta_sts.status} == {"unknown"}
    assert facts.mx.status == "unknown" and evaluate_policy(facts) == []
    assert set(untested(facts)) == {"mail.spf.*", "mail.dmarc.*", "mail.tlsrpt.*", "mail.mta_sts.*"}
    with pytest.raises(LookupFailed):
        async with ResolverClient("127.0.0.1", 9, 0.5) as client:
            await DnsLookup(client).txt("x.dnssec.test")
