"""SPF (RFC 7208): record selection, term syntax, and the DNS-querying terms counted through every include/redirect.

No sender address is known, so nothing is matched: the walk counts what `check_host()` would have to ask before it
reaches the final `all`, follows `include` and `redirect`, detects loops, and asks the `a`/`mx`/`exists` names
(without macros) once to count void lookups. Terms after an `all` are never reached by an evaluation, so they are
neither counted nor followed; a `redirect` next to an `all` is ignored (§6.1). Macros (%{d} …) are legal: their
terms count as lookups but are not expanded or followed.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from checks.mail.lookup import DnsLookup, LookupFailed
from checks.mail.models import Problem, SpfFacts, cap

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
VOID_LIMIT = 2  # RFC 7208 §4.6.4
FOLLOW_LIMIT = 20  # lookups after which includes are no longer followed (the count is then a lower bound)
MAX_DEPTH = 10  # nested include/redirect levels followed
QUERYING = frozenset({"include", "a", "mx", "ptr", "exists"})
MECHANISMS = frozenset({"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"})

_MACRO = re.compile(r"%(?:\{[slodiphcrtv]\d*r?[.\-+,/_=]*\}|[%_-])", re.IGNORECASE)
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def is_spf(text: str) -> bool:
    """RFC 7208 §4.5: a record is SPF when it is exactly "v=spf1" or begins with "v=spf1 " (case-insensitive)."""
    lowered = text.lower()
    return lowered == "v=spf1" or lowered.startswith("v=spf1 ")


def select_spf(texts: tuple[str, ...] | list[str]) -> tuple[list[str], Problem | None]:
    """The SPF records among a name's TXT records and a problem when there is more than one (§4.5: permerror)."""
    found = [text for text in texts if is_spf(text)]
    if len(found) > 1:
        return found, Problem(kind="several_records", detail=f"{len(found)} v=spf1 records")
    return found, None


@dataclass(frozen=True, slots=True)
class Term:
    """One directive or modifier: `qualifier` ("" for modifiers), lower-case `name`, the raw `value` after ":"/"="."""

    qualifier: str
    name: str
    value: str | None
    modifier: bool = False

    @property
    def has_macro(self) -> bool:
        return self.value is not None and "%" in self.value


@dataclass(slots=True)
class ParsedSpf:
    terms: list[Term] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def modifier(self, name: str) -> str | None:
        return next((t.value for t in self.terms if t.modifier and t.name == name), None)

    @property
    def all_qualifier(self) -> str | None:
        return next((t.qualifier for t in self.terms if t.name == "all" and not t.modifier), None)

    def reached(self) -> list[Term]:
        """The mechanisms an evaluation can reach: every one up to and including the first `all`."""
        out: list[Term] = []
        for term in self.terms:
            if term.modifier:
                continue
            out.append(term)
            if term.name == "all":
                break
        return out


def _macro_string_ok(text: str) -> bool:
    """A macro-string (§7.1): visible characters, every "%" starting a macro-expand."""
    if not text or any(not 0x21 <= ord(c) <= 0x7E for c in text):
        return False
    return "%" not in _MACRO.sub("", text)


def _domain_spec_ok(text: str) -> bool:
    """§4.6.1 domain-spec: a macro-string ending in a macro-expand or in "." toplabel ["."]; the macro letters c, r
    and t belong to `exp` texts only (§7.2)."""
    if not _macro_string_ok(text) or re.search(r"%\{[crt]", text, re.IGNORECASE):
        return False
    if re.search(r"(?:%\{[^}]*\}|%[%_-])$", text):
        return True
    labels = text.removesuffix(".").split(".")
    if len(labels) < 2 or not all(labels):
        return False
    return bool(_LABEL.fullmatch(labels[-1])) and not labels[-1].isdigit()


def _cidr_ok(text: str, *, ip4: bool, ip6: bool) -> bool:
    """`/n` (ip4), `//n` (ip6) or `/n//m` (dual)."""
    match = re.fullmatch(r"(?:/(\d{1,2}))?(?://(\d{1,3}))?", text)
    if not match:
        return False
    four, six = match.group(1), match.group(2)
    if four is not None and (not ip4 or int(four) > 32 or (len(four) > 1 and four[0] == "0")):
        return False
    return not (six is not None and (not ip6 or int(six) > 128 or (len(six) > 1 and six[0] == "0")))


