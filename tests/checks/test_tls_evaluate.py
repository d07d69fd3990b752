"""The pure half of the TLS check: suite classification, name matching, evaluate(), profiles, grade, config.

Cases the local OpenSSL cannot serve (SSL 2/3, NULL, EXPORT, RC4, 3DES, Heartbleed, ROBOT, ...) are judged here
from stored facts, exactly as the daemon re-judges stored details without a new scan.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from checks.base import CheckContext
from checks.tls import TlsCheck, TlsConfig, TlsDetails
from checks.tls.evaluate import hostname_matches
from checks.tls.grade import grade, weakest_suite
from checks.tls.models import AcceptedSuite, CertificateChain, CertificateFacts, HttpFacts, VulnFacts
from checks.tls.profiles import judge, load_profile
from checks.tls.suites import classify
from monitor.models import Severity

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHECK = TlsCheck()
GOOD_12 = (AcceptedSuite(name="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", bits=128, group="secp256r1", group_bits=256),)
GOOD_13 = (AcceptedSuite(name="TLS_AES_128_GCM_SHA256", bits=128, group="secp256r1", group_bits=256),)


def cert(**overrides: Any) -> CertificateFacts:
    values: dict[str, Any] = {
        "subject": "CN=www.example.test",
        "issuer": "CN=Example CA",
        "serial": "01",
        "sha256": "00" * 32,
        "not_before": NOW - timedelta(days=30),
        "not_after": NOW + timedelta(days=60),
        "key_type": "EC",
        "key_bits": 256,
        "curve": "secp256r1",
        "signature_algorithm": "ecdsa-with-SHA256",
        "signature_hash": "sha256",
        "self_issued": False,
        "is_ca": False,
    }
    values.update(overrides)
    return CertificateFacts(**values)


def chain(*served: CertificateFacts, **overrides: Any) -> CertificateChain:
    values: dict[str, Any] = {
        "served": served or (cert(),),
        "dns_names": ("www.example.test",),
        "trust": "trusted",
    }
    values.update(overrides)
    return CertificateChain(**values)


def details(**overrides: Any) -> TlsDetails:
    values: dict[str, Any] = {
        "host": "www.example.test",
        "port": 443,
        "sni": "www.example.test",
        "certificate": chain(),
        "suites": {"TLSv1.2": GOOD_12, "TLSv1.3": GOOD_13},
        "curves": ("secp256r1",),
        "vulns": VulnFacts(
            heartbleed=False, ccs_injection=False, robot="NOT_VULNERABLE_NO_ORACLE", compression=False,
            secure_renegotiation=True, client_renegotiation=False, fallback_scsv=True, extended_master_secret=True,
        ),
        "http": HttpFacts(answered=True, hsts_present=True, hsts_max_age=63072000),
        "mozilla_intermediate": {},
    }  # fmt: skip
    values.update(overrides)
    return TlsDetails(**values)


def keys(d: TlsDetails, **cfg: Any) -> set[str]:
    return {o.key for o in CHECK.evaluate(d, TlsConfig(**cfg), CheckContext(now=NOW))}


def observation(d: TlsDetails, key: str, **cfg: Any) -> Any:
    return next(o for o in CHECK.evaluate(d, TlsConfig(**cfg), CheckContext(now=NOW)) if o.key == key)


def test_good_facts_give_nothing_above_info_and_a_plus() -> None:
    d = details()
    found = CHECK.evaluate(d, TlsConfig(profiles=("bsi_tr_02102_2", "mozilla_intermediate")), CheckContext(now=NOW))
    assert found == []
    assert grade(found, d, TlsConfig().hsts_min_max_age_s) == "A+"


@pytest.mark.parametrize(
    ("protocol", "suite", "key"),
    [
        ("SSLv2", "SSL_CK_RC4_128_WITH_MD5", "tls.protocol.sslv2"),
        ("SSLv3", "TLS_RSA_WITH_AES_128_CBC_SHA", "tls.protocol.sslv3"),
        ("TLSv1.2", "TLS_RSA_WITH_NULL_SHA256", "tls.cipher.null"),
        ("TLSv1.2", "TLS_DH_anon_WITH_AES_128_CBC_SHA", "tls.cipher.anonymous"),
        ("TLSv1.0", "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "tls.cipher.export"),
        ("TLSv1.0", "TLS_RSA_WITH_DES_CBC_SHA", "tls.cipher.des"),
        ("TLSv1.2", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "tls.cipher.3des"),
        ("TLSv1.2", "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "tls.cipher.rc4"),
        ("TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", "tls.cipher.no_forward_secrecy"),
    ],
)
def test_each_legacy_protocol_or_suite_yields_its_key(protocol: str, suite: str, key: str) -> None:
    suites = {"TLSv1.2": GOOD_12, "TLSv1.3": GOOD_13}
    suites[protocol] = (*suites.get(protocol, ()), AcceptedSuite(name=suite, bits=128))
    assert key in keys(details(suites=suites))


def test_3des_with_static_rsa_reports_both_and_caps_the_grade_at_c() -> None:
    d = details(suites={"TLSv1.2": (*GOOD_12, AcceptedSuite(name="TLS_RSA_WITH_3DES_EDE_CBC_SHA", bits=168))})
    found = CHECK.evaluate(d, TlsConfig(), CheckContext(now=NOW))
    assert {"tls.cipher.3des", "tls.cipher.no_forward_secrecy"} <= {o.key for o in found}
    assert grade(found, d, 0) == "C"


@pytest.mark.parametrize(
    ("vulns", "key", "severity"),
    [
        ({"heartbleed": True}, "tls.vuln.heartbleed", Severity.CRITICAL),
        ({"robot": "VULNERABLE_STRONG_ORACLE"}, "tls.vuln.robot", Severity.HIGH),
        ({"robot": "VULNERABLE_WEAK_ORACLE"}, "tls.vuln.robot", Severity.MEDIUM),
        ({"ccs_injection": True}, "tls.vuln.ccs_injection", Severity.HIGH),
        ({"compression": True}, "tls.vuln.compression", Severity.MEDIUM),
        ({"secure_renegotiation": False}, "tls.vuln.insecure_renegotiation", Severity.HIGH),
        ({"client_renegotiation": True}, "tls.vuln.client_renegotiation", Severity.LOW),
    ],
)
def test_each_known_flaw_yields_its_key(vulns: dict[str, Any], key: str, severity: Severity) -> None:
    base = details().vulns.model_dump()
    base.update(vulns)
    assert observation(details(vulns=VulnFacts(**base)), key).severity is severity


def test_missing_fallback_scsv_matters_only_with_two_downgradable_versions() -> None:
    vulns = details().vulns.model_copy(update={"fallback_scsv": False})
    assert "tls.vuln.no_fallback_scsv" not in keys(details(vulns=vulns))
    with_tls11 = {"TLSv1.1": (AcceptedSuite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bits=128),), **details().suites}
    assert "tls.vuln.no_fallback_scsv" in keys(details(vulns=vulns, suites=with_tls11))


def test_weak_curve_and_no_aead() -> None:
    suite = AcceptedSuite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", bits=128, group="secp192r1", group_bits=192)
    cbc = {"TLSv1.2": (suite,)}
    found = keys(details(suites=cbc, curves=("secp192r1", "secp256r1")))
    assert {"tls.ec.weak_curve", "tls.cipher.cbc_only", "tls.protocol.no_tls1_3"} <= found


def test_no_tls12_is_high_for_legacy_only_and_info_for_tls13_only() -> None:
    legacy = {"TLSv1.0": (AcceptedSuite(name="TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", bits=128),)}
    assert observation(details(suites=legacy), "tls.protocol.no_tls1_2").severity is Severity.HIGH
    assert observation(details(suites={"TLSv1.3": GOOD_13}), "tls.protocol.no_tls1_2").severity is Severity.INFO


@pytest.mark.parametrize(
    ("days", "severity"),
    [(29, Severity.LOW), (14, Severity.MEDIUM), (7, Severity.HIGH), (1, Severity.HIGH)],
)
def test_expiry_severity_rises_at_30_14_7_days(days: int, severity: Severity) -> None:
    d = details(certificate=chain(cert(not_after=NOW + timedelta(days=days, hours=1))))
    found = observation(d, "tls.cert.expiring")
    assert (found.severity, found.detail["days_left"]) == (severity, days)


def test_expiry_thresholds_are_configurable() -> None:
    d = details(certificate=chain(cert(not_after=NOW + timedelta(days=50, hours=1))))
    assert "tls.cert.expiring" not in keys(d)
    assert observation(d, "tls.cert.expiring", expiry_warning_days=(60, 20, 5)).severity is Severity.LOW


def test_md5_signature_is_high_and_caps_at_f() -> None:
    d = details(certificate=chain(cert(signature_hash="md5", signature_algorithm="md5WithRSAEncryption")))
    found = observation(d, "tls.cert.weak_signature")
    assert found.severity is Severity.HIGH
    assert grade([found], d, 0) == "F"


def test_sha1_self_signed_root_in_chain_is_not_weak_signature() -> None:
    root = cert(subject="CN=Root", issuer="CN=Root", self_issued=True, is_ca=True, signature_hash="sha1")
    assert "tls.cert.weak_signature" not in keys(details(certificate=chain(cert(), root)))


@pytest.mark.parametrize(
    ("host", "names", "ips", "matches"),
    [
        ("www.example.test", ("www.example.test",), (), True),
        ("WWW.Example.Test.", ("www.example.test",), (), True),
        ("a.example.test", ("*.example.test",), (), True),
        ("a.b.example.test", ("*.example.test",), (), False),
        ("example.test", ("*.example.test",), (), False),
        ("x.test", ("*.test",), (), False),
        ("evil.test", ("www.example.test",), (), False),
        ("192.0.2.7", ("192.0.2.7",), (), False),
        ("192.0.2.7", (), ("192.0.2.7",), True),
        ("2001:db8::1", (), ("2001:db8:0::1",), True),
    ],
)
def test_hostname_matching(host: str, names: tuple[str, ...], ips: tuple[str, ...], matches: bool) -> None:
    assert hostname_matches(host, chain(dns_names=names, ip_addresses=ips)) is matches


@pytest.mark.parametrize(
    ("name", "traits"),
    [
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", {"aead": True, "forward_secrecy": True, "cbc": False}),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", {"static_rsa": True, "cbc": True, "aead": False}),
        ("TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", {"triple_des": True, "des": False, "forward_secrecy": True}),
        ("TLS_RSA_EXPORT_WITH_DES40_CBC_SHA", {"export": True, "des": True}),
        ("TLS_ECDH_anon_WITH_AES_128_CBC_SHA", {"anonymous": True}),
        ("TLS_ECDHE_ECDSA_WITH_NULL_SHA", {"null": True}),
        ("TLS_AES_256_GCM_SHA384", {"aead": True, "forward_secrecy": True, "kex": "TLS13"}),
        ("TLS_CHACHA20_POLY1305_SHA256", {"aead": True}),
        ("TLS_ECDHE_ECDSA_WITH_AES_128_CCM", {"aead": True}),
        ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", {"triple_des": True}),
        ("TLS_RSA_PSK_WITH_AES_128_GCM_SHA256", {"kex": "RSA", "aead": True}),
    ],
)
def test_suite_classification(name: str, traits: dict[str, Any]) -> None:
    parsed = classify(name)
    assert {k: getattr(parsed, k) for k in traits} == traits


def test_weakest_suite_prefers_the_worst_cipher() -> None:
    suites = {"TLSv1.2": (*GOOD_12, AcceptedSuite(name="TLS_RSA_WITH_3DES_EDE_CBC_SHA", bits=168))}
    assert weakest_suite(details(suites=suites)) == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"


def test_bsi_table_cites_edition_and_section_for_every_requirement() -> None:
    profile = load_profile()
    assert profile.edition.startswith("TR-02102-2")
    assert all(r.section and r.text for r in profile.requirements)
    tls13 = next(r for r in profile.requirements if r.id == "suites.tls13")
    assert "TLS_CHACHA20_POLY1305_SHA256" not in tls13.params["values"]
    curves = next(r for r in profile.requirements if r.id == "groups.ec")
    assert "brainpoolP256r1" in curves.params["values"]


def test_bsi_refuses_static_ecdh_suites_because_the_mindeststandard_demands_forward_secrecy() -> None:
    static = AcceptedSuite(name="TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256", bits=128)
    failed = judge("bsi_tr_02102_2", details(suites={"TLSv1.2": (*GOOD_12, static), "TLSv1.3": GOOD_13}))
    assert [(f.requirement, f.evidence) for f in failed] == [
        ("suites.tls12", "TLSv1.2 accepts TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256")
    ]


def test_bsi_flags_chacha20_and_x25519_that_mozilla_allows() -> None:
    chacha = AcceptedSuite(name="TLS_CHACHA20_POLY1305_SHA256", bits=256, group="X25519", group_bits=253)
    suites = {"TLSv1.2": GOOD_12, "TLSv1.3": (*GOOD_13, chacha)}
    failed = {f.requirement for f in judge("bsi_tr_02102_2", details(suites=suites, curves=("X25519", "secp256r1")))}
    assert failed == {"suites.tls13", "groups.ec"}
    assert judge("mozilla_intermediate", details(suites=suites)) == []


def test_only_the_selected_profiles_are_reported() -> None:
    d = details(mozilla_intermediate={"tls_versions": "TLS 1.0 is supported"})
    assert "tls.compliance.mozilla_intermediate" not in keys(d)
    assert "tls.compliance.mozilla_intermediate" in keys(d, profiles=("mozilla_intermediate",))


def test_stored_details_are_rejudged_identically_after_a_json_round_trip() -> None:
    d = details(certificate=chain(cert(key_type="RSA", key_bits=1024, curve=None)), http=HttpFacts(answered=True))
    again = TlsDetails.model_validate_json(d.model_dump_json())
    cfg, ctx = TlsConfig(), CheckContext(now=NOW)
    assert CHECK.evaluate(again, cfg, ctx) == CHECK.evaluate(d, cfg, ctx)


def test_every_catalogue_entry_is_documented() -> None:
    assert len({s.key for s in CHECK.findings}) == len(CHECK.findings) == 37
    for spec in CHECK.findings:
        assert spec.key.startswith("tls.") and spec.meaning and spec.remediation and spec.title


@pytest.mark.parametrize(
    "bad",
    [
        {"unknown_option": 1},
        {"expiry_warning_days": (7, 14, 30)},
        {"profiles": ("bsi_tr_02102_2", "bsi_tr_02102_2")},
        {"profiles": ("pci",)},
        {"network_timeout_s": 0},
        {"address": "not-an-ip"},
    ],
)
def test_invalid_config_is_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TlsConfig(**bad)


def test_tls_package_imports_only_the_contract() -> None:
    """checks.* may import monitor.models, checks.base and checks.shared (and its own package, stdlib, third-party
    libs)."""
    package = Path(__file__).parents[2] / "checks" / "tls"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith(("monitor", "checks")):
                    assert name in {"monitor.models", "checks.base"} or name.startswith(
                        ("checks.tls", "checks.shared.")
                    ), f"{source.name} imports {name}"


def keys_of(facts: TlsDetails, cfg: TlsConfig | None = None) -> set[str]:
    return {o.key for o in CHECK.evaluate(facts, cfg or TlsConfig(), CheckContext(now=NOW))}


def test_a_partial_scan_is_judged_and_names_its_untested_parts() -> None:
    rc4 = AcceptedSuite(name="TLS_RSA_WITH_RC4_128_SHA", bits=128)
    partial = details(
        suites={"TLSv1.0": (rc4,)},
        scan_errors={"tls_1_2_cipher_suites": "CONNECTIVITY_ISSUE", "tls_1_3_cipher_suites": "DEADLINE",
                     "robot": "CONNECTIVITY_ISSUE"},
        mozilla_intermediate=None,
    )  # fmt: skip
    observations = CHECK.evaluate(partial, TlsConfig(profiles=("bsi_tr_02102_2", "mozilla_intermediate")),
                                  CheckContext(now=NOW))  # fmt: skip
    keys = {o.key for o in observations}
    # what was seen is reported
    assert {"tls.cipher.rc4", "tls.protocol.tls1_0", "tls.compliance.bsi_tr_02102_2"} <= keys
    incomplete = next(o for o in observations if o.key == "tls.scan.incomplete")
    assert incomplete.severity is Severity.INFO
    assert incomplete.detail["untested"]["robot"] == "CONNECTIVITY_ISSUE"
    # what was not looked at is not judged from its absence
    assert not keys & {"tls.protocol.no_tls1_2", "tls.protocol.no_tls1_3", "tls.cipher.cbc_only"}
    assert "tls.compliance.mozilla_intermediate" not in keys  # its checker lacked results: not judged
    bsi = next(o for o in observations if o.key == "tls.compliance.bsi_tr_02102_2")
    assert all(f["requirement"] != "protocols.modern" for f in bsi.detail["failed"])
    # and is never resolved by this run
    untested = CHECK.untested(partial)
    assert {"tls.vuln.robot", "tls.protocol.no_tls1_2", "tls.protocol.no_tls1_3", "tls.cipher.*",
            "tls.compliance.*"} <= set(untested)  # fmt: skip
    assert "tls.vuln.heartbleed" not in untested and "tls.cert.*" not in untested


def test_a_complete_scan_has_no_untested_parts() -> None:
    assert CHECK.untested(details()) == ()
    assert "tls.scan.incomplete" not in keys_of(details())


def test_a_run_counts_when_the_certificate_or_a_protocol_was_read() -> None:
    from checks.base import TargetUnreachable
    from checks.tls.scan import require_core

    require_core(details(scan_errors={"robot": "CONNECTIVITY_ISSUE"}))
    require_core(details(certificate=None, scan_errors={"certificate_info": "CONNECTIVITY_ISSUE"}))
    everything = ("certificate_info", "ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
                  "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites")  # fmt: skip
    lost = details(certificate=None, suites={}, scan_errors=dict.fromkeys(everything, "CONNECTIVITY_ISSUE"))
    with pytest.raises(TargetUnreachable, match="certificate_info"):
        require_core(lost)
    late = details(certificate=None, suites={}, scan_errors=dict.fromkeys(everything, "DEADLINE"))
    with pytest.raises(TimeoutError, match="deadline"):
        require_core(late)
