"""Judge TLS facts. Pure: details + config + `now` in, observations out; no I/O, no clock of its own."""

from __future__ import annotations

from datetime import datetime

from checks.shared.certs import names_match
from checks.tls import findings as F
from checks.tls.models import DH_PROBE, PROTOCOLS, CertificateChain, TlsConfig, TlsDetails
from checks.tls.profiles import judge
from checks.tls.suites import SuiteTraits, classify, curve_bits
from monitor.models import Observation, Severity

MIN_RSA_BITS = 2048  # generally accepted floors; profiles demand more under their own keys
MIN_EC_BITS = 224
MIN_DH_BITS = 2048
WEAK_HASHES = {"md5": Severity.HIGH, "md2": Severity.HIGH, "md4": Severity.HIGH, "sha1": Severity.MEDIUM}
_PROTOCOL_FINDINGS = {
    "SSLv2": F.PROTOCOL_SSLV2,
    "SSLv3": F.PROTOCOL_SSLV3,
    "TLSv1.0": F.PROTOCOL_TLS1_0,
    "TLSv1.1": F.PROTOCOL_TLS1_1,
}


def evaluate(details: TlsDetails, cfg: TlsConfig, now: datetime) -> list[Observation]:
    found: list[Observation] = []
    if details.certificate is not None:
        found += certificate_observations(details.certificate, details.host, cfg, now)
    found += protocol_observations(details)
    found += cipher_observations(details)
    found += vuln_observations(details)
    found += hsts_observations(details, cfg)
    for profile in cfg.profiles:
        failures = judge(profile, details)
        if failures:
            spec = F.COMPLIANCE_BSI if profile == "bsi_tr_02102_2" else F.COMPLIANCE_MOZILLA
            found.append(spec.observe({"failed": [f.as_detail() for f in failures]}))
    if details.scan_errors:
        found.append(F.SCAN_INCOMPLETE.observe({"untested": dict(sorted(details.scan_errors.items()))}))
    return found


# ------------------------------------------------------------------------------------------ untested parts

_CIPHER_KEYS = ("tls.cipher.*", "tls.dh.weak", "tls.ec.weak_curve")
# the finding keys each part of the scan decides (an sslyze scan command, or our own DH probe)
KEYS_BY_PART: dict[str, tuple[str, ...]] = {
    "certificate_info": ("tls.cert.*",),
    "ssl_2_0_cipher_suites": ("tls.protocol.sslv2", *_CIPHER_KEYS),
    "ssl_3_0_cipher_suites": ("tls.protocol.sslv3", *_CIPHER_KEYS),
    "tls_1_0_cipher_suites": ("tls.protocol.tls1_0", *_CIPHER_KEYS),
    "tls_1_1_cipher_suites": ("tls.protocol.tls1_1", *_CIPHER_KEYS),
    "tls_1_2_cipher_suites": ("tls.protocol.no_tls1_2", *_CIPHER_KEYS),
    "tls_1_3_cipher_suites": ("tls.protocol.no_tls1_3", *_CIPHER_KEYS),
    "elliptic_curves": ("tls.ec.weak_curve",),
    DH_PROBE: ("tls.dh.weak",),
    "heartbleed": ("tls.vuln.heartbleed",),
    "robot": ("tls.vuln.robot",),
    "openssl_ccs_injection": ("tls.vuln.ccs_injection",),
    "tls_compression": ("tls.vuln.compression",),
    "session_renegotiation": ("tls.vuln.insecure_renegotiation", "tls.vuln.client_renegotiation"),
    "tls_fallback_scsv": ("tls.vuln.no_fallback_scsv",),
    "tls_extended_master_secret": (),
    "http_headers": ("tls.hsts.*",),
}


def untested_keys(details: TlsDetails) -> tuple[str, ...]:
    """The finding keys this run could not decide: those of its untested parts, and compliance when any part was
    untested (a profile's verdict needs every part)."""
    if not details.scan_errors:
        return ()
    keys = {key for part in details.scan_errors for key in KEYS_BY_PART.get(part, ("tls.*",))}
    keys.add("tls.compliance.*")
    return tuple(sorted(keys))


