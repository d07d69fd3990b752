"""DMARC (RFC 7489): record syntax (§6.3, §6.4), policy discovery (§6.6.3) and the organisational domain (§3.2).

The organisational domain comes from the Public Suffix List bundled with the package (public_suffix_list.dat, see
PSL_PROVENANCE.md): never downloaded at run time, so a run asks only the configured resolver.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

import idna

from checks.mail.lookup import DnsLookup, LookupFailed
from checks.mail.models import DmarcFacts, DmarcTags, Problem, cap

POLICIES = ("none", "quarantine", "reject")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s,!;]+(?:![0-9]+[kmgt]?)?", re.IGNORECASE)
_FO = re.compile(r"[01ds](?::[01ds])*")


# --- the Public Suffix List ------------------------------------------------------------------------------


def _ascii(rule: str) -> str:
    """A rule's internationalised labels as A-labels (`公司.cn` → `xn--55qx5d.cn`): DNS names arrive in that form."""
    if rule.isascii():
        return rule
    labels = []
    for label in rule.split("."):
        if label.isascii():
            labels.append(label)
            continue
        try:
            labels.append(idna.encode(label, uts46=True).decode("ascii"))
        except idna.IDNAError:
            labels.append(label)  # not encodable under IDNA 2008: kept as is, it then matches no DNS name
    return ".".join(labels)


class PublicSuffixList:
    """The PSL's rules (https://publicsuffix.org/list/, "Algorithm"): plain, wildcard (`*.ck`), exception (`!www.ck`).

    Both ICANN and private sections count, as RFC 7489 §3.2 and the list's own algorithm say.
    """

    def __init__(self, text: str) -> None:
        self.rules: set[str] = set()
        self.exceptions: set[str] = set()
        for line in text.splitlines():
            rule = line.strip().split(" ", 1)[0]  # the list's rules end at the first white space
            if not rule or rule.startswith("//"):
                continue
            rule = _ascii(rule.lower())
            if rule.startswith("!"):
                self.exceptions.add(rule[1:])
            else:
                self.rules.add(rule)

    def public_suffix(self, name: str) -> str:
        """The public suffix of `name` (lower-case, no trailing dot); the implicit rule `*` for unknown TLDs."""
        labels = name.lower().rstrip(".").split(".")
        longest = 1  # the default rule "*"
        for start in range(len(labels)):
            candidate = ".".join(labels[start:])
            if candidate in self.exceptions:
                # an exception rule prevails: the suffix is the rule minus its leftmost label
                return ".".join(labels[start + 1 :])
            wildcard = "*." + ".".join(labels[start + 1 :]) if start + 1 < len(labels) else None
            if candidate in self.rules or (wildcard is not None and wildcard in self.rules):
                longest = max(longest, len(labels) - start)
        return ".".join(labels[-longest:])

    def organisational_domain(self, name: str) -> str | None:
        """RFC 7489 §3.2: the public suffix plus one label; None when `name` is a public suffix itself."""
        labels = name.lower().rstrip(".").split(".")
        suffix = self.public_suffix(name)
        count = suffix.count(".") + 1
        if len(labels) <= count:
            return None
        return ".".join(labels[-count - 1 :])


@lru_cache(maxsize=1)
def bundled_psl() -> PublicSuffixList:
    """The list shipped with the package (read once per process)."""
    return PublicSuffixList(resources.files("checks.mail").joinpath("public_suffix_list.dat").read_text("utf-8"))


# --- the record ------------------------------------------------------------------------------------------


def is_dmarc(text: str) -> bool:
    """§6.6.3: records that do not begin with "v=DMARC1" are discarded."""
    return bool(re.match(r"[vV]\s*=\s*DMARC1\s*(;|$)", text))


VOIDING = ("v", "p")  # problems of these tags make receivers ignore the whole record


