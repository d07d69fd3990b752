"""The DNSSEC check's finding catalogue. docs/findings.md is generated from these entries: keep them readable.

Where peers differ, the choice and the reason:
- An insecure delegation (no DS) is MEDIUM: internet.nl fails a domain without DNSSEC; Zonemaster and DNSViz call it
  a notice, because nothing is broken. For a public authority it is a gap in a widely adopted protection, not an
  outage.
- A bogus domain is CRITICAL: every validating resolver (most German access providers, public resolvers) answers
  SERVFAIL, so the web site and mail are gone for those users, which is worse than no DNSSEC at all.
- Weak algorithms follow the signing column of RFC 8624 (now kept by IANA, RFC 9904) as updated by RFC 9905: SHA-1
  algorithms MUST NOT sign. Validators still accept them (RFC 8624's validation column), so the resolver's verdict
  stays secure and the check reads the algorithms itself. Zonemaster treats them alike; DNSViz only warns.
"""

from __future__ import annotations

from checks.base import FindingSpec, Texts
from monitor.models import Severity

# what a municipal IT department does in the common setups: registrar/DENIC, BIND, Knot, PowerDNS
_DS_UPDATE_DE = (
    "Den DS-Eintrag (bei .de: den öffentlichen Schlüssel, DNSKEY) hinterlegen Sie über Ihren Registrar bzw. "
    "Hoster; bei .de-Domains übermittelt der Registrar ihn an die DENIC. Den passenden Eintrag zeigt: BIND "
    "`dig @localhost <zone> DNSKEY | dnssec-dsfromkey -f - <zone>`, Knot `keymgr <zone> ds`, PowerDNS "
    "`pdnsutil show-zone <zone>`."
)
_DS_UPDATE = (
    "The DS record (for .de: the public key, DNSKEY) reaches the parent through your registrar or hosting provider; "
    "for .de the registrar passes it to DENIC. The right record is shown by BIND `dig @localhost <zone> DNSKEY | "
    "dnssec-dsfromkey -f - <zone>`, Knot `keymgr <zone> ds`, PowerDNS `pdnsutil show-zone <zone>`."
)
_RESIGN_DE = (
    "Sorgen Sie dafür, dass die Zone automatisch und laufend neu signiert wird: BIND `dnssec-policy default;` im "
    "`zone`-Block (bis Version 9.18 zusätzlich `inline-signing yes;`), Zustand mit `rndc dnssec -status <zone>`; "
    "Knot `dnssec-signing: on` mit einer `policy`, sofort neu signieren mit `knotc zone-sign <zone>`; PowerDNS "
    "signiert beim Ausliefern selbst (`pdnsutil secure-zone <zone>`). Eine einmal mit `dnssec-signzone` oder "
    "`ldns-signzone` signierte Zonendatei läuft unweigerlich ab: Stellen Sie auf automatische Signierung um."
)
_RESIGN = (
    "Make the signer re-sign the zone automatically and continuously: BIND `dnssec-policy default;` in the `zone` "
    "block (up to 9.18 also `inline-signing yes;`), status with `rndc dnssec -status <zone>`; Knot "
    "`dnssec-signing: on` with a `policy`, re-sign now with `knotc zone-sign <zone>`; PowerDNS signs while serving "
    "(`pdnsutil secure-zone <zone>`). A zone file signed once with `dnssec-signzone` or `ldns-signzone` will "
    "expire: switch to automatic signing."
)

