"""The mail check's transport findings (STARTTLS, DANE), to be merged into the mail check's catalogue.

Severities, and why:
- `mail.starttls.missing` is HIGH: without STARTTLS every message to the domain crosses the internet in clear text,
  readable and changeable by anyone on the path; for an authority's mail (personal data) that is a direct
  exposure, and enabling it costs one setting.
- `mail.starttls.untrusted` is MEDIUM, not HIGH: SMTP between servers is opportunistic (RFC 3207, RFC 7435), and
  sending MTAs encrypt to an untrusted or wrongly named certificate rather than fall back to clear text, so the mail
  is still encrypted against a passive listener. It is not LOW either: the encryption gives no protection against an
  active attacker, and the moment the domain publishes MTA-STS in enforce mode (RFC 8461 §4.2: the certificate must
  be trusted and carry the MX name) senders that honour it stop delivering; DANE-EE (RFC 7672) does not need trust
  but needs a matching TLSA record.
- `mail.dane.mismatch` is HIGH: DANE-aware senders (Postfix with `smtp_tls_security_level = dane`, Exim, the large
  German providers) refuse to deliver to an MX whose certificate matches no TLSA record: mail is delayed, then
  bounced.
- `mail.dane.unsigned` is LOW: TLSA records in a zone that does not validate are ignored by every sender (RFC 7672
  §2.2), so they protect nothing; nothing breaks, but the operator believes in a protection that is not there.
- `mail.dane.missing` is INFO: DANE is worth adding where the zone is signed already (BSI TR-03108 requires it of
  providers that claim compliance), but nothing is exposed without it beyond what STARTTLS findings say.
"""

from __future__ import annotations

from checks.base import FindingSpec, Texts
from monitor.models import Severity

_TLSA_HOWTO = (
    "Generate the record from the certificate the MX serves: `ldns-dane create <mx> 25 3 1 1` or "
    "`danetool --tlsa-rr --host=<mx> --port=25 --proto=tcp --load-certificate=cert.pem`, or "
    "`openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`, and publish it as "
    "`_25._tcp.<mx> TLSA 3 1 1 <digest>`. Roll over safely: publish the next key's record next to the current one "
    '("3 1 1 current" and "3 1 1 next"), wait at least two TTLs, then switch the certificate, then remove the old '
    "record. Keeping the key on renewal (certbot `--reuse-key`) keeps a 3 1 1 record valid."
)
_TLSA_HOWTO_DE = (
    "Erzeugen Sie den Eintrag aus dem Zertifikat, das der MX ausliefert: `ldns-dane create <mx> 25 3 1 1` oder "
    "`danetool --tlsa-rr --host=<mx> --port=25 --proto=tcp --load-certificate=cert.pem` oder "
    "`openssl x509 -in cert.pem -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum`, und veröffentlichen "
    "Sie ihn als `_25._tcp.<mx> TLSA 3 1 1 <Prüfsumme>`. Für einen sicheren Wechsel veröffentlichen Sie den Eintrag "
    "des nächsten Schlüssels neben dem aktuellen („3 1 1 aktuell“ und „3 1 1 nächster“), warten mindestens zwei "
    "TTL-Zeiträume, tauschen dann das Zertifikat und entfernen zuletzt den alten Eintrag. Wird bei der Verlängerung "
    "der Schlüssel beibehalten (certbot `--reuse-key`), bleibt ein 3-1-1-Eintrag gültig."
)

