"""A finding's evidence (its `detail`) for a reader: translated labels, nested values as lists, groups and tables,
and every value marked as reported by the scanned server or as our own judgement.

What a server sends (banners, certificate names and dates, header values, the protocols, suites and curves it
offers) is attacker-controlled: it stays text, its control characters are made visible, and it is flagged `server`
so that the page can say so. Our judgement and measurements (requirements, thresholds, expected values, counts,
timings, database facts) are not flagged. A field the vocabulary below does not know is shown under its own name
and flagged as the server's: the cautious reading. Dates stay ISO 8601 text. Pure: no I/O beyond the checks' own
requirement texts (the BSI table, loaded once).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from checks import REGISTRY
from monitor.display import printable
from monitor.models import key_matches


@dataclass(frozen=True, slots=True)
class Field:
    """How one detail field is shown: its label in German and English, and whether its value is the server's."""

    de: str
    en: str
    server: bool

    def label(self, language: str) -> str:
        return self.de if language == "de" else self.en


def _ours(de: str, en: str) -> Field:
    return Field(de, en, server=False)


def _server(de: str, en: str) -> Field:
    return Field(de, en, server=True)


# The top-level fields of a finding's detail. A field holding a list of records or a record is shown as a table or
# a group; its flag then only applies should it hold plain text, and each column or entry has its own (NESTED).
FIELDS: dict[str, Field] = {
    # the daemon: monitor/findings.py (endpoint.*), monitor/scope_resolution.py (scope.violation)
    "failures": _ours("Fehlgeschlagene Durchläufe in Folge", "Failed runs in a row"),
    "error": _ours("Letzter Fehler", "Last error"),
    "host": _ours("Geprüfter Hostname", "Host name checked"),
    "addresses": _ours("Adressen des Namens", "Addresses of the name"),
    "outside_scope": _ours("Adressen außerhalb des Prüfbereichs", "Addresses outside the scope"),
    "reason": _ours("Begründung", "Reason"),
    # reachability
    "connect_ms": _ours("Dauer des Verbindungsaufbaus (ms)", "Connection set-up time (ms)"),
    "threshold_ms": _ours("Schwellenwert (ms)", "Threshold (ms)"),
    # ports
    "ports": _server("Offene Ports", "Open ports"),
    "expected_ports": _ours("Erwartete Ports (Soll)", "Expected ports (baseline)"),
    "previously_open": _ours("Beim vorigen Scan offen", "Open at the previous scan"),
    # tls: certificate
    "subject": _server("Zertifikatsinhaber (Subject)", "Certificate subject"),
    "issuer": _server("Aussteller (Issuer)", "Issuer"),
    "not_before": _server("Gültig ab", "Valid from"),
    "not_after": _server("Gültig bis", "Valid until"),
    "days_left": _ours("Verbleibende Tage", "Days left"),
    "dns_names": _server("Namen im Zertifikat", "Names in the certificate"),
    "ip_addresses": _server("IP-Adressen im Zertifikat", "IP addresses in the certificate"),
    "certificate": _server("Zertifikat", "Certificate"),
    "position": _ours("Stelle in der Kette (0 = Serverzertifikat)", "Position in the chain (0 = server certificate)"),
    "hash": _server("Hash-Verfahren der Signatur", "Signature hash"),
    "signature_algorithm": _server("Signaturverfahren", "Signature algorithm"),
    "type": _server("Schlüsseltyp", "Key type"),
    "bits": _server("Schlüssellänge (Bit)", "Key size (bits)"),
    "minimum": _ours("Mindestwert", "Minimum"),
    # tls: protocols, suites, groups, flaws, HSTS
    "protocol": _server("Angebotenes Protokoll", "Protocol offered"),
    "offered": _server("Angebotene Protokolle", "Protocols offered"),
    "protocols": _server("Betroffene Protokolle", "Protocols affected"),
    "suites": _server("Angenommene Cipher-Suites", "Cipher suites accepted"),
    "suites_checked": _ours("Geprüfte Cipher-Suites (Anzahl)", "Cipher suites checked (count)"),
    "dh_bits": _server("Größe der DH-Gruppe (Bit)", "DH group size (bits)"),
    "curves": _server("Angenommene Kurven", "Curves accepted"),
    "minimum_bits": _ours("Mindestgröße (Bit)", "Minimum size (bits)"),
    "result": _ours("Ergebnis des Tests", "Test result"),
    "max_age": _server("max-age im HSTS-Header (s)", "HSTS max-age (s)"),
    "failed": _ours("Nicht erfüllte Anforderungen", "Requirements not met"),
    "untested": _ours("Nicht getestete Teile", "Parts not tested"),
    # patch
    "cve": _ours("CVE", "CVE"),
    "cvss_severity": _ours("Schweregrad nach CVSS", "CVSS severity"),
    "score": _ours("CVSS-Wert", "CVSS score"),
    "vector": _ours("CVSS-Vektor", "CVSS vector"),
    "cvss_version": _ours("CVSS-Version", "CVSS version"),
    "description": _ours("Beschreibung (NVD, englisch)", "Description (NVD)"),
    "matched_range": _ours("Betroffene Versionen (NVD)", "Affected versions (NVD)"),
    "matched_cpe": _ours("Produkt laut NVD", "Product in NVD"),
    "evidence": _server("Ausschlaggebender Dienst", "Deciding service"),
    "services": _server("Dienste", "Services"),
    "confidence": _ours("Verlässlichkeit der Zuordnung", "Confidence of the match"),
    "confidence_reason": _ours("Grund für diese Verlässlichkeit", "Why this confidence"),
    "kev": _ours("Aktiv ausgenutzt (CISA KEV)", "Known exploited (CISA KEV)"),
    "due_date": _ours("Frist laut CISA", "Due date set by CISA"),
    "required_action": _ours("Geforderte Maßnahme (CISA, englisch)", "Required action (CISA)"),
    "known_ransomware": _ours("Von Ransomware genutzt", "Used by ransomware"),
    "kev_date_added": _ours("In KEV aufgenommen am", "Added to KEV on"),
    "kev_name": _ours("Bezeichnung in KEV", "Name in KEV"),
    # dnssec: what the zone publishes is the domain owner's (flagged as the server's), the verdicts are ours
    "resolver": _ours("Gefragter Resolver", "Resolver asked"),
    "resolver_verdict": _ours("Urteil des Resolvers", "The resolver's verdict"),
    "sets": _ours("Betroffene Eintragssätze", "Record sets affected"),
    "set": _ours("Eintragssatz", "Record set"),
    "ede_code": _ours("Extended DNS Error (Code)", "Extended DNS Error (code)"),
    "ede_name": _ours("Extended DNS Error (Bedeutung)", "Extended DNS Error (meaning)"),
    "ede_text": _server("Begründung des Resolvers (englisch)", "The resolver's reason"),
    "causes": _ours("Gefundene Ursachen (Befunde)", "Causes found (findings)"),
    "diagnosis": _ours("Diagnose der Prüfung (englisch)", "The check's diagnosis"),
    "ds": _server("DS-Einträge der übergeordneten Zone", "DS records of the parent zone"),
    "dnskeys": _server("Schlüssel der Zone (DNSKEY)", "Keys of the zone (DNSKEY)"),
    "expired_at": _server("Abgelaufen am", "Expired at"),
    "days_ago": _ours("Vor Tagen", "Days ago"),
    "inception": _server("Gültig ab", "Valid from"),
    "expiration": _server("Gültig bis", "Valid until"),
    "algorithms": _server("Verfahren", "Algorithms"),
    "iterations": _server("NSEC3-Iterationen", "NSEC3 iterations"),
    "salt": _server("NSEC3-Salt (hex)", "NSEC3 salt (hex)"),
    "zone_signed": _ours("Zone signiert", "Zone signed"),
    "parent": _ours("Übergeordnete Zone", "Parent zone"),
    "validating_ancestor": _ours("Nächste validierte Zone darüber", "Closest validated zone above"),
    # mail policy (SPF, DMARC, TLS-RPT, MTA-STS): the records are the domain owner's, the judgement is ours
    "domain": _ours("Domain", "Domain"),
    "record": _server("Veröffentlichter Eintrag", "Published record"),
    "which": _ours("Art des Fehlers", "Kind of problem"),
    "problems": _server("Gefundene Fehler", "Problems found"),
    "mechanism": _server("Mechanismus", "Mechanism"),
    "from": _server("Festgelegt in", "Set in"),
    "queried": _ours("Abgefragte Namen", "Names queried"),
    "found_at": _ours("Gefunden bei", "Found at"),
    "tag": _ours("Fehlerhaftes Feld", "Faulty tag"),
    "policy": _server("Richtlinie (p=)", "Policy (p=)"),
    "inherited": _ours("Von der Organisationsdomain übernommen", "Inherited from the organisational domain"),
    "pct": _server("Anteil (pct)", "Percentage (pct)"),
    "part": _ours("Betroffener Teil", "Part affected"),
    "count": _ours("DNS-Abfragen gezählt", "DNS lookups counted"),
    "at_least": _ours("Mindestens (Zählung abgebrochen)", "At least (count stopped)"),
    "limit": _ours("Grenze (RFC 7208)", "Limit (RFC 7208)"),
    # mail transport (MX hosts, STARTTLS, DANE, the MTA-STS policy file)
    "mx": _server("Betroffene MX-Server", "MX hosts affected"),
    "servers": _ours("Je MX-Server", "Per MX host"),
    "why": _ours("Grund", "Reason"),
    "mode": _server("Modus der MTA-STS-Richtlinie", "MTA-STS policy mode"),
    "patterns": _server("mx-Muster der Richtlinie", "The policy's mx patterns"),
    # web: what the site sent (headers, cookie names, security.txt) is the server's; the URLs asked are ours
    "url": _ours("Abgefragte Adresse", "URL requested"),
    "status": _server("HTTP-Statuscode", "HTTP status code"),
    "location": _server("Umleitungsziel (Location)", "Redirect target (Location)"),
    "value": _server("Gesendeter Wert", "Value sent"),
    "report_only": _server("Nur berichtende Richtlinie (Report-Only)", "Report-only policy"),
    "directive": _server("CSP-Direktive", "CSP directive"),
    "directives": _server("Beanstandete CSP-Direktiven", "CSP directives at fault"),
    "frame_ancestors": _server("CSP frame-ancestors", "CSP frame-ancestors"),
    "cookies": _server("Cookies (nur Namen)", "Cookies (names only)"),
    "tried": _ours("Versuchte Adressen (Statuscode)", "URLs tried (status code)"),
    "expires": _server("Ablaufdatum (Expires)", "Expiry date (Expires)"),
}

