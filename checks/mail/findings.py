"""The mail check's DNS-policy findings. Severities and their reasons: docs/mail.md."""

from __future__ import annotations

from checks.base import FindingSpec, Texts
from monitor.models import Severity

_SPF_EXAMPLE = (
    '`@ TXT "v=spf1 mx include:spf.<provider>.de -all"` (only your MX hosts and your provider send; everything '
    "else fails)"
)
_SPF_EXAMPLE_DE = (
    '`@ TXT "v=spf1 mx include:spf.<anbieter>.de -all"` (nur Ihre MX-Server und Ihr Dienstleister versenden; '
    "alles andere wird abgewiesen)"
)
_DMARC_ROLLOUT = (
    'Roll DMARC out in steps: `_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@<domain>"`, read the aggregate '
    "reports for a few weeks until every legitimate sender passes SPF or DKIM, then `p=quarantine`, then "
    "`p=reject`. Keep `rua` so you see what fails."
)
_DMARC_ROLLOUT_DE = (
    'Führen Sie DMARC schrittweise ein: `_dmarc TXT "v=DMARC1; p=none; rua=mailto:dmarc@<domain>"`, werten Sie '
    "einige Wochen lang die Sammelberichte aus, bis alle legitimen Absender SPF oder DKIM bestehen, dann "
    "`p=quarantine`, danach `p=reject`. Behalten Sie `rua` bei, damit Sie Fehlschläge sehen."
)