STARTTLS_MISSING = FindingSpec(
    "mail.starttls.missing",
    Severity.HIGH,
    "A mail server of the domain does not offer STARTTLS",
    "The MX named in the detail does not offer STARTTLS in its EHLO reply (or refuses it), so mail to the domain "
    "is delivered to it in clear text: anyone on the path can read and change it. The detail names the MX host and "
    "what it answered; a 454 reply means STARTTLS is announced but the server cannot start TLS (often a missing or "
    "unreadable certificate file).",
    "Enable STARTTLS for inbound mail with a certificate for the MX name: Postfix `smtpd_tls_security_level = may` "
    "with `smtpd_tls_chain_files = /etc/ssl/private/mx.key, /etc/ssl/mx-fullchain.pem` (before 3.4: "
    "`smtpd_tls_cert_file` and `smtpd_tls_key_file`), then `postfix reload`; Exim `tls_advertise_hosts = *` with "
    "`tls_certificate` and `tls_privatekey`; Exchange: assign a certificate to the SMTP service "
    "(`Enable-ExchangeCertificate -Thumbprint <thumbprint> -Services SMTP`) and keep TLS enabled on the receive "
    "connector. Check with `openssl s_client -starttls smtp -connect <mx>:25 -servername <mx>`.",
    de=Texts(
        "Ein Mailserver der Domain bietet kein STARTTLS an",
        "Der im Detail genannte MX bietet in seiner Antwort auf EHLO kein STARTTLS an (oder lehnt es ab). E-Mails an "
        "die Domain werden ihm daher unverschlüsselt zugestellt: Jeder auf dem Übertragungsweg kann sie lesen und "
        "verändern. Das Detail nennt den MX-Host und seine Antwort; die Antwort 454 bedeutet, dass STARTTLS zwar "
        "angekündigt wird, der Server TLS aber nicht starten kann (oft eine fehlende oder nicht lesbare "
        "Zertifikatsdatei).",
        "Aktivieren Sie STARTTLS für eingehende E-Mails mit einem Zertifikat für den MX-Namen: Postfix "
        "`smtpd_tls_security_level = may` mit `smtpd_tls_chain_files = /etc/ssl/private/mx.key, "
        "/etc/ssl/mx-fullchain.pem` (vor Version 3.4: `smtpd_tls_cert_file` und `smtpd_tls_key_file`), danach "
        "`postfix reload`; Exim `tls_advertise_hosts = *` mit `tls_certificate` und `tls_privatekey`; Exchange: "
        "Weisen Sie dem SMTP-Dienst ein Zertifikat zu (`Enable-ExchangeCertificate -Thumbprint <thumbprint> "
        "-Services SMTP`) und lassen Sie TLS am Empfangsconnector aktiviert. Prüfen können Sie das mit "
        "`openssl s_client -starttls smtp -connect <mx>:25 -servername <mx>`.",
    ),
)

STARTTLS_UNTRUSTED = FindingSpec(
    "mail.starttls.untrusted",
    Severity.MEDIUM,
    "A mail server's certificate is not trusted or not issued for its name",
    "The MX named in the detail offers STARTTLS, but its certificate does not lead to a trusted certification "
    "authority (the system store or the agency's CA bundle, as for the TLS check), or does not carry the MX host "
    "name. Senders still encrypt (SMTP encryption is opportunistic), but an active attacker can impersonate the "
    "server, and a domain that publishes MTA-STS in enforce mode loses mail from senders that honour it.",
    "Install a certificate from a trusted CA whose subjectAltName contains the MX host name exactly as in the MX "
    "record, with its intermediate certificates: Postfix `smtpd_tls_chain_files` (key first, then the full chain), "
    "Exim `tls_certificate` pointing to the full-chain file, Exchange `New-ExchangeCertificate` / import of the CA "
    "certificate and `Enable-ExchangeCertificate -Services SMTP`. ACME (certbot, acme.sh) works for MX names that "
    "have an A record. If the server deliberately uses a self-signed certificate, publish a DANE TLSA 3 1 1 record "
    "for it in a signed zone instead.",
    de=Texts(
        "Das Zertifikat eines Mailservers ist nicht vertrauenswürdig oder nicht für seinen Namen ausgestellt",
        "Der im Detail genannte MX bietet STARTTLS an, aber sein Zertifikat führt zu keiner vertrauenswürdigen "
        "Zertifizierungsstelle (Systemspeicher oder CA-Bündel der Behörde, wie bei der TLS-Prüfung) oder enthält "
        "den Namen des MX-Hosts nicht. Absender verschlüsseln trotzdem (die Verschlüsselung zwischen Mailservern "
        "ist opportunistisch), doch ein aktiver Angreifer kann sich als Server ausgeben, und veröffentlicht die "
        "Domain MTA-STS im Modus „enforce“, gehen E-Mails von Absendern verloren, die MTA-STS beachten.",
        "Installieren Sie ein Zertifikat einer vertrauenswürdigen Zertifizierungsstelle, dessen subjectAltName den "
        "MX-Hostnamen genau so enthält wie der MX-Eintrag, samt Zwischenzertifikaten: Postfix "
        "`smtpd_tls_chain_files` (zuerst der Schlüssel, dann die vollständige Kette), Exim `tls_certificate` mit "
        "der Datei der vollständigen Kette, Exchange `New-ExchangeCertificate` bzw. Import des Zertifikats und "
        "`Enable-ExchangeCertificate -Services SMTP`. ACME (certbot, acme.sh) funktioniert für MX-Namen mit "
        "A-Eintrag. Verwendet der Server bewusst ein selbstsigniertes Zertifikat, veröffentlichen Sie stattdessen "
        "einen DANE-Eintrag TLSA 3 1 1 dafür in einer signierten Zone.",
    ),
)