UNSIGNED = FindingSpec(
    "dns.dnssec.unsigned", Severity.MEDIUM, "The domain is not protected by DNSSEC",
    "Validating resolvers treat the domain as insecure: in almost every case the parent zone (for example de.) "
    "publishes no DS record for it (an insecure delegation), so forged answers for the domain cannot be detected. "
    "The detail says whether the zone is signed already (then only the DS record is missing) and, when DS records "
    "exist, why the resolver still does not validate (an algorithm it does not support, or an unsigned parent).",
    "Sign the zone (BIND `dnssec-policy default;`, Knot `dnssec-signing: on`, PowerDNS `pdnsutil secure-zone "
    "<zone>`, or the hosting provider's DNSSEC switch) and publish the DS record at the parent. " + _DS_UPDATE,
    de=Texts(
        "Die Domain ist nicht durch DNSSEC geschützt",
        "Validierende Resolver behandeln die Domain als ungesichert: Fast immer veröffentlicht die übergeordnete "
        "Zone (zum Beispiel de.) keinen DS-Eintrag für sie (ungesicherte Delegation). Gefälschte Antworten für die "
        "Domain lassen sich so nicht erkennen. Das Detail nennt, ob die Zone bereits signiert ist (dann fehlt nur der "
        "DS-Eintrag) und, falls DS-Einträge vorhanden sind, warum der Resolver trotzdem nicht validiert (ein von ihm "
        "nicht unterstütztes Verfahren oder eine nicht signierte übergeordnete Zone).",
        "Signieren Sie die Zone (BIND `dnssec-policy default;`, Knot `dnssec-signing: on`, PowerDNS `pdnsutil "
        "secure-zone <zone>` oder die DNSSEC-Option Ihres Hosters) und veröffentlichen Sie anschließend den "
        "DS-Eintrag in der übergeordneten Zone. " + _DS_UPDATE_DE,
    ),
)  # fmt: skip

BOGUS = FindingSpec(
    "dns.dnssec.bogus", Severity.CRITICAL, "DNSSEC validation of the domain fails",
    "The configured validating resolver answers SERVFAIL for the domain, and the same question with checking "
    "disabled (CD bit) succeeds: the signatures do not validate. Every validating resolver (most German access "
    "providers, the large public resolvers) does the same, so web site and mail of the domain are unreachable for "
    "their users. The detail holds the resolver's reason (its Extended DNS Error code and text, RFC 8914, where it "
    "sent one), the sets that failed and the cause the check found; a cause with its own key (a stale DS, an "
    "expired signature) is reported under that key as well.",
    "Act at once. For a stale DS after a key change, publish the DS of the current key at the parent (or remove "
    "the DS to go back to an unsigned but reachable domain). For expired signatures, re-sign the zone. " + _DS_UPDATE,
    de=Texts(
        "Die DNSSEC-Validierung der Domain schlägt fehl",
        "Der eingestellte validierende Resolver antwortet für die Domain mit SERVFAIL, während dieselbe Anfrage ohne "
        "Prüfung (CD-Bit) gelingt: Die Signaturen lassen sich nicht validieren. Jeder validierende Resolver (die "
        "meisten deutschen Zugangsanbieter, die großen öffentlichen Resolver) verhält sich ebenso; Website und "
        "E-Mail der Domain sind für deren Nutzer nicht erreichbar. Das Detail enthält die Begründung des Resolvers "
        "(Extended-DNS-Error-Code und -Text nach RFC 8914, sofern gesendet), die betroffenen Einträge und die "
        "gefundene Ursache; eine Ursache mit eigenem Befund (veralteter DS-Eintrag, abgelaufene Signatur) wird "
        "zusätzlich unter diesem gemeldet.",
        "Handeln Sie sofort. Bei einem veralteten DS-Eintrag nach einem Schlüsselwechsel hinterlegen Sie den "
        "DS-Eintrag des aktuellen Schlüssels (oder entfernen den DS-Eintrag, um die Domain vorübergehend ungesichert, "
        "aber erreichbar zu machen). Bei abgelaufenen Signaturen signieren Sie die Zone neu. " + _DS_UPDATE_DE,
    ),
)  # fmt: skip