# Fields inside a record: a row of a table (an open port, a service) or an entry of a group (the deciding service).
NESTED: dict[str, Field] = {
    "port": _ours("Port", "Port"),
    "protocol": _ours("Transportprotokoll", "Transport protocol"),
    "service": _server("Dienst (erkannt von nmap)", "Service (as nmap saw it)"),
    "product": _server("Produkt", "Product"),
    "version": _server("Version", "Version"),
    "extrainfo": _server("Zusatzangaben", "Extra information"),
    "tunnel": _ours("Tunnel", "Tunnel"),
    "source": _ours("Quelle", "Source"),
    "evidence": _server("Rohdaten (Banner oder nmap)", "Raw evidence (banner or nmap)"),
    "cpe": _server("CPE", "CPE"),
    "distribution": _server("Distribution (laut Banner)", "Distribution (from the banner)"),
    "eol_product": _ours("Produkt (endoflife.date)", "Product (endoflife.date)"),
    "cycle": _ours("Versionslinie", "Release line"),
    "eol": _ours("Supportende", "End of life"),
    "latest": _ours("Neueste Version der Linie", "Latest release of the line"),
    # dnssec: a DS record, a DNSKEY, an algorithm
    "key_tag": _server("Key-Tag", "Key tag"),
    "algorithm": _server("Algorithmus (Nummer)", "Algorithm (number)"),
    "digest_type": _server("Hash-Verfahren (Nummer)", "Digest type (number)"),
    "matches_key": _ours("Passt zum Schlüssel (Key-Tag)", "Matches the key (key tag)"),
    "digest_supported": _ours("Hash-Verfahren prüfbar", "Digest type checkable"),
    "flags": _server("Flags (257: KSK, 256: ZSK)", "Flags (257: KSK, 256: ZSK)"),
    "signs_dnskey_set": _ours("Signiert die Schlüsselmenge", "Signs the key set"),
    "name": _ours("Verfahren", "Algorithm"),
    "number": _server("Nummer", "Number"),
    # mail: one problem of a record
    "kind": _ours("Art", "Kind"),
    "detail": _server("Einzelheit", "Detail"),
    # mail: one MX host as the check saw it
    "mx": _server("MX-Server", "MX host"),
    "addresses": _server("Adressen", "Addresses"),
    "address": _ours("Geprüfte Adresse", "Address probed"),
    "reach": _ours("Geprüft?", "Probed?"),
    "reach_reason": _ours("Warum nicht geprüft", "Why not probed"),
    "reason": _server("Antwort des Servers", "What the server did"),
    "trust_reason": _server("Warum nicht vertrauenswürdig", "Why not trusted"),
    "name_matches": _ours("Zertifikat passt zum MX-Namen", "Certificate matches the MX name"),
    "expired": _ours("Zertifikat abgelaufen", "Certificate expired"),
    "tlsa": _server("TLSA-Einträge", "TLSA records"),
    # axfr: one authoritative name server that handed out the zone
    "ns": _server("Nameserver (NS-Eintrag)", "Name server (NS record)"),
    "names": _ours("Übertragene Namen", "Names transferred"),
    # web: a cookie (its name only, never its value), a CSP directive
    "cookie": _server("Cookie", "Cookie"),
    "directive": _server("CSP-Direktive", "CSP directive"),
    "missing": _ours("Fehlende Attribute", "Attributes missing"),
    "setting": _server("Wert der Direktive", "Value of the directive"),
    "sources": _server("Beanstandete Quellen", "Sources at fault"),
}