def parse_dmarc(text: str, *, policy_record: bool = True) -> tuple[DmarcTags | None, list[Problem]]:
    """The tags of a DMARC record and its problems (each names the tag); tags None when receivers ignore the record.

    `policy_record`: `p` is required (§6.3 "p: … REQUIRED for policy records"). Unknown tags are ignored (§6.3).
    Only `v` and `p` make a record void; "syntax errors in the remainder of the record SHOULD be discarded in favor
    of default values (if any) or ignored outright" (§6.3): a bad optional tag is a problem, its default applies.
    """
    problems: list[Problem] = []

    def bad(tag: str, why: str) -> None:
        problems.append(Problem(kind=tag, detail=cap(why, 200)))

    parts = [part.strip() for part in text.split(";")]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing ";"
    pairs: list[tuple[str, str]] = []
    for part in parts:
        tag, sep, value = part.partition("=")
        tag, value = tag.strip().lower(), value.strip()
        if not sep or not re.fullmatch(r"[a-z][a-z0-9_]*", tag):
            bad("syntax", f"not a tag=value pair: {part!r}")
            continue
        pairs.append((tag, value))
    if not pairs or pairs[0] != ("v", "DMARC1"):
        bad("v", "the record must begin with v=DMARC1")
    seen: dict[str, str] = {}
    for tag, value in pairs[1:]:
        if tag in seen:
            bad(tag, f"{tag} appears twice")
        seen[tag] = value
    values: dict[str, object] = {}
    for tag in ("p", "sp"):
        if tag in seen:
            if seen[tag].lower() in POLICIES:
                values[tag] = seen[tag].lower()
            else:
                bad(tag, f"{tag}={seen[tag]}: not none, quarantine or reject")
    if "p" not in seen and policy_record:
        bad("p", "the p tag is required")
    if "pct" in seen:
        if seen["pct"].isdigit() and 0 <= int(seen["pct"]) <= 100:
            values["pct"] = int(seen["pct"])
        else:
            bad("pct", f"pct={seen['pct']}: not an integer from 0 to 100")
    for tag in ("rua", "ruf"):
        if tag in seen:
            uris = [uri.strip() for uri in seen[tag].split(",")]
            if all(_URI.fullmatch(uri) for uri in uris):
                values[tag] = tuple(uris)
            else:
                bad(tag, f"{tag}={seen[tag]}: not a comma-separated list of URIs")
    for tag in ("adkim", "aspf"):
        if tag in seen:
            if seen[tag].lower() in ("r", "s"):
                values[tag] = seen[tag].lower()
            else:
                bad(tag, f"{tag}={seen[tag]}: not r or s")
    if "fo" in seen:
        if _FO.fullmatch(seen["fo"].replace(" ", "")):
            values["fo"] = seen["fo"].replace(" ", "")
        else:
            bad("fo", f"fo={seen['fo']}: not a colon-separated list of 0, 1, d, s")
    if "ri" in seen:
        if seen["ri"].isdigit() and int(seen["ri"]) < 2**32:
            values["ri"] = int(seen["ri"])
        else:
            bad("ri", f"ri={seen['ri']}: not a 32-bit unsigned integer")
    if any(problem.kind in VOIDING for problem in problems):
        return None, problems
    return DmarcTags.model_validate(values), problems


async def _at(name: str, lookup: DnsLookup) -> list[str]:
    answer = await lookup.txt(f"_dmarc.{name}")
    return [text for text in answer.values if is_dmarc(text)]


async def lookup_dmarc(domain: str, lookup: DnsLookup, psl: PublicSuffixList | None = None) -> DmarcFacts:
    """§6.6.3: `_dmarc.<domain>`, else `_dmarc.<organisational domain>`; `psl` defaults to the bundled list."""
    domain = domain.rstrip(".").lower()
    organisational = (psl or bundled_psl()).organisational_domain(domain) or ""
    queried = [f"_dmarc.{domain}"]
    try:
        found, at = await _at(domain, lookup), domain
        if not found and organisational and organisational != domain:
            queried.append(f"_dmarc.{organisational}")
            found, at = await _at(organisational, lookup), organisational
    except LookupFailed as err:
        return DmarcFacts(
            status="unknown", domain=domain, queried=tuple(queried), organisational=organisational, error=err.reason
        )
    common = {"domain": domain, "queried": tuple(queried), "organisational": organisational}
    if not found:
        return DmarcFacts(status="missing", **common)
    if len(found) > 1:
        # §6.6.3 step 5: more than one record means no policy applies
        several = Problem(kind="records", detail=f"{len(found)} v=DMARC1 records at _dmarc.{at}")
        return DmarcFacts(status="found", found_at=at, records=tuple(found), problems=(several,), **common)
    tags, problems = parse_dmarc(found[0])
    return DmarcFacts(
        status="found",
        found_at=at,
        records=tuple(found),
        record=found[0],
        tags=tags,
        problems=tuple(problems),
        **common,
    )
