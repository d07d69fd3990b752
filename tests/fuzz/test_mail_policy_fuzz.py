"""Fuzzing the mail policy parsers: every TXT record and policy file is written by the domain's owner.

Properties: no parser raises on any text; what a parser returns fits the stored facts models (capped, valid); a
record built from valid terms parses without problems; the organisational domain is a suffix of the name.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from checks.mail.dmarc import bundled_psl, parse_dmarc
from checks.mail.models import DmarcFacts, MtaStsTxtFacts, Problem, SpfFacts, TlsRptFacts
from checks.mail.mtasts import mx_matches, parse_policy, parse_sts_txt
from checks.mail.spf import parse_spf
from checks.mail.tlsrpt import parse_tlsrpt
from tests.fuzz.budget import budget

prefixes = st.sampled_from(["", "v=spf1 ", "v=DMARC1; ", "v=TLSRPTv1; ", "v=STSv1; ", "version: STSv1\n"])
pieces = st.sampled_from(
    ["include:", "a", "mx", "ptr", "ip4:", "ip6:", "exists:", "all", "redirect=", "exp=", "%{d}", "%{ir}", "%%",
     "/24", "//64", ":", ";", "=", " ", "\t", "\r\n", "p=", "rua=", "mailto:", "https://", ",", "!", "*.", ".",
     "mode:", "mx:", "max_age:", "id=", "é", "\x00", "example.org", "192.0.2.1", "2001:db8::1"]
)  # fmt: skip
texts = st.tuples(prefixes, st.lists(pieces | st.text(max_size=8), max_size=30)).map(lambda t: t[0] + "".join(t[1]))


@budget(4.0)
@given(texts)
def test_no_parser_raises_and_results_fit_the_models(text: str) -> None:
    spf = parse_spf(text)
    SpfFacts(status="found", domain="example.org", record=text, problems=tuple(spf.problems))
    tags, problems = parse_dmarc(text)
    DmarcFacts(status="found", domain="example.org", record=text, tags=tags, problems=tuple(problems))
    rua, problems = parse_tlsrpt(text)
    TlsRptFacts(status="found", record=text, rua=rua, problems=tuple(problems))
    ident, problems = parse_sts_txt(text)
    MtaStsTxtFacts(status="found", record=text, id=ident, problems=tuple(problems))
    policy = parse_policy(text)
    assert all(isinstance(p, Problem) for p in policy.problems)
    assert isinstance(mx_matches(text, text), bool)


labels = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?\Z")
tlds = st.sampled_from(["de", "com", "co.uk", "kobe.jp", "city.kobe.jp", "ck", "www.ck", "test", "xn--55qx5d.cn"])


@budget(4.0)
@given(st.lists(labels, max_size=4), tlds)
def test_the_organisational_domain_is_a_suffix_of_the_name_with_one_label_more(labels: list[str], tld: str) -> None:
    name = ".".join([*labels, tld])
    organisational = bundled_psl().organisational_domain(name)
    if organisational is not None:
        assert name == organisational or name.endswith("." + organisational)
        suffix = bundled_psl().public_suffix(name)
        assert organisational.count(".") == suffix.count(".") + 1


terms = st.sampled_from(
    ["a", "mx", "ptr", "ip4:192.0.2.0/24", "ip6:2001:db8::/32", "include:_spf.example.org", "a:mail.example.org/28",
     "mx//64", "exists:%{i}._spf.%{d}", "-ip4:198.51.100.1", "~a", "?mx", "foo=bar"]
)  # fmt: skip


@budget(2.0)
@given(st.lists(terms, max_size=12), st.sampled_from(["-all", "~all", "?all", "+all", "redirect=_spf.example.org"]))
def test_records_of_valid_terms_parse_without_problems(body: list[str], end: str) -> None:
    assert parse_spf(" ".join(["v=spf1", *body, end])).problems == []