# A field whose meaning depends on the finding: (finding key or family, field) → how it is shown there.
FOR_KEY: dict[tuple[str, str], Field] = {
    ("dns.axfr.open", "servers"): _ours("Nameserver, die die Zone herausgeben", "Name servers that hand out the zone"),
    ("reachability.address_unreachable", "addresses"): _ours("Adressen ohne Antwort", "Addresses that did not answer"),
    # our sentence, but it quotes the certificates' names
    ("tls.cert.*", "reason"): _server("Begründung", "Reason"),
    ("tls.dh.weak", "bits"): _server("Größe der DH-Gruppe (Bit)", "DH group size (bits)"),
    ("tls.vuln.robot", "result"): _ours("Ergebnis des ROBOT-Tests", "ROBOT test result"),
    # the parser's sentence quotes the policy
    ("web.headers.csp_missing", "reason"): _server("Begründung", "Reason"),
}

# Values from our own vocabulary, translated: field → value → (German, English).
VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "confidence": {"high": ("hoch", "high"), "medium": ("mittel", "medium"), "low": ("niedrig", "low")},
    "cvss_severity": {
        "critical": ("kritisch", "critical"),
        "high": ("hoch", "high"),
        "medium": ("mittel", "medium"),
        "low": ("niedrig", "low"),
        "none": ("keine", "none"),
    },
    "reach": {
        "in_scope": ("ja, im Prüfbereich der Behörde", "yes, in the agency's scope"),
        "provider": ("ja, freigegebener E-Mail-Dienstleister", "yes, a permitted mail provider"),
        "asked": ("ja, Einzelprüfung", "yes, a one-off scan"),
        "third_party": ("nein, Dritter außerhalb des Prüfbereichs", "no, a third party outside the scope"),
        "out_of_scope": ("nein, Adresse außerhalb des Prüfbereichs", "no, an address outside the scope"),
        "unresolved": ("nein, keine Adresse", "no, no address"),
        "over_limit": ("nein, zu viele MX-Server", "no, too many MX hosts"),
    },
    "resolver_verdict": {
        "secure": ("gesichert (AD-Bit)", "secure (AD bit)"),
        "insecure": ("ungesichert", "insecure"),
        "bogus": ("fehlerhaft (SERVFAIL)", "bogus (SERVFAIL)"),
    },
    "result": {
        "VULNERABLE_STRONG_ORACLE": ("anfällig (starkes Orakel)", "vulnerable (strong oracle)"),
        "VULNERABLE_WEAK_ORACLE": ("anfällig (schwaches Orakel)", "vulnerable (weak oracle)"),
    },
    # why a part of the TLS scan was not tested (`untested`: part → reason)
    "untested": {
        "CONNECTIVITY_ISSUE": ("Verbindung abgebrochen oder abgelehnt", "connection dropped or refused"),
        "DEADLINE": ("Zeitvorgabe des Durchlaufs abgelaufen", "the run's deadline came first"),
        "NOT_APPLICABLE": ("bei diesem Server nicht durchführbar", "cannot be run against this server"),
        "NO_SSLYZE_CONNECTIVITY": ("keine Verbindung zum Server möglich", "no connection to the server at all"),
        "HANDSHAKE_REJECTED": ("Handshake vom Server abgelehnt", "handshake refused by the server"),
        "CLIENT_CERTIFICATE_NEEDED": ("Server verlangt ein Client-Zertifikat", "the server wants a client certificate"),
        "BUG_IN_SSLYZE": ("Fehler im Scanner (sslyze)", "scanner error (sslyze)"),
        "WRONG_USAGE": ("Fehler im Scanner (sslyze)", "scanner error (sslyze)"),
    },
}