# ------------------------------------------------------------------------------------------- certificate


def certificate_observations(chain: CertificateChain, host: str, cfg: TlsConfig, now: datetime) -> list[Observation]:
    found: list[Observation] = []
    leaf = chain.leaf
    if now > leaf.not_after:
        found.append(F.CERT_EXPIRED.observe({"not_after": leaf.not_after.isoformat(), "subject": leaf.subject}))
    elif now < leaf.not_before:
        found.append(F.CERT_NOT_YET_VALID.observe({"not_before": leaf.not_before.isoformat()}))
    else:
        days_left = (leaf.not_after - now).days
        low, medium, high = cfg.expiry_warning_days
        if days_left <= low:
            severity = Severity.HIGH if days_left <= high else Severity.MEDIUM if days_left <= medium else Severity.LOW
            found.append(
                F.CERT_EXPIRING.observe(
                    {"days_left": days_left, "not_after": leaf.not_after.isoformat()}, severity=severity
                )
            )
    if not hostname_matches(host, chain):
        found.append(
            F.CERT_HOSTNAME_MISMATCH.observe(
                {"host": host, "dns_names": list(chain.dns_names), "ip_addresses": list(chain.ip_addresses)}
            )
        )
    trust_specs = {
        "self_signed": F.CERT_SELF_SIGNED,
        "untrusted_root": F.CERT_UNTRUSTED_ROOT,
        "incomplete_chain": F.CERT_INCOMPLETE_CHAIN,
    }
    if chain.trust in trust_specs:
        found.append(trust_specs[chain.trust].observe({"reason": chain.trust_reason, "issuer": leaf.issuer}))
    for position, cert in enumerate(chain.served):
        if cert.self_issued and position > 0:
            continue  # a root's own signature is not relied upon
        hash_severity = WEAK_HASHES.get(cert.signature_hash or "")
        if hash_severity is not None:
            found.append(
                F.CERT_WEAK_SIGNATURE.observe(
                    {"certificate": cert.subject, "position": position, "hash": cert.signature_hash,
                     "signature_algorithm": cert.signature_algorithm},
                    severity=hash_severity,
                )
            )  # fmt: skip
            break
    for position, cert in enumerate(chain.served):
        floor = {"RSA": MIN_RSA_BITS, "DSA": MIN_RSA_BITS, "EC": MIN_EC_BITS}.get(cert.key_type)
        if floor is not None and cert.key_bits < floor:
            found.append(
                F.CERT_WEAK_KEY.observe(
                    {"certificate": cert.subject, "position": position, "type": cert.key_type,
                     "bits": cert.key_bits, "minimum": floor},
                )
            )  # fmt: skip
            break
    return found


def hostname_matches(host: str, chain: CertificateChain) -> bool:
    """RFC 6125 / CA-B Forum matching against subjectAltName only; one wildcard, whole left-most label."""
    return names_match(host, chain.dns_names, chain.ip_addresses)


# ------------------------------------------------------------------------------------- protocols, suites


def protocol_observations(details: TlsDetails) -> list[Observation]:
    offered = details.protocols
    found = [spec.observe({"protocol": p}) for p, spec in _PROTOCOL_FINDINGS.items() if p in offered]
    if offered and "TLSv1.2" not in offered and details.tested("TLSv1.2"):
        severity = Severity.INFO if "TLSv1.3" in offered else Severity.HIGH
        found.append(F.PROTOCOL_NO_TLS1_2.observe({"offered": list(offered)}, severity=severity))
    if offered and "TLSv1.3" not in offered and details.tested("TLSv1.3"):
        found.append(F.PROTOCOL_NO_TLS1_3.observe({"offered": list(offered)}))
    return found