DS_MISMATCH = FindingSpec(
    "dns.dnssec.ds_mismatch", Severity.CRITICAL, "The parent's DS record matches no key of the zone",
    "None of the DS records the parent zone publishes is the digest of a DNSKEY that signs the zone's key set: "
    "usually a stale DS after a key rollover or a move to another DNS provider, or DNSSEC switched off at the "
    "provider while the DS stayed at the registry. Validators cannot build the chain of trust and treat the domain "
    "as bogus. The detail lists the DS records and the zone's keys (key tag, algorithm).",
    "Replace the DS record at the parent with the DS of the zone's current key-signing key, then wait for the old "
    "DS's TTL before removing the old key. " + _DS_UPDATE,
    de=Texts(
        "Der DS-Eintrag der übergeordneten Zone passt zu keinem Schlüssel der Zone",
        "Keiner der DS-Einträge der übergeordneten Zone ist der Hashwert eines DNSKEY, der die Schlüsselmenge der "
        "Zone signiert: meist ein veralteter DS-Eintrag nach einem Schlüsselwechsel oder einem Wechsel des "
        "DNS-Anbieters, oder DNSSEC wurde beim Anbieter abgeschaltet, der DS-Eintrag blieb aber bei der Registry. "
        "Validierende Resolver können die Vertrauenskette nicht bilden und behandeln die Domain als fehlerhaft. Das "
        "Detail listet die DS-Einträge und die Schlüssel der Zone (Key-Tag, Algorithmus).",
        "Ersetzen Sie den DS-Eintrag in der übergeordneten Zone durch den DS-Eintrag des aktuellen "
        "Schlüssel-Signaturschlüssels (KSK) der Zone; entfernen Sie den alten Schlüssel erst nach Ablauf der TTL des "
        "alten DS-Eintrags. " + _DS_UPDATE_DE,
    ),
)  # fmt: skip

SIGNATURE_EXPIRED = FindingSpec(
    "dns.dnssec.signature_expired", Severity.CRITICAL, "DNSSEC signatures of the zone have expired",
    "Every signature (RRSIG) over one of the zone's sets (SOA, NS, DNSKEY, apex A/AAAA/MX) has passed its "
    "expiration time: validators reject the set and the domain fails for them. Usually the signer stopped "
    "re-signing (a service that is down, a zone file signed once by hand). The detail names the sets and when "
    "their signatures expired.",
    _RESIGN,
    de=Texts(
        "DNSSEC-Signaturen der Zone sind abgelaufen",
        "Alle Signaturen (RRSIG) über mindestens einen Eintragssatz der Zone (SOA, NS, DNSKEY, A/AAAA/MX der Domain "
        "selbst) sind abgelaufen: Validierende Resolver verwerfen die Einträge, die Domain ist für sie nicht "
        "erreichbar. Meist signiert der Signierdienst nicht mehr neu (Dienst ausgefallen, Zonendatei einmalig von "
        "Hand signiert). Das Detail nennt die Eintragssätze und den Ablaufzeitpunkt.",
        _RESIGN_DE,
    ),
)  # fmt: skip

SIGNATURE_NOT_YET_VALID = FindingSpec(
    "dns.dnssec.signature_not_yet_valid", Severity.CRITICAL, "DNSSEC signatures of the zone are not valid yet",
    "Every signature over one of the zone's sets has an inception time in the future (RFC 4035, section 5.3.1): "
    "validators reject the set. Usually the signing system's clock is wrong. The detail names the sets and the "
    "inception times.",
    "Correct the signing server's clock (NTP) and re-sign the zone (BIND `rndc sign <zone>`, Knot `knotc zone-sign "
    "<zone>`, PowerDNS signs while serving: check the clock of the serving host).",
    de=Texts(
        "DNSSEC-Signaturen der Zone sind noch nicht gültig",
        "Alle Signaturen über mindestens einen Eintragssatz der Zone beginnen erst in der Zukunft (RFC 4035, "
        "Abschnitt 5.3.1): Validierende Resolver verwerfen die Einträge. Meist geht die Uhr des signierenden Systems "
        "falsch. Das Detail nennt die Eintragssätze und die Gültigkeitsbeginne.",
        "Stellen Sie die Uhrzeit des signierenden Servers richtig (NTP-Synchronisation) und signieren Sie die Zone "
        "neu (BIND `rndc sign <zone>`, Knot `knotc zone-sign <zone>`; PowerDNS signiert beim Ausliefern, prüfen Sie "
        "dort die Uhrzeit des Servers).",
    ),
)  # fmt: skip