_WORDS: dict[str, dict[str, str]] = {
    "de": {
        "server": "vom Server gemeldet",
        "yes": "ja",
        "no": "nein",
        "empty": "keine",
        "requirement": "Anforderung",
        "section": "Abschnitt",
        "expected": "Erwartet",
        "found": "Vorgefunden",
        "part": "Prüfteil",
        "why": "Grund",
    },
    "en": {
        "server": "reported by the server",
        "yes": "yes",
        "no": "no",
        "empty": "none",
        "requirement": "Requirement",
        "section": "Section",
        "expected": "Expected",
        "found": "Found",
        "part": "Part",
        "why": "Reason",
    },
}


@dataclass(frozen=True, slots=True)
class Pair:
    """One entry of a group."""

    label: str
    value: str
    server: bool


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    server: bool  # every cell of the column is the server's


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]


Kind = Literal["text", "list", "group", "table"]


@dataclass(frozen=True, slots=True)
class Item:
    """One field of the evidence, ready to show. `value` by `kind`: text → str, list → tuple of str, group → tuple
    of Pair, table → Table. `server`: the value (of a group or table: some entry or column) is the server's;
    `note` is the marker for it in the reader's language ("vom Server gemeldet")."""

    label: str
    kind: Kind
    value: str | tuple[str, ...] | tuple[Pair, ...] | Table
    server: bool
    note: str


