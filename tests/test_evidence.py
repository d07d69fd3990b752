"""The evidence readers see: translated labels, nested values as tables, the server's words marked and escaped.

Every detail field needs a label. Two nets catch a field without one:
* every check's `evaluate` (and the daemon's own findings) run on facts that raise every catalogue entry; each field
  of each detail they emit, nested ones included, must be in the vocabulary. This sees fields built at run time
  (the ports check copies nmap's optional fields in a loop), and a catalogue entry without a sample fails;
* the sources are parsed for detail dicts written out as literals (passed to `.observe(`, as `detail=`, assigned to
  `detail` / `evidence`, returned by a `*detail*` / `*evidence*` function): this sees a field behind a condition the
  samples do not meet.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from html.parser import HTMLParser
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import jinja2
import pytest
from sslyze.mozilla_tls_profile import tls_config_checker

from checks.base import CheckContext
from checks.dnssec import DnssecCheck, DnssecConfig, DnssecDetails
from checks.dnssec.models import DenialFact, DnskeyFact, DsFact, EdeFact, SignatureFact
from checks.mail.check import MailCheck
from checks.mail.details import MailConfig, MailDetails
from checks.patches import PatchConfig
from checks.patches.check import judge as judge_services
from checks.patches.fingerprints import from_banner
from checks.patches.snapshot import default_database
from checks.ports import OpenPort, PortsCheck, PortsConfig, PortsDetails
from checks.reachability import ReachabilityCheck, ReachabilityConfig, ReachabilityDetails
from checks.tls import TlsCheck, TlsConfig, TlsDetails
from checks.tls.models import AcceptedSuite, HttpFacts, VulnFacts
from checks.tls.profiles import MOZILLA_REQUIREMENTS, Failure, judge, load_profile
from checks.web import WebCheck, WebConfig, WebDetails
from checks.web.models import CookieFact, Fetched, HeaderFact, ResponseFacts, SecurityTxtFacts, SecurityTxtField
from checks.zonetransfer import ZoneTransferCheck, ZoneTransferConfig, ZoneTransferDetails
from checks.zonetransfer.models import TransferAttempt
from monitor.catalogue import all_specs
from monitor.evidence import FIELDS, FOR_KEY, NESTED, VALUES, Item, Pair, Table, evidence_items, field_for
from monitor.findings import Policy, reconcile
from monitor.models import CheckResult, CheckStatus
from monitor.scope_resolution import ScopeViolation
from tests.checks.test_tls_evaluate import NOW, cert, chain, details

ROOT = Path(__file__).resolve().parent.parent
BSI = "tls.compliance.bsi_tr_02102_2"
MOZILLA = "tls.compliance.mozilla_intermediate"
COMPLIANCE_COLUMNS = {f.name for f in dataclasses.fields(Failure)}  # shown as requirement/section/expected/found
HOSTILE = '<script>alert("x")</script>\x1b[2J\u202egnp.exe'  # markup, a terminal escape, a bidi override


# ------------------------------------------------------------------------------------------------ samples

Suite = AcceptedSuite


def tls_facts() -> list[TlsDetails]:
    """Three servers that together raise every TLS finding."""
    everything_wrong = details(
        certificate=chain(
            cert(
                subject=f"CN={HOSTILE}",
                not_before=NOW - timedelta(days=400),
                not_after=NOW - timedelta(days=1),
                key_type="RSA",
                key_bits=1024,
                curve=None,
                signature_algorithm="md5WithRSAEncryption",
                signature_hash="md5",
            ),
            dns_names=("other.example.test",),
            trust="self_signed",
            trust_reason="the certificate is signed by its own key and is not a trust anchor",
        ),
        suites={
            "SSLv2": (Suite(name="SSL_CK_RC4_128_WITH_MD5", bits=128),),
            "SSLv3": (Suite(name="TLS_RSA_WITH_AES_128_CBC_SHA", bits=128),),
            "TLSv1.0": (
                Suite(name="TLS_RSA_EXPORT_WITH_RC4_40_MD5", bits=40),
                Suite(name="TLS_RSA_WITH_DES_CBC_SHA", bits=56),
            ),
            "TLSv1.1": (Suite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bits=128, group="secp192r1", group_bits=192),),
            "TLSv1.2": (
                Suite(name="TLS_RSA_WITH_NULL_SHA256", bits=0),
                Suite(name="TLS_DH_anon_WITH_AES_128_CBC_SHA", bits=128),
                Suite(name="TLS_RSA_WITH_3DES_EDE_CBC_SHA", bits=168),
                Suite(name="TLS_ECDHE_RSA_WITH_RC4_128_SHA", bits=128),
                Suite(name="TLS_DHE_RSA_WITH_AES_128_CBC_SHA", bits=128, group="DH", group_bits=1024),
            ),
        },
        curves=("secp192r1",),
        vulns=VulnFacts(
            heartbleed=True,
            ccs_injection=True,
            robot="VULNERABLE_STRONG_ORACLE",
            compression=True,
            secure_renegotiation=False,
            client_renegotiation=True,
            fallback_scsv=False,
            extended_master_secret=False,
        ),
        http=HttpFacts(answered=True, hsts_present=True, hsts_max_age=60),
        mozilla_intermediate={"tls_versions": "TLS versions {'SSLv2', 'TLSv1'} are supported, but should be rejected."},
        scan_errors={"robot": "CONNECTIVITY_ISSUE"},
    )
    legacy_only = details(
        certificate=chain(
            cert(not_before=NOW + timedelta(days=1)),
            trust="untrusted_root",
            trust_reason="the chain ends in a root that is not trusted: CN=Evil Root",
        ),
        suites={"TLSv1.0": (Suite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bits=128),)},
    )
    expiring = details(
        certificate=chain(
            cert(not_after=NOW + timedelta(days=3)),
            trust="incomplete_chain",
            trust_reason="the server does not send the issuer of CN=www.example.test: CN=Example CA",
        ),
        http=HttpFacts(answered=True, hsts_present=False),
    )
    return [everything_wrong, legacy_only, expiring]


def ports_details(*ports: OpenPort) -> PortsDetails:
    return PortsDetails(address="192.0.2.7", scanned="1-65535", open_ports=ports, version_scan="done")


def dnssec_samples() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """A bogus zone with every DNSSEC weakness, and an unsigned one."""
    when = NOW - timedelta(days=20)
    expired = [
        SignatureFact(rrtype=rrtype, key_tag=4711, algorithm=5, inception=when, expiration=when + timedelta(days=19))
        for rrtype in ("SOA", "DNSKEY")
    ]
    expiring = SignatureFact(rrtype="A", key_tag=4711, algorithm=5, inception=NOW, expiration=NOW + timedelta(days=3))
    early = SignatureFact(rrtype="MX", key_tag=4711, algorithm=5, inception=NOW + timedelta(days=1), expiration=NOW)
    broken = DnssecDetails(
        domain="stadt.example",
        resolver="192.0.2.53:53",
        verdict="bogus",
        bogus_sets=("SOA",),
        ede=EdeFact(code=9, text=HOSTILE),
        parent="example",
        ds=(DsFact(key_tag=1, algorithm=5, digest_type=2),),
        dnskeys=(DnskeyFact(key_tag=4711, algorithm=5, flags=257, signs_dnskey_set=True),),
        signatures=(*expired, expiring, early),
        denial=DenialFact(kind="nsec3", iterations=10, salt="ab"),
    )
    unsigned = DnssecDetails(domain="dorf.example", resolver="192.0.2.53:53", verdict="insecure", parent="example")
    for facts in (broken, unsigned):
        yield from ((o.key, o.detail) for o in DnssecCheck().evaluate(facts, DnssecConfig(), CheckContext(now=NOW)))


def mail_samples() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Two domains with every mail weakness between them: hostile records, MX hosts of every kind."""

    def mx(name: str, **facts: Any) -> dict[str, Any]:
        starttls = {"mx": name, "address": "192.0.2.25", "offered": True, **facts.pop("starttls", {})}
        tlsa = {"mx": name, "owner": f"_25._tcp.{name}", **facts.pop("tlsa", {})}
        return {
            "mx": name,
            "preference": 10,
            "addresses": ["192.0.2.25"],
            "reach": "in_scope",
            "starttls": starttls,
            "tlsa": tlsa,
            **facts,
        }

    record = {"usage": 3, "selector": 1, "matching_type": 1, "data": "ab" * 32}
    spf = {"status": "found", "domain": "stadt.example", "record": HOSTILE, "lookups": 12, "all_qualifier": "+"}
    first = {
        "domain": "stadt.example",
        "policy": {
            "domain": "stadt.example",
            "mx": {"status": "mx", "hosts": [{"preference": 10, "host": "mx1.stadt.example"}]},
            "spf": spf,
            "dmarc": {
                "status": "found",
                "domain": "stadt.example",
                "found_at": "stadt.example",
                "record": HOSTILE,
                "tags": {"p": "none", "pct": 50},
            },
            "tlsrpt": {"status": "found", "record": HOSTILE, "problems": [{"kind": "rua", "detail": HOSTILE}]},
            "mta_sts": {"status": "found", "record": "v=STSv1; id=1", "id": "1"},
        },
        "mx": [
            mx("plain.stadt.example", starttls={"failure": "not_offered", "reason": HOSTILE, "offered": False}),
            mx("stranger.stadt.example", starttls={"upgraded": True, "trust_reason": HOSTILE}),
            mx("tarpit.stadt.example", starttls={"failure": "timeout", "reason": "no answer within 20 s"}),
            mx("unsigned.stadt.example", tlsa={"records": [record]}),
            mx(
                "bad.stadt.example",
                starttls={"upgraded": True, "trusted": True, "name_matches": True},
                tlsa={"records": [record], "secure": True},
            ),
            mx("nodane.stadt.example", tlsa={"secure": True}),
            {
                "mx": "mx.hoster.example",
                "addresses": ["198.51.100.25"],
                "reach": "third_party",
                "reach_reason": "outside the agency's scope",
            },
        ],
        "mta_sts": {
            "url": "https://mta-sts.stadt.example/.well-known/mta-sts.txt",
            "host": "mta-sts.stadt.example",
            "reach": "in_scope",
            "status": "fetched",
            "trusted": True,
            "name_matches": True,
            "content_type": "text/plain",
            "policy": {"version": "STSv1", "mode": "testing", "mx": ["mx9.stadt.example"], "max_age": 86400},
        },
    }
    invalid = {"status": "found", "domain": "dorf.example", "record": HOSTILE, "problems": [{"kind": "syntax"}]}
    second = {
        "domain": "dorf.example",
        "policy": {
            "domain": "dorf.example",
            "mx": {"status": "mx", "hosts": [{"preference": 10, "host": "mx.dorf.example"}]},
            "spf": {"status": "missing", "domain": "dorf.example"},
            "dmarc": invalid,
            "tlsrpt": {"status": "missing"},
            "mta_sts": {"status": "found", "record": HOSTILE, "problems": [{"kind": "v", "detail": HOSTILE}]},
        },
    }
    softfail = {"status": "found", "domain": "dorf.example", "record": "v=spf1 ~all", "all_qualifier": "~"}
    third = {
        **second,
        "policy": {
            **second["policy"],
            "spf": softfail,
            "dmarc": {"status": "missing", "domain": "dorf.example"},
            "mta_sts": {"status": "missing"},
        },
    }
    bad_spf = {**spf, "problems": [{"kind": "include_loop", "detail": HOSTILE}]}
    fourth = {**second, "policy": {**second["policy"], "spf": bad_spf}}
    fetch_failed = {
        "url": "https://mta-sts.dorf.example/.well-known/mta-sts.txt",
        "host": "mta-sts.dorf.example",
        "reach": "in_scope",
        "status": "failed",
        "reason": "HTTP 404",
    }
    fifth = {
        **second,
        "policy": {**second["policy"], "mta_sts": {"status": "found", "record": "v=STSv1; id=2", "id": "2"}},
        "mta_sts": fetch_failed,
    }
    for raw in (first, second, third, fourth, fifth):
        facts = MailDetails.model_validate(raw)
        yield from ((o.key, o.detail) for o in MailCheck().evaluate(facts, MailConfig(), CheckContext(now=NOW)))