SIGNATURE_EXPIRING = FindingSpec(
    "dns.dnssec.signature_expiring", Severity.LOW, "DNSSEC signatures of the zone expire soon",
    "The earliest expiration among the signatures of the zone's SOA, NS, DNSKEY and apex A/AAAA/MX sets (for each "
    "set its longest-lived signature) lies within the warning window. When it passes, the domain fails for "
    "validating resolvers. Severity rises as the time nears: low within `expiry_warning_days` (default 7), medium "
    "within half of it, high within `expiry_high_days` (default 2). Signers differ in how long before expiry they "
    "re-sign (BIND's default `dnssec-policy`: 5 days before the end of a 14-day validity); for a zone whose signer "
    "re-signs later than that, set `expiry_warning_days` for the domain or the agency below its refresh time. The "
    "detail gives the days left and the set.",
    _RESIGN,
    de=Texts(
        "DNSSEC-Signaturen der Zone laufen bald ab",
        "Der früheste Ablauf unter den Signaturen der Eintragssätze SOA, NS, DNSKEY und A/AAAA/MX der Domain (je "
        "Eintragssatz die am längsten gültige Signatur) liegt im Warnzeitraum. Danach ist die Domain für "
        "validierende Resolver nicht mehr erreichbar. Der Schweregrad steigt, je näher der Zeitpunkt rückt: niedrig "
        "ab `expiry_warning_days` (standardmäßig 7 Tage), mittel ab der Hälfte davon, hoch ab `expiry_high_days` "
        "(standardmäßig 2 Tage). Signierdienste signieren unterschiedlich lange vor dem Ablauf neu (BIND mit der "
        "Standard-`dnssec-policy`: 5 Tage vor dem Ende einer 14-tägigen Gültigkeit); signiert der Dienst einer Zone "
        "später neu, setzen Sie `expiry_warning_days` für die Domain oder die Behörde unter diese Zeit. Das Detail "
        "nennt die verbleibenden Tage und den Eintragssatz.",
        _RESIGN_DE,
    ),
)  # fmt: skip

WEAK_ALGORITHM = FindingSpec(
    "dns.dnssec.weak_algorithm", Severity.MEDIUM, "The zone is signed with an algorithm that must no longer sign",
    "A DNSKEY or signature of the zone uses an algorithm that RFC 8624 (now the IANA registry, RFC 9904) and RFC "
    "9905 forbid for signing: RSAMD5 (1), DSA (3), RSASHA1 (5), DSA-NSEC3-SHA1 (6), RSASHA1-NSEC3-SHA1 (7) or "
    "ECC-GOST (12). MD5 and SHA-1 allow forged signatures with enough computing power, and resolvers are dropping "
    "them: a resolver that no longer supports the algorithm treats the domain as unsigned. Validators still accept "
    "most of them today, so the check reads the algorithms itself. The detail names algorithm and number.",
    "Roll the zone over to ECDSAP256SHA256 (13), or ED25519 (15) where the parent and the resolvers support it, "
    "and replace the DS. BIND: set `keys { csk lifetime unlimited algorithm ecdsap256sha256; };` in the "
    "`dnssec-policy` and BIND performs the algorithm rollover; Knot: `algorithm: ecdsap256sha256` in the "
    "`policy`; PowerDNS: `pdnsutil add-zone-key <zone> ksk active ecdsa256`, then remove the old keys with "
    "`pdnsutil remove-zone-key` once the new DS is published. " + _DS_UPDATE,
    de=Texts(
        "Die Zone ist mit einem nicht mehr zulässigen Verfahren signiert",
        "Ein DNSKEY oder eine Signatur der Zone verwendet ein Verfahren, das RFC 8624 (heute das IANA-Verzeichnis, "
        "RFC 9904) und RFC 9905 zum Signieren verbieten: RSAMD5 (1), DSA (3), RSASHA1 (5), DSA-NSEC3-SHA1 (6), "
        "RSASHA1-NSEC3-SHA1 (7) oder ECC-GOST (12). Mit MD5 und SHA-1 lassen sich Signaturen mit genügend "
        "Rechenleistung fälschen, und Resolver geben diese Verfahren auf: Ein Resolver, der das Verfahren nicht mehr "
        "unterstützt, behandelt die Domain als unsigniert. Heute akzeptieren Validierer die meisten davon noch, "
        "deshalb liest die Prüfung die Verfahren selbst aus. Das Detail nennt Verfahren und Nummer.",
        "Stellen Sie die Zone auf ECDSAP256SHA256 (13) um (oder ED25519 (15), wo übergeordnete Zone und Resolver es "
        "unterstützen) und ersetzen Sie den DS-Eintrag. BIND: "
        "`keys { csk lifetime unlimited algorithm ecdsap256sha256; };` in der `dnssec-policy`, BIND führt den "
        "Algorithmuswechsel selbst durch; Knot: `algorithm: ecdsap256sha256` in der `policy`; PowerDNS: "
        "`pdnsutil add-zone-key <zone> ksk active ecdsa256`, die alten Schlüssel nach Veröffentlichung des neuen "
        "DS-Eintrags mit `pdnsutil remove-zone-key` entfernen. " + _DS_UPDATE_DE,
    ),
)  # fmt: skip