def evidence_items(detail: Mapping[str, Any], key: str, language: str) -> list[Item]:
    """The evidence of finding `key` for a reader of `language` ("de", "en" or a tag such as "de-DE"), field by
    field in the detail's order."""
    lang = "de" if language.split("-", 1)[0].strip().lower() == "de" else "en"
    return [_item(name, value, key, lang) for name, value in detail.items()]


def field_for(name: str, key: str) -> Field | None:
    """The vocabulary's entry for top-level field `name` of finding `key`; None when it has none."""
    for (pattern, field_name), found in FOR_KEY.items():
        if field_name == name and key_matches(pattern, key):
            return found
    return FIELDS.get(name)


def _unknown(name: str) -> Field:
    return _server(name, name)


def _item(name: str, value: Any, key: str, lang: str) -> Item:
    field = field_for(name, key) or _unknown(name)
    note = _WORDS[lang]["server"]

    def item(kind: Kind, shown: str | tuple[str, ...] | tuple[Pair, ...] | Table, server: bool) -> Item:
        return Item(field.label(lang), kind, shown, server, note)

    if name == "failed" and _records(value) and all("requirement" in r for r in value):
        return item("table", _compliance(value, key, lang), True)
    if name == "untested" and isinstance(value, Mapping):
        return item("table", _untested(value, lang), False)
    if isinstance(value, Mapping):
        pairs = tuple(_pair(k, v, lang) for k, v in value.items())
        return item("group", pairs, any(p.server for p in pairs))
    if _records(value):
        table = _table(value, lang)
        return item("table", table, any(c.server for c in table.columns))
    if isinstance(value, list | tuple):
        if not value:
            return item("text", _WORDS[lang]["empty"], False)
        return item("list", tuple(_text(v, name, lang, field.server) for v in value), field.server)
    return item("text", _text(value, name, lang, field.server), field.server)