SPF_MISSING = FindingSpec(
    "mail.spf.missing",
    Severity.MEDIUM,
    "The domain publishes no SPF record",
    "Without SPF (RFC 7208) receiving servers cannot tell which servers may send mail in the domain's name; forged "
    "sender addresses of the agency are easier to deliver. A domain that sends no mail should say so too.",
    f'Publish one TXT record at the domain, e.g. {_SPF_EXAMPLE}. A domain that sends no mail: `@ TXT "v=spf1 -all"`.',
    de=Texts(
        "Die Domain veröffentlicht keinen SPF-Eintrag",
        "Ohne SPF (RFC 7208) können empfangende Server nicht erkennen, welche Server im Namen der Domain E-Mails "
        "versenden dürfen; gefälschte Absenderadressen Ihrer Behörde werden leichter zugestellt. Auch eine Domain, "
        "die keine E-Mails versendet, sollte das mitteilen.",
        f"Veröffentlichen Sie genau einen TXT-Eintrag an der Domain, z. B. {_SPF_EXAMPLE_DE}. Für eine Domain ohne "
        'E-Mail-Versand: `@ TXT "v=spf1 -all"`.',
    ),
)
SPF_PERMISSIVE = FindingSpec(
    "mail.spf.permissive",
    Severity.HIGH,
    "The SPF record lets any server send for the domain",
    "The record ends in `+all` or `?all`, or has neither an `all` nor a `redirect`: every server on the internet "
    "passes (or is neutral), so SPF protects nothing and a `+all` even vouches for forgeries. The detail names the "
    "mechanism.",
    f"End the record with `-all` after listing the servers that really send, e.g. {_SPF_EXAMPLE}.",
    de=Texts(
        "Der SPF-Eintrag erlaubt jedem Server, für die Domain zu versenden",
        "Der Eintrag endet auf `+all` oder `?all` oder hat weder `all` noch `redirect`: Jeder Server im Internet "
        "besteht die Prüfung (oder bleibt neutral). SPF schützt so nicht, `+all` bestätigt Fälschungen sogar. "
        "Das Detail nennt den Mechanismus.",
        f"Beenden Sie den Eintrag mit `-all`, nachdem Sie alle tatsächlich versendenden Server aufgeführt haben, "
        f"z. B. {_SPF_EXAMPLE_DE}.",
    ),
)
SPF_SOFTFAIL = FindingSpec(
    "mail.spf.softfail",
    Severity.LOW,
    "The SPF record ends in ~all (soft fail)",
    "`~all` asks receivers to accept mail from unlisted servers and only mark it: a common transition state. With "
    "DMARC `p=reject` the practical difference is small; without DMARC forgeries still get through.",
    "Once the aggregate reports (DMARC `rua`) show that every legitimate sender is listed, change `~all` to `-all`.",
    de=Texts(
        "Der SPF-Eintrag endet auf ~all (Softfail)",
        "`~all` bittet Empfänger, E-Mails nicht gelisteter Server anzunehmen und nur zu markieren: ein üblicher "
        "Übergangszustand. Mit DMARC `p=reject` ist der Unterschied gering; ohne DMARC kommen Fälschungen weiter an.",
        "Sobald die DMARC-Sammelberichte (`rua`) zeigen, dass alle legitimen Absender erfasst sind, ändern Sie "
        "`~all` in `-all`.",
    ),
)
SPF_TOO_MANY_LOOKUPS = FindingSpec(
    "mail.spf.too_many_lookups",
    Severity.MEDIUM,
    "The SPF record needs more than 10 DNS lookups",
    "RFC 7208 §4.6.4 limits an SPF evaluation to 10 DNS-querying terms (include, a, mx, ptr, exists, redirect), "
    "counted through every include. Beyond that receivers return a permanent error and SPF fails for legitimate "
    "mail too. The detail gives the count.",
    "Remove includes of services you no longer use, replace `a`/`mx`/`ptr` by `ip4:`/`ip6:` ranges, and ask "
    "providers for a flat include; check the count with a tool such as `dig` or an SPF checker after each change.",
    de=Texts(
        "Der SPF-Eintrag benötigt mehr als 10 DNS-Abfragen",
        "RFC 7208 §4.6.4 begrenzt eine SPF-Prüfung auf 10 abfragende Terme (include, a, mx, ptr, exists, "
        "redirect), gezählt über alle includes. Darüber liefern Empfänger einen dauerhaften Fehler und SPF schlägt "
        "auch für legitime E-Mails fehl. Das Detail nennt die Anzahl.",
        "Entfernen Sie includes nicht mehr genutzter Dienste, ersetzen Sie `a`/`mx`/`ptr` durch `ip4:`/`ip6:`-"
        "Bereiche und fragen Sie Ihre Dienstleister nach einem flachen include; prüfen Sie die Anzahl nach jeder "
        "Änderung erneut.",
    ),
)
SPF_INVALID = FindingSpec(
    "mail.spf.invalid",
    Severity.MEDIUM,
    "The SPF record is invalid",
    "Receivers treat the record as a permanent error, which most handle like no SPF at all: a syntax error, several "
    "v=spf1 records at one name, an include or redirect of a domain without SPF, an include loop, or more than two "
    "lookups that return nothing (void lookups). The detail says which.",
    "Keep exactly one `v=spf1` TXT record per name, fix the term the detail names, and remove includes of domains "
    "that publish no SPF record.",
    de=Texts(
        "Der SPF-Eintrag ist ungültig",
        "Empfänger werten den Eintrag als dauerhaften Fehler, meist so, als gäbe es kein SPF: ein Syntaxfehler, "
        "mehrere v=spf1-Einträge an einem Namen, ein include oder redirect auf eine Domain ohne SPF, eine "
        "include-Schleife oder mehr als zwei Abfragen ohne Ergebnis (void lookups). Das Detail nennt den Grund.",
        "Halten Sie genau einen `v=spf1`-TXT-Eintrag je Name vor, korrigieren Sie den im Detail genannten Term und "
        "entfernen Sie includes auf Domains ohne SPF-Eintrag.",
    ),
)
DMARC_MISSING = FindingSpec(
    "mail.dmarc.missing",
    Severity.MEDIUM,
    "The domain has no DMARC policy",
    "Neither `_dmarc.<domain>` nor the organisational domain's `_dmarc` publishes a DMARC record (RFC 7489): "
    "receivers apply no policy to mail that forges the domain in the visible From address, and the agency gets no "
    "reports about it.",
    _DMARC_ROLLOUT,
    de=Texts(
        "Die Domain hat keine DMARC-Richtlinie",
        "Weder `_dmarc.<domain>` noch `_dmarc` der Organisationsdomain veröffentlicht einen DMARC-Eintrag "
        "(RFC 7489): Empfänger wenden auf E-Mails mit gefälschter sichtbarer Absenderadresse keine Richtlinie an, "
        "und Ihre Behörde erhält keine Berichte darüber.",
        _DMARC_ROLLOUT_DE,
    ),
)
DMARC_POLICY_NONE = FindingSpec(
    "mail.dmarc.policy_none",
    Severity.LOW,
    "The DMARC policy is p=none (monitoring only)",
    "`p=none` collects reports but asks receivers to deliver forged mail as usual: the first step of a rollout, "
    "not protection.",
    "When the reports show that legitimate mail passes, move to `p=quarantine` and then `p=reject`.",
    de=Texts(
        "Die DMARC-Richtlinie ist p=none (nur Beobachtung)",
        "`p=none` sammelt Berichte, bittet Empfänger aber, gefälschte E-Mails normal zuzustellen: der erste Schritt "
        "einer Einführung, kein Schutz.",
        "Sobald die Berichte zeigen, dass legitime E-Mails bestehen, stellen Sie auf `p=quarantine` und danach auf "
        "`p=reject` um.",
    ),
)
DMARC_INVALID = FindingSpec(
    "mail.dmarc.invalid",
    Severity.MEDIUM,
    "The DMARC record is invalid",
    "Receivers ignore a DMARC record that does not begin with `v=DMARC1`, lacks a valid `p`, or stands next to a "
    "second record: the domain then has no policy in effect. A bad value of an optional tag (`adkim`, `aspf`, "
    "`fo`, `ri`, `pct`, `rua`, `ruf`, `sp`) is replaced by its default (RFC 7489 §6.3) and the policy still "
    "applies: then the finding is low. The detail names the tag.",
    'Publish exactly one record, e.g. `_dmarc TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@<domain>"`, and fix '
    "the tag the detail names.",
    de=Texts(
        "Der DMARC-Eintrag ist ungültig",
        "Empfänger ignorieren einen DMARC-Eintrag, der nicht mit `v=DMARC1` beginnt, kein gültiges `p` enthält oder "
        "neben einem zweiten Eintrag steht: Dann gilt für die Domain keine Richtlinie. Ein fehlerhafter Wert eines "
        "optionalen Tags (`adkim`, `aspf`, `fo`, `ri`, `pct`, `rua`, `ruf`, `sp`) wird durch seinen Standardwert "
        "ersetzt (RFC 7489 §6.3), die Richtlinie gilt weiter: Dann ist der Befund niedrig. Das Detail nennt das Tag.",
        'Veröffentlichen Sie genau einen Eintrag, z. B. `_dmarc TXT "v=DMARC1; p=quarantine; '
        'rua=mailto:dmarc@<domain>"`, und korrigieren Sie das im Detail genannte Tag.',
    ),
)
DMARC_PARTIAL = FindingSpec(
    "mail.dmarc.partial",
    Severity.LOW,
    "The DMARC policy applies to only part of the mail (pct below 100)",
    "With `pct` below 100 receivers apply the policy to that share of failing mail only; the rest is treated one "
    "step milder. The detail gives pct.",
    "Raise `pct` step by step to 100 (or remove the tag, 100 is the default).",
    de=Texts(
        "Die DMARC-Richtlinie gilt nur für einen Teil der E-Mails (pct unter 100)",
        "Mit `pct` unter 100 wenden Empfänger die Richtlinie nur auf diesen Anteil der fehlschlagenden E-Mails an; "
        "der Rest wird eine Stufe milder behandelt. Das Detail nennt pct.",
        "Erhöhen Sie `pct` schrittweise auf 100 (oder entfernen Sie das Tag, 100 ist der Standardwert).",
    ),
)
DMARC_NO_RUA = FindingSpec(
    "mail.dmarc.no_rua",
    Severity.INFO,
    "The DMARC record asks for no aggregate reports (no rua)",
    "Without `rua` nobody sees which servers send in the domain's name and whether legitimate mail fails: a policy "
    "change becomes guesswork.",
    "Add `rua=mailto:dmarc@<domain>` (a mailbox or a report service you trust).",
    de=Texts(
        "Der DMARC-Eintrag fordert keine Sammelberichte an (kein rua)",
        "Ohne `rua` sieht niemand, welche Server im Namen der Domain versenden und ob legitime E-Mails "
        "fehlschlagen: Eine Änderung der Richtlinie wird zum Ratespiel.",
        "Ergänzen Sie `rua=mailto:dmarc@<domain>` (ein Postfach oder ein Berichtsdienst Ihres Vertrauens).",
    ),
)
TLSRPT_MISSING = FindingSpec(
    "mail.tlsrpt.missing",
    Severity.INFO,
    "The domain requests no TLS reports (TLS-RPT)",
    "Without a `_smtp._tls` record (RFC 8460) sending servers do not report failed encrypted deliveries to the "
    "agency: problems with MTA-STS or DANE stay unnoticed.",
    'Publish `_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>"`.',
    de=Texts(
        "Die Domain fordert keine TLS-Berichte an (TLS-RPT)",
        "Ohne `_smtp._tls`-Eintrag (RFC 8460) melden sendende Server fehlgeschlagene verschlüsselte Zustellungen "
        "nicht an Ihre Behörde: Probleme mit MTA-STS oder DANE bleiben unbemerkt.",
        'Veröffentlichen Sie `_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>"`.',
    ),
)
TLSRPT_INVALID = FindingSpec(
    "mail.tlsrpt.invalid",
    Severity.LOW,
    "The TLS-RPT record is invalid",
    "The `_smtp._tls` record does not follow RFC 8460 §3 (no `rua`, a URI that is neither mailto: nor https:, or "
    "several records): senders send no reports. The detail says which.",
    'Publish exactly one record: `_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>"`.',
    de=Texts(
        "Der TLS-RPT-Eintrag ist ungültig",
        "Der `_smtp._tls`-Eintrag entspricht nicht RFC 8460 §3 (kein `rua`, eine Adresse weder mailto: noch https: "
        "oder mehrere Einträge): Absender schicken keine Berichte. Das Detail nennt den Grund.",
        'Veröffentlichen Sie genau einen Eintrag: `_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tlsrpt@<domain>"`.',
    ),
)
MTA_STS_MISSING = FindingSpec(
    "mail.mta_sts.missing",
    Severity.LOW,
    "The domain publishes no MTA-STS policy",
    "Without MTA-STS (RFC 8461) or DANE, sending servers fall back to unencrypted delivery when an attacker strips "
    "STARTTLS. MTA-STS needs a `_mta-sts` TXT record and a policy at https://mta-sts.<domain>/.well-known/"
    "mta-sts.txt.",
    "Publish the policy file (`version: STSv1`, `mode: testing`, one `mx:` line per MX host, `max_age: 604800`), "
    'then `_mta-sts TXT "v=STSv1; id=<date-serial>"`; move to `mode: enforce` once TLS reports show no errors.',
    de=Texts(
        "Die Domain veröffentlicht keine MTA-STS-Richtlinie",
        "Ohne MTA-STS (RFC 8461) oder DANE weichen sendende Server auf unverschlüsselte Zustellung aus, wenn ein "
        "Angreifer STARTTLS unterdrückt. MTA-STS braucht einen `_mta-sts`-TXT-Eintrag und eine Richtlinie unter "
        "https://mta-sts.<domain>/.well-known/mta-sts.txt.",
        "Veröffentlichen Sie die Richtliniendatei (`version: STSv1`, `mode: testing`, je MX-Server eine "
        '`mx:`-Zeile, `max_age: 604800`), dann `_mta-sts TXT "v=STSv1; id=<datum-serial>"`; stellen Sie auf '
        "`mode: enforce` um, sobald die TLS-Berichte fehlerfrei sind.",
    ),
)
MTA_STS_INVALID = FindingSpec(
    "mail.mta_sts.invalid",
    Severity.LOW,
    "The MTA-STS record or policy is invalid",
    "The `_mta-sts` TXT record (RFC 8461 §3.1: `v=STSv1; id=…`, exactly one) or the policy file (§3.2) does not "
    "parse: senders apply no policy. The detail says which part.",
    'Keep exactly one `_mta-sts TXT "v=STSv1; id=<1-32 letters or digits>"` and a policy with version, mode, '
    "max_age and mx lines.",
    de=Texts(
        "Der MTA-STS-Eintrag oder die Richtlinie ist ungültig",
        "Der `_mta-sts`-TXT-Eintrag (RFC 8461 §3.1: `v=STSv1; id=…`, genau einer) oder die Richtliniendatei (§3.2) "
        "ist fehlerhaft: Absender wenden keine Richtlinie an. Das Detail nennt den Teil.",
        'Halten Sie genau einen `_mta-sts TXT "v=STSv1; id=<1–32 Buchstaben oder Ziffern>"` vor und eine Richtlinie '
        "mit version, mode, max_age und mx-Zeilen.",
    ),
)