DANE_UNSIGNED = FindingSpec(
    "mail.dane.unsigned",
    Severity.LOW,
    "TLSA records of a mail server are in a zone that DNSSEC does not secure",
    "The domain publishes TLSA records for the MX named in the detail, but the answer does not validate as "
    "DNSSEC-secure. Senders ignore such records (RFC 7672): they protect nothing, while giving the impression of "
    "DANE protection.",
    "Sign the zone that holds `_25._tcp.<mx>` and publish its DS record at the parent (see the DNSSEC findings), "
    "or remove the TLSA records. With an MX in a provider's zone, ask the provider to sign it.",
    de=Texts(
        "TLSA-Einträge eines Mailservers liegen in einer nicht durch DNSSEC gesicherten Zone",
        "Die Domain veröffentlicht TLSA-Einträge für den im Detail genannten MX, die Antwort ist aber nicht durch "
        "DNSSEC gesichert. Absender ignorieren solche Einträge (RFC 7672): Sie schützen nichts und erwecken doch "
        "den Eindruck eines DANE-Schutzes.",
        "Signieren Sie die Zone, die `_25._tcp.<mx>` enthält, und hinterlegen Sie ihren DS-Eintrag in der "
        "übergeordneten Zone (siehe die DNSSEC-Befunde), oder entfernen Sie die TLSA-Einträge. Liegt der MX in der "
        "Zone eines Dienstleisters, bitten Sie diesen um die Signierung.",
    ),
)

DANE_MISMATCH = FindingSpec(
    "mail.dane.mismatch",
    Severity.HIGH,
    "No TLSA record matches the certificate a mail server serves",
    "The MX named in the detail has DNSSEC-secured TLSA records, but none of the usable ones (usage 2 or 3; RFC "
    "7672 makes 0 and 1 unusable for SMTP) matches the certificate chain it serves. DANE-aware senders (Postfix, "
    "Exim and large German mail providers) do not deliver to it: mail is delayed and then bounced. Usually the "
    "certificate was renewed with a new key and the TLSA record was not updated.",
    "Publish a TLSA record for the certificate the server serves now, and keep one for the next key before each "
    "renewal. " + _TLSA_HOWTO,
    de=Texts(
        "Kein TLSA-Eintrag passt zum Zertifikat eines Mailservers",
        "Der im Detail genannte MX hat durch DNSSEC gesicherte TLSA-Einträge, aber keiner der verwendbaren "
        "(Verwendung 2 oder 3; RFC 7672 schließt 0 und 1 für SMTP aus) passt zur Zertifikatskette, die er "
        "ausliefert. DANE-fähige Absender (Postfix, Exim und große deutsche E-Mail-Anbieter) stellen ihm keine "
        "E-Mails zu: Sie werden verzögert und dann zurückgewiesen. Meist wurde das Zertifikat mit neuem Schlüssel "
        "erneuert, ohne den TLSA-Eintrag anzupassen.",
        "Veröffentlichen Sie einen TLSA-Eintrag für das Zertifikat, das der Server jetzt ausliefert, und vor jeder "
        "Erneuerung zusätzlich einen für den nächsten Schlüssel. " + _TLSA_HOWTO_DE,
    ),
)