def _records(value: Any) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _nested(name: str) -> Field:
    return NESTED.get(name) or _unknown(name)


def _pair(name: str, value: Any, lang: str) -> Pair:
    field = _nested(name)
    return Pair(field.label(lang), _text(value, name, lang, field.server), field.server)


def _table(records: Sequence[Mapping[str, Any]], lang: str) -> Table:
    names = list(dict.fromkeys(name for record in records for name in record))
    fields = [_nested(name) for name in names]
    rows = tuple(
        tuple(_text(r[n], n, lang, f.server) if n in r else "" for n, f in zip(names, fields, strict=True))
        for r in records
    )
    return Table(tuple(Column(f.label(lang), f.server) for f in fields), rows)


def _compliance(failures: Sequence[Mapping[str, Any]], key: str, lang: str) -> Table:
    """Failed requirements: what each expects in the reader's language (from the check, by requirement id, falling
    back to the English text the finding stored) and what was found (the server's)."""
    words = _WORDS[lang]
    check = REGISTRY.get(key.split(".", 1)[0])
    columns = (
        Column(words["requirement"], False),
        Column(words["section"], False),
        Column(words["expected"], False),
        Column(words["found"], True),
    )
    rows = []
    for failure in failures:
        requirement = str(failure.get("requirement", ""))
        expected = check.requirement_text(key, requirement, lang) if check is not None else None
        found = _text(_without_reprs(str(failure.get("evidence", ""))), "evidence", lang, server=True)
        rows.append((requirement, str(failure.get("section", "")), expected or str(failure.get("text", "")), found))
    return Table(columns, tuple(rows))


# a Python set or list of strings inside a message ({'TLSv1', 'SSLv3'}): sslyze's Mozilla checker writes them
_REPR = re.compile(r"[{\[(]((?:'[^'{}\[\]]*'(?:, )?)+)[}\])]")


def _without_reprs(message: str) -> str:
    return _REPR.sub(lambda m: m.group(1).replace("'", ""), message)


def _untested(parts: Mapping[str, Any], lang: str) -> Table:
    columns = (Column(_WORDS[lang]["part"], False), Column(_WORDS[lang]["why"], False))
    return Table(columns, tuple((str(part), _text(why, "untested", lang, False)) for part, why in parts.items()))


def _text(value: Any, name: str, lang: str, server: bool) -> str:
    """One value as text; the server's with its control characters made visible (a hostile banner's escapes)."""
    words = _WORDS[lang]
    if value is None:
        return "\u2013"  # an en dash: no value
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, float):
        shown = f"{value:.3f}".rstrip("0").rstrip(".")
        return shown.replace(".", ",") if lang == "de" else shown
    if isinstance(value, list | tuple):
        return ", ".join(_text(v, name, lang, server) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{_nested(k).label(lang)}: {_text(v, k, lang, server)}" for k, v in value.items())
    translated = VALUES.get(name, {}).get(str(value))
    if translated is not None:
        return translated[0] if lang == "de" else translated[1]
    return printable(value) if server else str(value)