def cipher_observations(details: TlsDetails) -> list[Observation]:
    by_trait: dict[str, list[str]] = {}
    all_traits: list[SuiteTraits] = []
    for protocol in PROTOCOLS:
        for suite in details.suites.get(protocol, ()):
            traits = classify(suite.name)
            all_traits.append(traits)
            for flag in ("null", "anonymous", "export", "des", "triple_des", "rc4", "static_rsa"):
                if getattr(traits, flag):
                    by_trait.setdefault(flag, []).append(f"{protocol} {suite.name}")
    specs = {
        "null": F.CIPHER_NULL,
        "anonymous": F.CIPHER_ANONYMOUS,
        "export": F.CIPHER_EXPORT,
        "des": F.CIPHER_DES,
        "triple_des": F.CIPHER_3DES,
        "rc4": F.CIPHER_RC4,
        "static_rsa": F.CIPHER_NO_FS,
    }
    found = [spec.observe({"suites": sorted(set(by_trait[f]))}) for f, spec in specs.items() if f in by_trait]
    aead_versions_tested = details.tested("TLSv1.2") and details.tested("TLSv1.3")
    if all_traits and not any(t.aead for t in all_traits) and aead_versions_tested:
        found.append(F.CIPHER_CBC_ONLY.observe({"suites_checked": len(all_traits)}))
    dh_bits = sorted(
        {s.group_bits for suites in details.suites.values() for s in suites if s.group == "DH" and s.group_bits}
    )
    if dh_bits and dh_bits[0] < MIN_DH_BITS:
        severity = Severity.HIGH if dh_bits[0] < 1024 else Severity.MEDIUM
        found.append(
            F.DH_WEAK.observe({"bits": dh_bits[0], "dh_bits": dh_bits[0], "minimum": MIN_DH_BITS}, severity=severity)
        )
    weak_curves = sorted(
        {c for c in details.curves if (curve_bits(c) or MIN_EC_BITS) < MIN_EC_BITS}
        | {
            s.group
            for suites in details.suites.values()
            for s in suites
            if s.group not in (None, "DH") and (s.group_bits or MIN_EC_BITS) < MIN_EC_BITS
        }
    )
    if weak_curves:
        found.append(F.EC_WEAK_CURVE.observe({"curves": weak_curves, "minimum_bits": MIN_EC_BITS}))
    return found


# -------------------------------------------------------------------------------------------- flaws, HTTP


def vuln_observations(details: TlsDetails) -> list[Observation]:
    v = details.vulns
    found: list[Observation] = []
    if v.heartbleed:
        found.append(F.VULN_HEARTBLEED.observe())
    if v.robot in {"VULNERABLE_STRONG_ORACLE", "VULNERABLE_WEAK_ORACLE"}:
        severity = Severity.HIGH if v.robot == "VULNERABLE_STRONG_ORACLE" else Severity.MEDIUM
        found.append(F.VULN_ROBOT.observe({"result": v.robot}, severity=severity))
    if v.ccs_injection:
        found.append(F.VULN_CCS.observe())
    if v.compression:
        found.append(F.VULN_COMPRESSION.observe())
    below_13 = [p for p in details.protocols if p != "TLSv1.3"]
    if v.secure_renegotiation is False and below_13:
        found.append(F.VULN_INSECURE_RENEG.observe({"protocols": below_13}))
    if v.client_renegotiation:
        found.append(F.VULN_CLIENT_RENEG.observe())
    downgradable = [p for p in below_13 if p != "SSLv2"]
    if v.fallback_scsv is False and len(downgradable) >= 2:
        found.append(F.VULN_NO_FALLBACK_SCSV.observe({"protocols": downgradable}))
    return found


def hsts_observations(details: TlsDetails, cfg: TlsConfig) -> list[Observation]:
    http = details.http
    if http is None or not http.answered:
        return []
    if not http.hsts_present:
        return [F.HSTS_MISSING.observe()]
    max_age = http.hsts_max_age or 0
    if max_age < cfg.hsts_min_max_age_s:
        return [F.HSTS_SHORT.observe({"max_age": max_age, "minimum": cfg.hsts_min_max_age_s})]
    return []
