"""The TLS check's metric families, from stored details: expiry even when verification fails."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from checks.base import MetricFamily, MetricSample
from checks.tls.evaluate import hostname_matches
from checks.tls.grade import GRADES
from checks.tls.models import PROTOCOLS, TlsDetails

FAMILIES = (
    MetricFamily("posture_tls_cert_not_after_timestamp_seconds", "Expiry of the served leaf certificate"),
    MetricFamily(
        "posture_tls_cert_verify_ok",
        "1 when the certificate verifies; else 0 with the first reason: expired, self_signed, hostname_mismatch, "
        "untrusted, incomplete_chain",
        ("reason",),
    ),
    MetricFamily("posture_tls_protocol_enabled", "1 per protocol version the server accepts, else 0", ("protocol",)),
    MetricFamily("posture_tls_grade_score", "The grade as a number: F=0, E=1, D=2, C=3, B=4, A-=5, A=6, A+=7"),
    MetricFamily("posture_tls_grade_info", "1, with the grade as a label", ("grade",)),
    MetricFamily("posture_tls_compliant", "1 when the profile's requirements all hold, else 0", ("profile",)),
)


def verify_reason(details: TlsDetails, now: datetime) -> str:
    chain = details.certificate
    if chain is None or not chain.served:
        return "untrusted"
    leaf = chain.served[0]
    if now > leaf.not_after or now < leaf.not_before:
        return "expired"
    trust = {"self_signed": "self_signed", "untrusted_root": "untrusted", "incomplete_chain": "incomplete_chain"}
    if chain.trust in trust:
        return trust[chain.trust]
    if chain.trust != "trusted":
        return "untrusted"
    return "ok" if hostname_matches(details.sni or details.host, chain) else "hostname_mismatch"


def samples(details: TlsDetails, now: datetime) -> Iterable[MetricSample]:
    chain = details.certificate
    if chain is not None and chain.served:
        yield MetricSample(FAMILIES[0].name, (), chain.served[0].not_after.timestamp())
    reason = verify_reason(details, now)
    yield MetricSample(FAMILIES[1].name, (reason,), 1.0 if reason == "ok" else 0.0)
    for protocol in PROTOCOLS:
        yield MetricSample(FAMILIES[2].name, (protocol,), 1.0 if details.suites.get(protocol) else 0.0)
    if details.grade in GRADES:
        yield MetricSample(FAMILIES[3].name, (), float(GRADES.index(details.grade)))
        yield MetricSample(FAMILIES[4].name, (details.grade,), 1.0)
    for profile, failed in sorted(details.compliance.items()):
        yield MetricSample(FAMILIES[5].name, (profile,), 0.0 if failed else 1.0)