def web_samples() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Sites that together raise every web finding, with hostile header values and cookie names."""

    def response(url: str, status: int = 200, headers: dict[str, str] | None = None, **kw: Any) -> ResponseFacts:
        sent = tuple(HeaderFact(name=name, value=value) for name, value in (headers or {}).items())
        return ResponseFacts(url=url, status=status, headers=sent, **kw)

    def txt(**fields: str) -> SecurityTxtFacts:
        return SecurityTxtFacts(
            url="https://www.example.test/.well-known/security.txt",
            status=200,
            content_type="text/plain",
            fields=tuple(SecurityTxtField(name=n, value=v, line=i) for i, (n, v) in enumerate(fields.items(), 1)),
        )

    bad_page = response(
        "https://www.example.test/",
        headers={
            "Content-Security-Policy": f"script-src 'unsafe-inline' {HOSTILE}; object-src *",
            "X-Frame-Options": HOSTILE,
            "X-Content-Type-Options": HOSTILE,
            "Referrer-Policy": "unsafe-url",
        },
        cookies=(CookieFact(name=HOSTILE), CookieFact(name="PHPSESSID", secure=True)),
    )
    plain = response("http://www.example.test/", headers={"Server": HOSTILE})
    offsite = response("http://www.example.test/", 301, {"Location": "https://other.example.test/"})
    sites = [
        WebDetails(host="www.example.test", https=Fetched(responses=(bad_page,)), http=Fetched(responses=(plain,)),
                   security_txt=(txt(Contact="mailto:cert@example.test", Expires="2000-01-01T00:00:00Z"),)),
        WebDetails(host="www.example.test", https=Fetched(responses=(response("https://www.example.test/"),)),
                   http=Fetched(responses=(offsite,), stopped="https://other.example.test/"),
                   security_txt=(txt(Expires=(NOW + timedelta(days=3)).isoformat()),)),
        WebDetails(
            host="www.example.test",
            https=Fetched(responses=(response("https://www.example.test/", headers={"Content-Security-Policy":
                                                                                     "img-src a; img-src b"}),)),
            security_txt=(SecurityTxtFacts(url="https://www.example.test/.well-known/security.txt", status=404),),
        ),
    ]  # fmt: skip
    for facts in sites:
        yield from ((o.key, o.detail) for o in WebCheck().evaluate(facts, WebConfig(), CheckContext(now=NOW)))


def axfr_samples() -> Iterator[tuple[str, Mapping[str, Any]]]:
    attempts = (
        TransferAttempt(ns="ns1.example.test", address="192.0.2.53", outcome="open", names=42),
        TransferAttempt(ns="ns2.example.test", address="198.51.100.53", outcome="refused", reason="REFUSED"),
    )
    details = ZoneTransferDetails(domain="example.test", servers=attempts, names=("www.example.test",))
    found = ZoneTransferCheck().evaluate(details, ZoneTransferConfig(), CheckContext(now=NOW))
    yield from ((o.key, o.detail) for o in found)


def samples() -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(finding key, detail) of what every check and the daemon emit on bad facts."""
    ctx = CheckContext(now=NOW)
    tls = TlsConfig(profiles=("bsi_tr_02102_2", "mozilla_intermediate"))
    for facts in tls_facts():
        yield from ((o.key, o.detail) for o in TlsCheck().evaluate(facts, tls, ctx))
    https = OpenPort(port=443, service="http", product="nginx", version="1.18.0", extrainfo="Ubuntu", tunnel="ssl")
    redis = OpenPort(port=6379, service="redis", product="Redis key-value store", version="7.0.0")
    previous = CheckContext(now=NOW, peer_details={"ports": ports_details(https)})
    found = PortsCheck().evaluate(ports_details(https, redis), PortsConfig(expected_ports=frozenset({443})), previous)
    yield from ((o.key, o.detail) for o in found)
    banners = [*from_banner("Server: Apache/2.4.49 (Debian)", 80), *from_banner("Server: nginx/1.4.0", 8080)]
    yield from (
        (o.key, o.detail) for o in judge_services(banners, default_database(), PatchConfig(), date(2026, 11, 27))
    )
    slow = ReachabilityDetails(connect_ms=1500.25, speaks_tls=True, unanswered=["2001:db8::7"])
    yield from ((o.key, o.detail) for o in ReachabilityCheck().evaluate(slow, ReachabilityConfig(), ctx))
    yield from dnssec_samples()
    yield from mail_samples()
    yield from web_samples()
    yield from axfr_samples()
    outside = [ip_address("203.0.113.9")]
    violation = ScopeViolation("www.example.test", outside, outside, "203.0.113.9 is outside the agency's scope")
    yield violation.observation().key, violation.observation().detail
    down = CheckResult("tls", 1, CheckStatus.UNREACHABLE, NOW, 5.0, error="no TCP connection within 5 s")
    up = CheckResult("tls", 1, CheckStatus.OK, NOW, 1.0)
    for result, failures in ((down, 2), (up, 3)):
        yield from ((e.key, e.detail) for e in reconcile({}, result, failures, Policy(), NOW).events)