DANE_MISSING = FindingSpec(
    "mail.dane.missing",
    Severity.INFO,
    "A mail server in a signed zone has no TLSA record",
    "The zone of the MX named in the detail is DNSSEC-signed, but there is no TLSA record at `_25._tcp.<mx>`. "
    "With one, DANE-aware senders would insist on an authenticated, encrypted connection (RFC 7672), which stops "
    "downgrade and impersonation attacks; BSI TR-03108 (secure e-mail transport) requires DANE of compliant "
    "providers.",
    "Publish a TLSA record for the MX's certificate and configure your own outbound server to use DANE too "
    "(Postfix `smtp_dns_support_level = dnssec` and `smtp_tls_security_level = dane`). " + _TLSA_HOWTO,
    de=Texts(
        "Ein Mailserver in einer signierten Zone hat keinen TLSA-Eintrag",
        "Die Zone des im Detail genannten MX ist mit DNSSEC signiert, unter `_25._tcp.<mx>` gibt es aber keinen "
        "TLSA-Eintrag. Mit einem solchen Eintrag bestünden DANE-fähige Absender auf einer authentisierten, "
        "verschlüsselten Verbindung (RFC 7672), was Herabstufungs- und Identitätsangriffe verhindert; die BSI TR-03108 "
        "(Sicherer E-Mail-Transport) verlangt DANE von konformen Anbietern.",
        "Veröffentlichen Sie einen TLSA-Eintrag für das Zertifikat des MX und stellen Sie auch Ihren eigenen "
        "ausgehenden Server auf DANE um (Postfix `smtp_dns_support_level = dnssec` und "
        "`smtp_tls_security_level = dane`). " + _TLSA_HOWTO_DE,
    ),
)

MX_UNREACHABLE = FindingSpec(
    "mail.mx.unreachable",
    Severity.LOW,
    "A mail server of the domain does not answer on port 25",
    "The MX named in the detail refused the connection, did not finish the SMTP dialogue in time or rejected the "
    "session. Sending servers try the next MX and retry later, so mail is delayed rather than lost; an MX that "
    "stays unreachable for days makes senders bounce mail. Its STARTTLS and DANE could not be tested.",
    "Remove MX records of servers that no longer receive mail, or make the server accept connections on port 25 "
    "(firewall, service running, greeting with 220).",
    de=Texts(
        "Ein Mailserver der Domain antwortet nicht auf Port 25",
        "Der im Detail genannte MX hat die Verbindung abgelehnt, den SMTP-Dialog nicht rechtzeitig beendet oder die "
        "Sitzung zurückgewiesen. Absender versuchen den nächsten MX und später erneut, E-Mails verzögern sich also; "
        "bleibt ein MX tagelang unerreichbar, weisen Absender E-Mails zurück. STARTTLS und DANE des Servers konnten "
        "nicht geprüft werden.",
        "Entfernen Sie MX-Einträge von Servern, die keine E-Mails mehr annehmen, oder sorgen Sie dafür, dass der "
        "Server auf Port 25 Verbindungen annimmt (Firewall, Dienst gestartet, Begrüßung mit 220).",
    ),
)

MX_THIRD_PARTY = FindingSpec(
    "mail.mx.third_party",
    Severity.INFO,
    "Mail of the domain is received by servers outside the agency's scope",
    "The MX hosts named in the detail are not the agency's (a hosted mail provider, a municipal data centre): the "
    "monitor did not connect to them, so their STARTTLS and DANE are not tested here. The CERT can permit a provider "
    "for probing (setting `POSTURE_MAIL_PROVIDERS`); the agency can add the hosts to its scope if they are its own.",
    "Nothing to do if the provider is intended. Ask the provider for its STARTTLS and DANE support, or ask the CERT "
    "to permit probing it.",
    de=Texts(
        "E-Mails der Domain nehmen Server außerhalb des Geltungsbereichs der Behörde an",
        "Die im Detail genannten MX-Server gehören nicht der Behörde (ein E-Mail-Dienstleister, ein kommunales "
        "Rechenzentrum): Der Monitor hat sich nicht mit ihnen verbunden, ihr STARTTLS und DANE werden hier also nicht "
        "geprüft. Das CERT kann einen Dienstleister für die Prüfung freigeben (Einstellung "
        "`POSTURE_MAIL_PROVIDERS`); sind es eigene Server, kann die Behörde sie in ihren Geltungsbereich aufnehmen.",
        "Nichts zu tun, wenn der Dienstleister gewollt ist. Fragen Sie den Dienstleister nach STARTTLS und DANE oder "
        "bitten Sie das CERT, ihn für die Prüfung freizugeben.",
    ),
)

TRANSPORT_FINDINGS = (
    STARTTLS_MISSING,
    STARTTLS_UNTRUSTED,
    DANE_UNSIGNED,
    DANE_MISMATCH,
    DANE_MISSING,
    MX_UNREACHABLE,
    MX_THIRD_PARTY,
)
