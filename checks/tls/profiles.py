"""Compliance profiles: BSI TR-02102-2 as a data table (bsi_tr_02102_2.toml), Mozilla intermediate via sslyze.

A profile judges facts only (pure); each failed requirement is reported with its id, the section it comes from
and the evidence. Generic weaknesses have their own keys; a profile reports what it demands beyond them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from checks.tls.models import ProfileName, TlsDetails

BSI_TABLE = Path(__file__).with_name("bsi_tr_02102_2.toml")


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    kind: str
    section: str
    text: str
    params: Mapping[str, Any]
    text_de: str  # `text` in German, for agency staff


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    title: str
    edition: str
    revision: int
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class Failure:
    requirement: str
    section: str
    text: str
    evidence: str

    def as_detail(self) -> dict[str, str]:
        return {"requirement": self.requirement, "section": self.section, "text": self.text, "evidence": self.evidence}


@lru_cache(maxsize=4)
def load_profile(path: Path = BSI_TABLE) -> Profile:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    head = raw["profile"]
    requirements = []
    for entry in raw["requirement"]:
        params = {k: v for k, v in entry.items() if k not in {"id", "kind", "section", "text", "text_de"}}
        if entry["kind"] not in _KINDS:
            raise ValueError(f"{path.name}: requirement {entry['id']!r} has unknown kind {entry['kind']!r}")
        if not entry.get("text_de"):
            raise ValueError(f"{path.name}: requirement {entry['id']!r} has no German text (text_de)")
        requirements.append(
            Requirement(entry["id"], entry["kind"], entry["section"], entry["text"], params, entry["text_de"])
        )
    return Profile(head["id"], head["title"], head["edition"], int(head["revision"]), tuple(requirements))


def judge(profile: ProfileName, details: TlsDetails) -> list[Failure]:
    """Every failed requirement of `profile`; empty when compliant."""
    if profile == "mozilla_intermediate":
        if details.mozilla_intermediate is None:
            return []  # the checker lacked results it needs: not judged (the TLS check marks it untested)
        return [
            Failure(name, "Mozilla server-side TLS 5.7, intermediate", name, problem)
            for name, problem in sorted(details.mozilla_intermediate.items())
        ]
    table = load_profile()
    failures = []
    for requirement in table.requirements:
        evidence = _KINDS[requirement.kind](requirement.params, details)
        if evidence:
            failures.append(Failure(requirement.id, requirement.section, requirement.text, evidence))
    return failures


def requirement_text(profile: str, requirement: str, language: str) -> str | None:
    """What `requirement` of `profile` expects, for a reader of `language` (German or English); None if unknown.

    Looked up when a finding is shown, not stored in it: a finding stores the English text of its day.
    """
    german = language.split("-", 1)[0].strip().lower() == "de"
    if profile == "mozilla_intermediate":
        texts = MOZILLA_REQUIREMENTS.get(requirement)
        return None if texts is None else texts[1] if german else texts[0]
    if profile == "bsi_tr_02102_2":
        found = next((r for r in load_profile().requirements if r.id == requirement), None)
        return None if found is None else found.text_de if german else found.text
    return None


# sslyze's names of the Mozilla "intermediate" (5.7) rules, with what each expects in English and German; sslyze
# stores the name and its own English message of what it found
MOZILLA_REQUIREMENTS: dict[str, tuple[str, str]] = {
    "tls_versions": ("Only TLS 1.2 and TLS 1.3.", "Nur TLS 1.2 und TLS 1.3."),
    "ciphersuites": (
        "TLS 1.3 suites only TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.",
        "Bei TLS 1.3 nur die Suites TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256.",
    ),
    "ciphers": (
        "TLS 1.2 suites only ECDHE (ECDSA or RSA) or DHE-RSA with AES-GCM or ChaCha20-Poly1305.",
        "Bei TLS 1.2 nur Suites mit ECDHE (ECDSA oder RSA) oder DHE-RSA und AES-GCM oder ChaCha20-Poly1305.",
    ),
    "tls_curves": (
        "Key exchange only over X25519, P-256 (prime256v1) or P-384 (secp384r1).",
        "Schlüsselaustausch nur über X25519, P-256 (prime256v1) oder P-384 (secp384r1).",
    ),
    "ecdh_param_size": ("ECDH groups of at least 256 bits.", "ECDH-Gruppen mit mindestens 256 Bit."),
    "dh_param_size": ("DH groups of at least 2048 bits.", "DH-Gruppen mit mindestens 2048 Bit."),
    "certificate_path_validation": (
        "The certificate chain validates against the trusted certificate authorities.",
        "Die Zertifikatskette lässt sich bis zu einer vertrauenswürdigen Zertifizierungsstelle prüfen.",
    ),
    "certificate_types": ("An ECDSA or RSA certificate.", "Ein ECDSA- oder RSA-Zertifikat."),
    "certificate_curves": (
        "ECDSA certificate keys on P-256 (prime256v1) or P-384 (secp384r1).",
        "ECDSA-Zertifikatsschlüssel auf P-256 (prime256v1) oder P-384 (secp384r1).",
    ),
    "certificate_signatures": (
        "The certificate is signed with sha256WithRSAEncryption or ECDSA with SHA-256, SHA-384 or SHA-512.",
        "Das Zertifikat ist mit sha256WithRSAEncryption oder ECDSA mit SHA-256, SHA-384 oder SHA-512 signiert.",
    ),
    "rsa_key_size": ("RSA certificate keys of at least 2048 bits.", "RSA-Zertifikatsschlüssel ab 2048 Bit."),
    "maximum_certificate_lifespan": (
        "Certificates valid for at most 366 days.",
        "Zertifikate mit einer Laufzeit von höchstens 366 Tagen.",
    ),
    "hsts_min_age": (
        "HSTS with a max-age of at least 63072000 seconds (two years).",
        "HSTS mit max-age von mindestens 63072000 Sekunden (zwei Jahre).",
    ),
    "tls_vulnerability_compression": ("No TLS compression (CRIME).", "Keine TLS-Kompression (CRIME)."),
    "tls_vulnerability_ccs_injection": (
        "Not vulnerable to OpenSSL CCS injection.",
        "Nicht anfällig für die OpenSSL-CCS-Injection.",
    ),
    "tls_vulnerability_fallback_scsv": (
        "TLS_FALLBACK_SCSV is supported (protection against downgrades).",
        "TLS_FALLBACK_SCSV wird unterstützt (Schutz vor dem Herabstufen der Protokollversion).",
    ),
    "tls_vulnerability_heartbleed": ("Not vulnerable to Heartbleed.", "Nicht anfällig für Heartbleed."),
    "tls_vulnerability_robot": ("Not vulnerable to ROBOT.", "Nicht anfällig für ROBOT."),
    "tls_vulnerability_renegotiation": (
        "Secure renegotiation (RFC 5746) is supported.",
        "Sichere Neuaushandlung (Secure Renegotiation, RFC 5746) wird unterstützt.",
    ),
    "tls_vulnerability_extended_master_secret": (
        "The Extended Master Secret extension (RFC 7627) is supported.",
        "Die Erweiterung Extended Master Secret (RFC 7627) wird unterstützt.",
    ),
}


# --------------------------------------------------------------------------- requirement kinds


def _allowed_protocols(params: Mapping[str, Any], d: TlsDetails) -> str:
    extra = [p for p in d.protocols if p not in params["values"]]
    return f"offered: {', '.join(extra)}" if extra else ""


def _any_protocol(params: Mapping[str, Any], d: TlsDetails) -> str:
    if any(p in d.suites or not d.tested(p) for p in params["values"]):
        return ""  # offered, or not tested in this run
    return f"offered only: {', '.join(d.protocols) or 'none'}"


def _allowed_suites(params: Mapping[str, Any], d: TlsDetails) -> str:
    allowed = set(params["values"])
    extra = sorted({s.name for s in d.suites.get(params["protocol"], ()) if s.name not in allowed})
    return f"{params['protocol']} accepts {', '.join(extra)}" if extra else ""


def _allowed_curves(params: Mapping[str, Any], d: TlsDetails) -> str:
    used = set(d.curves) | {s.group for suites in d.suites.values() for s in suites if s.group and s.group != "DH"}
    extra = sorted(used - set(params["values"]))
    return f"curves accepted: {', '.join(extra)}" if extra else ""


def _min_dh_bits(params: Mapping[str, Any], d: TlsDetails) -> str:
    bits = sorted({s.group_bits or 0 for suites in d.suites.values() for s in suites if s.group == "DH"})
    weak = [b for b in bits if b < params["min_bits"]]
    return f"DH group of {weak[0]} bits" if weak else ""


def _min_key_bits(params: Mapping[str, Any], d: TlsDetails) -> str:
    if d.certificate is None:
        return ""
    leaf = d.certificate.leaf
    floor = {"RSA": params["rsa"], "DSA": params["dsa"], "EC": params["ec"]}.get(leaf.key_type)
    if floor is not None and leaf.key_bits < floor:
        return f"{leaf.key_type} {leaf.key_bits} bits (minimum {floor})"
    return ""


def _signature_hashes(params: Mapping[str, Any], d: TlsDetails) -> str:
    if d.certificate is None:
        return ""
    below_root = [c for c in d.certificate.served if not c.self_issued]
    weak = [f"{c.subject}: {c.signature_algorithm}" for c in below_root if c.signature_hash not in params["values"]]
    # Ed25519/Ed448 signatures carry no separate hash and are not in the TR's list either
    return "; ".join(weak)


def _fact(expected: bool) -> Callable[[Mapping[str, Any], TlsDetails], str]:
    def check(params: Mapping[str, Any], d: TlsDetails) -> str:
        protocol = params.get("only_if_protocol")
        if protocol is not None and protocol not in d.suites:
            return ""
        value = getattr(d.vulns, params["fact"])
        return "" if value is None or value is expected else f"{params['fact']} is {value}"

    return check


_KINDS: dict[str, Callable[[Mapping[str, Any], TlsDetails], str]] = {
    "allowed_protocols": _allowed_protocols,
    "any_protocol": _any_protocol,
    "allowed_suites": _allowed_suites,
    "allowed_curves": _allowed_curves,
    "min_dh_bits": _min_dh_bits,
    "min_key_bits": _min_key_bits,
    "signature_hashes": _signature_hashes,
    "fact_true": _fact(True),
    "fact_false": _fact(False),
}
