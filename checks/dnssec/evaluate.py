"""Judging DNSSEC facts: pure, with `now` passed in, so stored details are judged again without a query.

The resolver's verdict decides `bogus` and `unsigned`; the check's own reading of the zone names the cause (a stale
DS, expired signatures) and the weaknesses a validator does not reject (old algorithms, NSEC3 iterations), and warns
before signatures run out. A cause found while the resolver says bogus is reported under its own key as well, and
named in the bogus finding's detail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import checks.dnssec.findings as F
from checks.dnssec.models import SIGNED_SETS, DnssecConfig, DnssecDetails
from monitor.models import Observation, Severity

# RFC 8624 (now the IANA registry, RFC 9904) and RFC 9905: MUST NOT be used for signing
WEAK_ALGORITHMS = {
    1: "RSAMD5",
    3: "DSA",
    5: "RSASHA1",
    6: "DSA-NSEC3-SHA1",
    7: "RSASHA1-NSEC3-SHA1",
    12: "ECC-GOST",
}
EDE_NAMES = {
    0: "Other",
    1: "Unsupported DNSKEY Algorithm",
    2: "Unsupported DS Digest Type",
    3: "Stale Answer",
    5: "DNSSEC Indeterminate",
    6: "DNSSEC Bogus",
    7: "Signature Expired",
    8: "Signature Not Yet Valid",
    9: "DNSKEY Missing",
    10: "RRSIGs Missing",
    11: "No Zone Key Bit Set",
    12: "NSEC Missing",
    22: "No Reachable Authority",
    23: "Network Error",
    25: "Signature Expired before Valid",
    27: "Unsupported NSEC3 Iterations Value",
}
# the findings that make validators fail, named as the cause of a bogus verdict (expiring is a warning, not a cause)
CAUSES = frozenset({F.DS_MISMATCH.key, F.SIGNATURE_EXPIRED.key, F.SIGNATURE_NOT_YET_VALID.key})
NSEC3_ITERATIONS_MEDIUM = 100  # RFC 9276 section 3.2: validators may treat more as insecure
_DAY = 86400.0


def evaluate(details: DnssecDetails, cfg: DnssecConfig, now: datetime) -> list[Observation]:
    found: list[Observation] = []
    diagnosis: list[str] = []
    untested = {entry.question for entry in details.unanswered}
    if "DNSKEY" not in untested and "DS" not in untested:
        mismatch = ds_mismatch(details)
        if mismatch is not None:
            found.append(F.DS_MISMATCH.observe(mismatch))
            diagnosis.append(mismatch["reason"])
    if details.ds:  # a chain of trust exists: the signatures' times decide whether validators accept the zone
        found += _windows(details, cfg, now, diagnosis)
    diagnosis += _crypto_diagnosis(details)
    if details.verdict == "bogus":
        causes = [o.key for o in found if o.key in CAUSES]
        found.insert(0, F.BOGUS.observe(_bogus_detail(details, causes, diagnosis)))
    elif details.verdict == "insecure":
        found.append(F.UNSIGNED.observe(_unsigned_detail(details)))
    weak = weak_algorithms(details)
    if weak:
        found.append(F.WEAK_ALGORITHM.observe({"algorithms": weak, "resolver_verdict": details.verdict}))
    denial = details.denial
    if denial is not None and denial.kind == "nsec3" and (denial.iterations or 0) > 0:
        severity = Severity.MEDIUM if (denial.iterations or 0) > NSEC3_ITERATIONS_MEDIUM else Severity.LOW
        found.append(
            F.NSEC3_ITERATIONS.observe({"iterations": denial.iterations, "salt": denial.salt}, severity=severity)
        )
    return found


def untested_keys(details: DnssecDetails) -> tuple[str, ...]:
    """The keys a run could not judge because a question went unanswered."""
    signature_keys = (F.SIGNATURE_EXPIRED.key, F.SIGNATURE_NOT_YET_VALID.key, F.SIGNATURE_EXPIRING.key)
    keys: list[str] = []
    for entry in details.unanswered:
        if entry.question == "DS":
            keys += [F.UNSIGNED.key, F.DS_MISMATCH.key, *signature_keys]
        elif entry.question == "NSEC3PARAM":
            keys.append(F.NSEC3_ITERATIONS.key)
        else:  # one of the zone's own sets: it may be the bogus one, its signatures were not read
            keys += [F.BOGUS.key, *signature_keys]
            if entry.question in ("DNSKEY", "SOA"):
                keys += [F.UNSIGNED.key, F.DS_MISMATCH.key, F.WEAK_ALGORITHM.key]
    return tuple(dict.fromkeys(keys))


def ds_mismatch(details: DnssecDetails) -> dict[str, Any] | None:
    """The evidence when the parent's DS records match no key that signs the zone's key set; None when one does
    (or no DS can be judged: none published, or only digest types the monitor cannot compute)."""
    usable = [ds for ds in details.ds if ds.digest_supported]
    if not usable:
        return None
    signing = {(key.key_tag, key.algorithm) for key in details.dnskeys if key.signs_dnskey_set}
    if any(ds.matches_key is not None and (ds.matches_key, ds.algorithm) in signing for ds in usable):
        return None
    tags = ", ".join(f"{ds.key_tag}/{ds.algorithm}" for ds in usable)
    if not details.dnskeys:
        reason = f"the parent publishes DS {tags}, but the zone publishes no DNSKEY at all"
    elif any(ds.matches_key is not None for ds in usable):
        reason = f"DS {tags} matches a DNSKEY of the zone, but that key does not sign the zone's key set"
    else:
        keys = ", ".join(f"{key.key_tag}/{key.algorithm}" for key in details.dnskeys)
        reason = f"DS {tags} (key tag/algorithm) matches none of the zone's keys {keys}"
    return {
        "reason": reason,
        "ds": [ds.model_dump(mode="json") for ds in details.ds],
        "dnskeys": [key.model_dump(mode="json") for key in details.dnskeys],
    }


def weak_algorithms(details: DnssecDetails) -> list[dict[str, Any]]:
    numbers = {key.algorithm for key in details.dnskeys} | {sig.algorithm for sig in details.signatures}
    return [{"name": WEAK_ALGORITHMS[n], "number": n} for n in sorted(numbers) if n in WEAK_ALGORITHMS]


def _windows(details: DnssecDetails, cfg: DnssecConfig, now: datetime, diagnosis: list[str]) -> list[Observation]:
    """Expired, not yet valid, expiring: per set, a set is usable while one of its signatures is in its window."""
    expired: dict[str, datetime] = {}
    early: dict[str, datetime] = {}
    usable_until: dict[str, datetime] = {}
    for rrtype in _ordered({sig.rrtype for sig in details.signatures}):
        sigs = [sig for sig in details.signatures if sig.rrtype == rrtype]
        current = [sig for sig in sigs if sig.inception <= now <= sig.expiration]
        if current:
            usable_until[rrtype] = max(sig.expiration for sig in current)
        elif all(sig.expiration < now for sig in sigs):
            expired[rrtype] = max(sig.expiration for sig in sigs)
        else:
            early[rrtype] = min(sig.inception for sig in sigs if sig.inception > now)
    found = []
    if expired:
        ended = min(expired.values())
        detail = {
            "sets": list(expired),
            "expired_at": ended.isoformat(),
            "days_ago": round((now - ended).total_seconds() / _DAY, 1),
        }
        found.append(F.SIGNATURE_EXPIRED.observe(detail))
        diagnosis.append(f"the signatures of {', '.join(expired)} expired at {ended.isoformat()}")
    if early:
        starts = min(early.values())
        found.append(F.SIGNATURE_NOT_YET_VALID.observe({"sets": list(early), "inception": starts.isoformat()}))
        diagnosis.append(f"the signatures of {', '.join(early)} are valid only from {starts.isoformat()}")
    if usable_until:
        rrtype = min(usable_until, key=lambda name: usable_until[name])
        left = usable_until[rrtype] - now
        severity = expiry_severity(left, cfg)
        if severity is not None:
            detail = {
                "days_left": round(left.total_seconds() / _DAY, 1),
                "set": rrtype,
                "expiration": usable_until[rrtype].isoformat(),
            }
            found.append(F.SIGNATURE_EXPIRING.observe(detail, severity=severity))
    return found


def expiry_severity(left: timedelta, cfg: DnssecConfig) -> Severity | None:
    """The ladder: low within `expiry_warning_days`, medium within half of it, high within `expiry_high_days`."""
    if left > timedelta(days=cfg.expiry_warning_days):
        return None
    if left <= timedelta(days=cfg.expiry_high_days):
        return Severity.HIGH
    if left <= timedelta(days=cfg.expiry_warning_days / 2):
        return Severity.MEDIUM
    return Severity.LOW


def _ordered(rrtypes: set[str]) -> list[str]:
    return sorted(rrtypes, key=lambda name: (SIGNED_SETS.index(name) if name in SIGNED_SETS else 99, name))


def _crypto_diagnosis(details: DnssecDetails) -> list[str]:
    """Signature problems only the cryptography shows (checked when the resolver said bogus)."""
    notes = []
    for rrtype in _ordered({sig.rrtype for sig in details.signatures}):
        sigs = [sig for sig in details.signatures if sig.rrtype == rrtype]
        if any(sig.crypto in (None, "valid") for sig in sigs):
            continue
        if all(sig.crypto == "no_key" for sig in sigs):
            tags = ", ".join(str(sig.key_tag) for sig in sigs)
            notes.append(f"the signatures of {rrtype} name key {tags}, which the zone does not publish")
        else:
            notes.append(f"no signature of {rrtype} verifies with the zone's keys (altered data or signature)")
    for rrtype in details.unsigned_sets:
        notes.append(f"the zone serves {rrtype} without a signature")
    return notes


def _bogus_detail(details: DnssecDetails, causes: list[str], diagnosis: list[str]) -> dict[str, Any]:
    detail: dict[str, Any] = {"resolver": details.resolver, "sets": list(details.bogus_sets)}
    reason = f"resolver {details.resolver} answers SERVFAIL for {', '.join(details.bogus_sets)}"
    if details.ede is not None:
        name = EDE_NAMES.get(details.ede.code, "unassigned")
        detail.update(ede_code=details.ede.code, ede_name=name, ede_text=details.ede.text)
        reason += f" (Extended DNS Error {details.ede.code}, {name})"
    detail["reason"] = reason
    detail["causes"] = causes
    detail["diagnosis"] = diagnosis or [
        "the check found no cause in the zone's DS, keys and signatures: see the resolver's reason"
    ]
    return detail


def _unsigned_detail(details: DnssecDetails) -> dict[str, Any]:
    parent = details.parent or "the parent zone"
    detail: dict[str, Any] = {
        "zone_signed": details.signed,
        "parent": details.parent,
        "resolver": details.resolver,
        "validating_ancestor": details.validating_ancestor,
    }
    if not details.ds:
        if details.signed:
            tags = ", ".join(str(key.key_tag) for key in details.dnskeys if key.sep) or "none marked SEP"
            detail["reason"] = (
                f"the zone is signed (key-signing key {tags}), but {parent} publishes no DS record for it: "
                "only the DS record is missing"
            )
        else:
            detail["reason"] = f"{parent} publishes no DS record for the domain, and the zone is not signed"
    elif details.validating_ancestor is not None and details.parent not in (None, details.validating_ancestor):
        detail["reason"] = (
            f"{parent} publishes DS records, but is not validated itself (the closest validated zone is "
            f"{details.validating_ancestor})"
        )
    else:
        weak = ", ".join(item["name"] for item in weak_algorithms(details))
        because = f": the resolver does not support {weak}" if weak else ""
        detail["reason"] = f"{parent} publishes DS records, but the resolver treats the zone as insecure{because}"
    return detail