# ---------------------------------------------------------------------------------------------- vocabulary


def unlabeled(key: str, detail: Mapping[str, Any]) -> set[str]:
    """The fields of `detail` the vocabulary has no label for; nested ones as `field.sub`."""
    missing = {name for name in detail if field_for(name, key) is None}
    for name, value in detail.items():
        if name == "untested":
            continue  # part → reason: its keys are data, not fields
        known = COMPLIANCE_COLUMNS if name == "failed" else NESTED.keys()
        missing |= {f"{name}.{sub}" for record in _records(value) for sub in record if sub not in known}
    return missing


def _records(value: Any) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list | tuple) else []


def test_the_unlabeled_field_check_notices_a_new_field() -> None:
    assert unlabeled("ports.unexpected", {"ports": [{"port": 22, "fw_rule": "x"}], "new_field": 1}) == {
        "new_field",
        "ports.fw_rule",
    }


def test_every_field_any_check_or_the_daemon_emits_has_a_label() -> None:
    emitted = list(samples())
    keys = {key for key, _ in emitted}
    exposures = [s.key for s in all_specs()["ports"] if s.key.startswith("ports.exposed.")]
    # every catalogue entry has a sample; the exposures share one detail builder, so two of them stand for all
    missing = [s.key for specs in all_specs().values() for s in specs if not any(s.matches(k) for k in keys)]
    assert set(missing) <= set(exposures) and {"ports.exposed.redis", "ports.exposed.https"} <= keys, missing
    assert {key: unlabeled(key, detail) for key, detail in emitted if unlabeled(key, detail)} == {}