def _split_cidr(value: str) -> tuple[str, str]:
    """ "example.org/24//64" → ("example.org", "/24//64")."""
    match = re.fullmatch(r"(.*?)((?:/\d+)?(?://\d+)?)", value, re.DOTALL)
    assert match is not None  # the first group takes anything
    return match.group(1), match.group(2)


def _check_term(term: Term) -> str | None:
    """Why `term` breaks the §12 ABNF, or None."""
    name, value = term.name, term.value
    if name == "all":
        return "all takes no value" if value is not None else None
    if name in ("include", "exists"):
        return None if value and _domain_spec_ok(value) else f"{name} needs a domain"
    if name in ("a", "mx"):
        if value is None:
            return None
        cidr = value
        if value.startswith(":"):
            spec, cidr = _split_cidr(value[1:])
            if not _domain_spec_ok(spec):
                return f"{name}: bad domain"
        return None if _cidr_ok(cidr, ip4=True, ip6=True) else f"{name}: bad prefix length"
    if name == "ptr":
        return None if value is None or (value.startswith(":") and _domain_spec_ok(value[1:])) else "ptr: bad domain"
    if name in ("ip4", "ip6"):
        if not value or not value.startswith(":"):
            return f"{name} needs an address"
        address, _, prefix = value[1:].partition("/")
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return f"{name}: bad address"
        if (name == "ip4") != (parsed.version == 4):
            return f"{name}: bad address"
        if prefix:
            limit = 32 if name == "ip4" else 128
            if not prefix.isdigit() or int(prefix) > limit or (len(prefix) > 1 and prefix[0] == "0"):
                return f"{name}: bad prefix length"
        return None
    return None


def parse_spf(text: str) -> ParsedSpf:
    """The terms of an SPF record and its syntax problems (each a permerror, §4.6)."""
    parsed = ParsedSpf()
    words = text.split(" ")
    if not words or words[0].lower() != "v=spf1":
        parsed.problems.append(Problem(kind="syntax", detail="does not begin with v=spf1"))
        return parsed
    seen: set[str] = set()
    for word in words[1:]:
        if not word:
            continue  # several spaces between terms
        modifier = re.fullmatch(r"([A-Za-z][A-Za-z0-9_.-]*)=(.*)", word, re.DOTALL)
        if modifier:
            name, value = modifier.group(1).lower(), modifier.group(2)
            term = Term("", name, value, modifier=True)
            if name in ("redirect", "exp"):
                if name in seen:
                    parsed.problems.append(Problem(kind="syntax", detail=f"{name} appears twice"))
                seen.add(name)
                if not _domain_spec_ok(value):
                    parsed.problems.append(Problem(kind="syntax", detail=cap(f"{name}: bad domain {value}", 200)))
            elif not _macro_string_ok(value) and value:
                parsed.problems.append(Problem(kind="syntax", detail=cap(f"bad modifier {word}", 200)))
            parsed.terms.append(term)
            continue
        qualifier = word[0] if word[0] in "+-~?" else "+"
        body = word[1:] if word[0] in "+-~?" else word
        match = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)([:/].*)?", body, re.DOTALL)
        if not match or match.group(1).lower() not in MECHANISMS:
            parsed.problems.append(Problem(kind="syntax", detail=cap(f"unknown mechanism {word}", 200)))
            continue
        name = match.group(1).lower()
        raw = match.group(2)
        value = raw[1:] if raw is not None and raw.startswith(":") and name in ("include", "exists") else raw
        term = Term(qualifier, name, value)
        reason = _check_term(term)
        if reason:
            parsed.problems.append(Problem(kind="syntax", detail=cap(f"{reason}: {word}", 200)))
            continue
        parsed.terms.append(term)
    return parsed


def target_of(term: Term, domain: str) -> str:
    """The domain a querying mechanism asks about (the current domain when it names none)."""
    if term.name in ("include", "exists") or term.modifier:
        return (term.value or domain).rstrip(".")
    if term.value and term.value.startswith(":"):
        return _split_cidr(term.value[1:])[0].rstrip(".")
    return domain