NSEC3_ITERATIONS = FindingSpec(
    "dns.dnssec.nsec3_iterations", Severity.LOW, "The zone's NSEC3 uses extra hash iterations",
    "The zone proves non-existence with NSEC3 and more than 0 additional hash iterations. RFC 9276 requires 0: "
    "iterations do not stop zone enumeration, but cost every validator CPU time (a denial-of-service lever). "
    "Above 100 it is medium: validators may treat the zone's negative answers as insecure or fail them (RFC 9276, "
    "section 3.2), and several do above 150. A salt adds nothing either (RFC 9276: none). The detail gives "
    "iterations and salt.",
    "Set 0 iterations and no salt. BIND: `nsec3param iterations 0 optout no salt-length 0;` in the "
    "`dnssec-policy`; Knot: `nsec3-iterations: 0` and `nsec3-salt-length: 0` in the `policy`; PowerDNS: "
    "`pdnsutil set-nsec3 <zone> '1 0 0 -'` then `pdnsutil rectify-zone <zone>`.",
    de=Texts(
        "NSEC3 der Zone verwendet zusätzliche Hash-Iterationen",
        "Die Zone belegt das Nichtvorhandensein von Namen mit NSEC3 und mehr als 0 zusätzlichen Hash-Iterationen. RFC "
        "9276 verlangt 0: Iterationen verhindern das Auflisten der Zone nicht, kosten aber jeden Validierer "
        "Rechenzeit (ein Hebel für Überlastangriffe). Über 100 ist der Befund mittel: Validierer dürfen negative "
        "Antworten der Zone dann als ungesichert behandeln oder verwerfen (RFC 9276, Abschnitt 3.2), mehrere tun das "
        "über 150. Auch ein Salt bringt keinen Nutzen (RFC 9276: keiner). Das Detail nennt Iterationen und Salt.",
        "Stellen Sie 0 Iterationen und kein Salt ein. BIND: `nsec3param iterations 0 optout no salt-length 0;` in der "
        "`dnssec-policy`; Knot: `nsec3-iterations: 0` und `nsec3-salt-length: 0` in der `policy`; PowerDNS: "
        "`pdnsutil set-nsec3 <zone> '1 0 0 -'`, danach `pdnsutil rectify-zone <zone>`.",
    ),
)  # fmt: skip

FINDINGS = (
    UNSIGNED,
    BOGUS,
    DS_MISMATCH,
    SIGNATURE_EXPIRED,
    SIGNATURE_NOT_YET_VALID,
    SIGNATURE_EXPIRING,
    WEAK_ALGORITHM,
    NSEC3_ITERATIONS,
)