MTA_STS_TESTING = FindingSpec(
    "mail.mta_sts.testing",
    Severity.LOW,
    "The MTA-STS policy is in testing mode",
    "With `mode: testing` (RFC 8461 §5) sending servers only report failed secure deliveries (TLS-RPT) and deliver "
    "anyway, in clear text if an attacker strips STARTTLS: the policy does not protect yet.",
    "Once the TLS reports show no failures for a few weeks, set `mode: enforce` in the policy file and change the "
    "`id` in the `_mta-sts` TXT record so that senders fetch the new policy.",
    de=Texts(
        "Die MTA-STS-Richtlinie ist im Testmodus",
        "Mit `mode: testing` (RFC 8461 §5) melden sendende Server fehlgeschlagene sichere Zustellungen nur (TLS-RPT) "
        "und stellen trotzdem zu, auch unverschlüsselt, wenn ein Angreifer STARTTLS unterdrückt: Die Richtlinie "
        "schützt noch nicht.",
        "Sobald die TLS-Berichte einige Wochen lang keine Fehler zeigen, setzen Sie `mode: enforce` in der "
        "Richtliniendatei und ändern die `id` im `_mta-sts`-TXT-Eintrag, damit Absender die neue Richtlinie laden.",
    ),
)
MTA_STS_MX_MISMATCH = FindingSpec(
    "mail.mta_sts.mx_mismatch",
    Severity.MEDIUM,
    "An MX of the domain is not covered by the MTA-STS policy",
    "The policy's `mx:` lines (RFC 8461 §4.1) do not match the MX host named in the detail. In `enforce` mode "
    "(then the finding is high) senders that honour MTA-STS refuse to deliver to that MX; in `testing` mode they "
    "report a failure. Usually an MX was added or renamed without updating the policy.",
    "Add an `mx:` line for the host (or a `*.` pattern for its parent domain) to the policy file and change the `id` "
    "in the `_mta-sts` TXT record.",
    de=Texts(
        "Ein MX der Domain ist nicht durch die MTA-STS-Richtlinie abgedeckt",
        "Die `mx:`-Zeilen der Richtlinie (RFC 8461 §4.1) passen nicht zum im Detail genannten MX. Im Modus `enforce` "
        "(dann ist der Befund hoch) stellen Absender, die MTA-STS beachten, diesem MX nichts zu; im Modus `testing` "
        "melden sie einen Fehler. Meist wurde ein MX ergänzt oder umbenannt, ohne die Richtlinie anzupassen.",
        "Ergänzen Sie eine `mx:`-Zeile für den Server (oder ein `*.`-Muster für seine übergeordnete Domain) in der "
        "Richtliniendatei und ändern Sie die `id` im `_mta-sts`-TXT-Eintrag.",
    ),
)

POLICY_FINDINGS: tuple[FindingSpec, ...] = (
    SPF_MISSING,
    SPF_PERMISSIVE,
    SPF_SOFTFAIL,
    SPF_TOO_MANY_LOOKUPS,
    SPF_INVALID,
    DMARC_MISSING,
    DMARC_POLICY_NONE,
    DMARC_INVALID,
    DMARC_PARTIAL,
    DMARC_NO_RUA,
    TLSRPT_MISSING,
    TLSRPT_INVALID,
    MTA_STS_MISSING,
    MTA_STS_INVALID,
    MTA_STS_TESTING,
    MTA_STS_MX_MISMATCH,
)