@dataclass(slots=True)
class _Walk:
    lookup: DnsLookup
    check_void: bool
    lookups: int = 0
    void: int = 0
    unexpanded: int = 0
    capped: bool = False
    problems: list[Problem] = field(default_factory=list)

    def problem(self, kind: str, detail: str) -> None:
        self.problems.append(Problem(kind=kind, detail=cap(detail, 300)))

    async def void_check(self, term: Term, domain: str) -> None:
        if not self.check_void or term.has_macro or term.name == "ptr" or self.lookups > LOOKUP_LIMIT:
            return
        target = target_of(term, domain)
        if term.name == "mx":
            answer = await self.lookup.mx(target)
        elif term.name == "exists":
            answer = await self.lookup.addresses(target, "A")  # §5.7: exists asks A only, whatever the sender
        else:
            answer = await self.lookup.a_or_aaaa(target)
        if answer.void:
            self.void += 1

    async def record(self, domain: str, chain: tuple[str, ...], how: str) -> str | None:
        """The one SPF record at `domain` reached through `how` (include/redirect), or None (a permerror)."""
        answer = await self.lookup.txt(domain)
        if answer.void:
            self.void += 1
        found, several = select_spf(list(answer.values))
        if several:
            self.problem("several_records", f"{domain}: {several.detail}")
            return None
        if not found:
            self.problem(f"{how}_without_spf", f"{' → '.join(chain)}: {domain} publishes no SPF record")
            return None
        return found[0]

    async def walk(self, domain: str, text: str, chain: tuple[str, ...]) -> tuple[str | None, str]:
        """Count `text`'s querying terms, follow its includes and redirect; its effective `all` and where."""
        parsed = parse_spf(text)
        for problem in parsed.problems:
            self.problem(problem.kind, f"{domain}: {problem.detail}")
        for term in parsed.reached():
            if term.name not in QUERYING:
                continue
            self.lookups += 1
            if term.has_macro:
                self.unexpanded += 1
                continue
            if term.name != "include":
                await self.void_check(term, domain)
                continue
            await self.follow(target_of(term, domain), chain, "include")
        qualifier = parsed.all_qualifier
        if qualifier is not None:
            return qualifier, domain
        redirect = parsed.modifier("redirect")
        if redirect is None:
            return None, ""
        self.lookups += 1
        if "%" in redirect:
            self.unexpanded += 1
            return None, ""
        return await self.follow(redirect.rstrip("."), chain, "redirect")

    async def follow(self, target: str, chain: tuple[str, ...], how: str) -> tuple[str | None, str]:
        if target.lower() in (name.lower() for name in chain):
            self.problem("loop", f"{' → '.join((*chain, target))}")
            return None, ""
        if len(chain) > MAX_DEPTH or self.lookups > FOLLOW_LIMIT:
            self.capped = True
            return None, ""
        text = await self.record(target, (*chain, target), how)
        if text is None:
            return None, ""
        return await self.walk(target, text, (*chain, target))


async def lookup_spf(domain: str, lookup: DnsLookup, *, check_void: bool = True) -> SpfFacts:
    """The SPF facts of `domain`: its record, the lookups it needs, its effective `all`, every problem found.

    A failed question (SERVFAIL, time-out, the budget spent) makes the facts `unknown`: RFC 7208's temperror.
    """
    domain = domain.rstrip(".")
    try:
        answer = await lookup.txt(domain)
        found, several = select_spf(list(answer.values))
        if not found:
            return SpfFacts(status="missing", domain=domain)
        walk = _Walk(lookup, check_void)
        if several:
            return SpfFacts(status="found", domain=domain, records=tuple(found), problems=(several,))
        qualifier, origin = await walk.walk(domain, found[0], (domain,))
    except LookupFailed as err:
        return SpfFacts(status="unknown", domain=domain, error=err.reason)
    problems = list(walk.problems)
    if walk.void > VOID_LIMIT:
        problems.append(Problem(kind="void_lookups", detail=f"{walk.void} void lookups (limit {VOID_LIMIT})"))
    return SpfFacts(
        status="found",
        domain=domain,
        records=tuple(found),
        record=found[0],
        lookups=walk.lookups,
        lookups_capped=walk.capped,
        void_lookups=walk.void,
        all_qualifier=qualifier,
        all_from=origin,
        problems=tuple(problems),
        unexpanded=walk.unexpanded,
    )
