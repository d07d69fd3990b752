"""Grade A+ … F from the observations of one run (rubric: docs/tls-grading.md). Pure.

Modelled on SSL Labs' SSL Server Rating Guide: start at A, let each finding cap the grade, A+ needs HSTS and no
cap at all. The grade is derived from the same observations the alerts come from, so the two cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable

from checks.tls.models import AcceptedSuite, TlsDetails
from checks.tls.suites import classify
from monitor.models import Observation, Severity

GRADES = ("F", "E", "D", "C", "B", "A-", "A", "A+")

# finding key → the best grade a server with that finding can get (None: no cap)
CAPS: dict[str, str] = {
    "tls.cert.expired": "F",
    "tls.cert.not_yet_valid": "F",
    "tls.cert.hostname_mismatch": "F",
    "tls.cert.self_signed": "F",
    "tls.cert.untrusted_root": "F",
    "tls.cert.incomplete_chain": "B",
    "tls.cert.weak_signature": "B",  # MD5: F, see _cap
    "tls.cert.weak_key": "B",  # below 1024 bits: F
    "tls.protocol.sslv2": "F",
    "tls.protocol.sslv3": "C",
    "tls.protocol.tls1_0": "B",
    "tls.protocol.tls1_1": "B",
    "tls.protocol.no_tls1_2": "C",  # only when nothing newer is offered (severity high)
    "tls.protocol.no_tls1_3": "A-",
    "tls.cipher.null": "F",
    "tls.cipher.anonymous": "F",
    "tls.cipher.export": "F",
    "tls.cipher.des": "C",
    "tls.cipher.3des": "C",
    "tls.cipher.rc4": "C",
    "tls.cipher.no_forward_secrecy": "B",
    "tls.cipher.cbc_only": "B",
    "tls.dh.weak": "B",  # below 1024 bits: F
    "tls.ec.weak_curve": "B",
    "tls.vuln.heartbleed": "F",
    "tls.vuln.robot": "F",  # weak oracle: B
    "tls.vuln.ccs_injection": "F",
    "tls.vuln.compression": "C",
    "tls.vuln.insecure_renegotiation": "F",
    "tls.vuln.no_fallback_scsv": "A-",
}


def _cap(observation: Observation) -> str | None:
    key, detail = observation.key, observation.detail
    if key == "tls.cert.weak_signature" and detail.get("hash") == "md5":
        return "F"
    if key in {"tls.cert.weak_key", "tls.dh.weak"} and int(detail.get("bits", 2048)) < 1024:
        return "F"
    if key == "tls.vuln.robot" and detail.get("result") == "VULNERABLE_WEAK_ORACLE":
        return "B"
    if key == "tls.protocol.no_tls1_2" and observation.severity < Severity.HIGH:
        return None
    return CAPS.get(key)


def grade(observations: Iterable[Observation], details: TlsDetails, hsts_min_max_age_s: int) -> str:
    best = "A"
    keys = set()
    for observation in observations:
        keys.add(observation.key)
        cap = _cap(observation)
        if cap is not None and GRADES.index(cap) < GRADES.index(best):
            best = cap
    http = details.http
    hsts_ok = (
        http is not None
        and http.answered
        and http.hsts_present
        and (http.hsts_max_age or 0) >= hsts_min_max_age_s
        and not keys & {"tls.hsts.missing", "tls.hsts.short_max_age"}
    )
    return "A+" if best == "A" and hsts_ok else best


def _strength(suite: AcceptedSuite) -> tuple[int, int]:
    t = classify(suite.name)
    if t.null or t.anonymous or t.export:
        rank = 0
    elif t.des:
        rank = 1
    elif t.rc4:
        rank = 2
    elif t.triple_des:
        rank = 3
    elif not t.forward_secrecy:
        rank = 4 if t.cbc else 5
    else:
        rank = 6 if t.cbc else 7
    return rank, suite.bits


def weakest_suite(details: TlsDetails) -> str | None:
    """The weakest accepted suite over all protocol versions, by the ranking of docs/tls-grading.md."""
    accepted = [s for suites in details.suites.values() for s in suites]
    return min(accepted, key=_strength).name if accepted else None