DETAIL_NAMES = {"detail", "evidence"}


def _is_detail(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in DETAIL_NAMES


def literal_fields(tree: ast.AST) -> set[str]:
    """String keys of the detail dicts a module writes out (see the module docstring for where it looks)."""
    found: set[str] = set()

    def keys(node: ast.AST | None) -> None:
        if isinstance(node, ast.IfExp):
            keys(node.body)
            keys(node.orelse)
        elif isinstance(node, ast.Dict):
            found.update(k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name == "observe" and node.args:
                keys(node.args[0])
            for keyword in node.keywords:
                if keyword.arg == "detail":
                    keys(keyword.value)
            if name == "update" and isinstance(func, ast.Attribute) and _is_detail(func.value):
                found.update(k.arg for k in node.keywords if k.arg)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                if _is_detail(target):
                    keys(node.value)
                elif (
                    isinstance(target, ast.Subscript)
                    and _is_detail(target.value)
                    and isinstance(target.slice, ast.Constant)
                ):
                    found.add(str(target.slice.value))
        elif isinstance(node, ast.FunctionDef) and ("detail" in node.name or "evidence" in node.name):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return):
                    keys(inner.value)
    return found


def test_every_detail_field_written_in_the_sources_has_a_label() -> None:
    sources = [
        *sorted((ROOT / "checks").rglob("*.py")),
        ROOT / "monitor/findings.py",
        ROOT / "monitor/scope_resolution.py",
    ]
    written = {
        name: path.relative_to(ROOT)
        for path in sources
        for name in literal_fields(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert {
        "failures",
        "error",
        "outside_scope",
        "connect_ms",
        "confidence_reason",
        "due_date",
        "text",
    } <= written.keys()
    labelled = FIELDS.keys() | NESTED.keys() | COMPLIANCE_COLUMNS
    assert {name: str(path) for name, path in written.items() if name not in labelled} == {}


def test_every_label_and_value_is_given_in_german_and_english() -> None:
    for vocabulary in (FIELDS, NESTED, dict(enumerate(FOR_KEY.values()))):
        for name, field in vocabulary.items():
            assert field.de.strip() and field.en.strip(), name
    for name, values in VALUES.items():
        for value, (german, english) in values.items():
            assert german.strip() and english.strip(), (name, value)
    for language in ("de", "en"):
        [item] = evidence_items({"kev": True}, "patch.cve.CVE-2021-41773", language)
        assert item.note and item.value in ("ja", "yes")


def test_every_bsi_requirement_has_a_german_text() -> None:
    for requirement in load_profile().requirements:
        assert requirement.text_de.strip() and requirement.text_de != requirement.text, requirement.id
        assert TlsCheck.requirement_text(BSI, requirement.id, "de") == requirement.text_de
        assert TlsCheck.requirement_text(BSI, requirement.id, "en") == requirement.text


def test_every_mozilla_rule_sslyze_can_report_has_texts() -> None:
    tree = ast.parse(inspect.getsource(tls_config_checker))
    names = {
        target.slice.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant)
    }
    assert "tls_versions" in names
    assert names - MOZILLA_REQUIREMENTS.keys() == set()
    for name in names:
        assert TlsCheck.requirement_text(MOZILLA, name, "de") != TlsCheck.requirement_text(MOZILLA, name, "en")


# ------------------------------------------------------------------------------------------ compliance table


def compliance(key: str, language: str, facts: TlsDetails) -> Table:
    cfg = TlsConfig(profiles=("bsi_tr_02102_2", "mozilla_intermediate"))
    [observation] = [o for o in TlsCheck().evaluate(facts, cfg, CheckContext(now=NOW)) if o.key == key]
    [item] = evidence_items(observation.detail, key, language)
    assert item.kind == "table" and isinstance(item.value, Table)
    return item.value


def chacha_and_x25519() -> TlsDetails:
    """A common nginx default: Mozilla's intermediate allows ChaCha20 and X25519, the BSI TR does not."""
    chacha = Suite(name="TLS_CHACHA20_POLY1305_SHA256", bits=256, group="X25519", group_bits=253)
    good = details()
    return details(suites={**good.suites, "TLSv1.3": (*good.suites["TLSv1.3"], chacha)}, curves=("X25519", "secp256r1"))


def test_a_bsi_failure_is_a_table_of_requirement_section_expected_and_found() -> None:
    table = compliance(BSI, "de", chacha_and_x25519())
    assert [(c.label, c.server) for c in table.columns] == [
        ("Anforderung", False),
        ("Abschnitt", False),
        ("Erwartet", False),
        ("Vorgefunden", True),
    ]
    rows = {row[0]: row for row in table.rows}
    assert rows.keys() == {"suites.tls13", "groups.ec"}
    _, section, expected, found = rows["suites.tls13"]
    assert section.startswith("TR-02102-2 §3.4.4")
    assert expected.startswith("Bei TLS 1.3 sind nur TLS_AES_128_GCM_SHA256")  # the German text, from the profile
    assert found == "TLSv1.3 accepts TLS_CHACHA20_POLY1305_SHA256"
    english = {row[0]: row for row in compliance(BSI, "en", chacha_and_x25519()).rows}
    assert english["groups.ec"][2].startswith("Elliptic-curve key exchange only over secp256r1")
    assert all("{'" not in cell and "[" not in cell for row in table.rows for cell in row)  # no Python reprs


def test_a_stored_failure_the_profile_no_longer_knows_keeps_its_english_text() -> None:
    failed = [{"requirement": "retired.rule", "section": "§9", "text": "An old rule.", "evidence": "x"}]
    [item] = evidence_items({"failed": failed}, BSI, "de")
    assert isinstance(item.value, Table) and item.value.rows == (("retired.rule", "§9", "An old rule.", "x"),)


def test_mozilla_failures_show_what_the_rule_expects_in_the_readers_language() -> None:
    problem = "TLS versions {'TLSv1'} are supported, but should be rejected."
    table = compliance(MOZILLA, "de", details(mozilla_intermediate={"tls_versions": problem}))
    [(requirement, section, expected, found)] = table.rows
    assert (requirement, section) == ("tls_versions", "Mozilla server-side TLS 5.7, intermediate")
    assert expected == "Nur TLS 1.2 und TLS 1.3."
    assert found == "TLS versions TLSv1 are supported, but should be rejected."  # sslyze's words, without the repr


# ------------------------------------------------------------------------------------------------ rendering


def test_values_are_text_lists_groups_and_tables_never_reprs() -> None:
    emitted = dict(samples())
    cve = {i.label: i for i in evidence_items(emitted["patch.cve.CVE-2021-41773"], "patch.cve.CVE-2021-41773", "de")}
    assert cve["Aktiv ausgenutzt (CISA KEV)"].value == "ja" and cve["Verlässlichkeit der Zuordnung"].value == "niedrig"
    deciding = cve["Ausschlaggebender Dienst"]
    assert deciding.kind == "group" and deciding.server
    marked = {pair.label: pair.server for pair in deciding.value if isinstance(pair, Pair)}
    assert marked["Produkt"] and marked["Version"] and marked["Rohdaten (Banner oder nmap)"]
    assert not marked["Port"] and not marked["Quelle"]
    services = cve["Dienste"].value
    assert isinstance(services, Table) and services.rows[0][:3] == ("80", "tcp", "banner")
    slow = evidence_items(emitted["reachability.slow_connect"], "reachability.slow_connect", "de")
    assert [(i.label, i.kind, i.value, i.server) for i in slow] == [
        ("Dauer des Verbindungsaufbaus (ms)", "text", "1500,25", False),
        ("Schwellenwert (ms)", "text", "1000", False),
    ]
    for key, detail in emitted.items():
        for item in evidence_items(detail, key, "en"):
            assert not any(repr_ in _all_text(item) for repr_ in ("{'", "['", '{"', '["')), (key, item)


def _all_text(item: Item) -> str:
    value = item.value
    if isinstance(value, Table):
        return " ".join(cell for row in value.rows for cell in row)
    if isinstance(value, str):
        return value
    return " ".join(v if isinstance(v, str) else v.value for v in value)


def test_an_unknown_field_is_shown_under_its_name_as_the_servers() -> None:
    [item] = evidence_items({"x_header": "nginx"}, "tls.hsts.short", "de")
    assert (item.label, item.value, item.server) == ("x_header", "nginx", True)


class Marked(HTMLParser):
    """Text per element class, and every start tag, of a rendered page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.server_text: list[str] = []
        self.own_text: list[str] = []
        self._classes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._classes.append(dict(attrs).get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        self._classes.pop()

    def handle_data(self, data: str) -> None:
        classes = self._classes[-1].split() if self._classes else []
        if "ev-server" in classes:
            self.server_text.append(data)
        elif "ev-value" in classes:
            self.own_text.append(data)


def render(items: list[Item]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.api", "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.from_string('{% from "_evidence.html" import evidence %}{{ evidence(items) }}').render(items=items)


@pytest.mark.parametrize("language", ["de", "en"])
def test_hostile_server_values_stay_text_and_are_marked(language: str) -> None:
    detail = {
        "subject": f"CN={HOSTILE}",
        "dns_names": [HOSTILE],
        "evidence": {"port": 22, "source": "banner", "evidence": f"SSH-2.0-{HOSTILE}"},
        "ports": [{"port": 8080, "protocol": "tcp", "service": "http", "product": HOSTILE}],
        "minimum": 2048,
    }
    page = render(evidence_items(detail, "patch.cve.CVE-2024-6387", language))
    assert "<script" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\\x1b[2J" in page  # a terminal escape is shown, not passed on
    assert "\u202e" not in page and "\\u202egnp.exe" in page  # nor may a bidi override reorder the page
    parsed = Marked()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert sum(HOSTILE[:8] in text for text in parsed.server_text) == 4  # subject, name, banner, product
    assert not any("<" in text for text in parsed.own_text)
    assert "22" in parsed.own_text and "8080" in parsed.own_text and "2048" in parsed.own_text
    marker = "vom Server gemeldet" if language == "de" else "reported by the server"
    assert page.count(marker) == 5  # subject, names, the banner's entry, the service and product columns
    assert '<th scope="col">' in page and '<th scope="row"' in page


def test_the_compliance_table_renders_with_headers_and_the_found_column_marked() -> None:
    table_page = render(evidence_items({"failed": [f.as_detail() for f in _bsi_failures()]}, BSI, "de"))
    for heading in ("Anforderung", "Abschnitt", "Erwartet"):
        assert f'<th scope="col">{heading}</th>' in table_page
    assert '<th scope="col">Vorgefunden <span class="ev-mark">vom Server gemeldet</span></th>' in table_page
    assert "TLS 1.0 und TLS 1.1 dürfen nicht angeboten werden" in table_page


def _bsi_failures() -> list[Failure]:
    legacy = details(
        suites={**details().suites, "TLSv1.0": (Suite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bits=128),)}
    )
    failures = judge("bsi_tr_02102_2", legacy)
    assert [f.requirement for f in failures] == ["protocols.allowed"]
    return failures
