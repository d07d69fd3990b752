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
        params = {k: v for k, v in entry.items() if k not in {"id", "kind", "section", "text"}}
        if entry["kind"] not in _KINDS:
            raise ValueError(f"{path.name}: requirement {entry['id']!r} has unknown kind {entry['kind']!r}")
        requirements.append(Requirement(entry["id"], entry["kind"], entry["section"], entry["text"], params))
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
