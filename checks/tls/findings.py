"""The TLS check's finding catalogue. docs/findings.md is generated from these entries: keep them readable."""

from __future__ import annotations

from checks.base import FindingSpec, Texts
from monitor.models import Severity

_RENEW = "Renew the certificate (automate it with ACME where possible) and deploy it with its full chain."
_RENEW_DE = (
    "Erneuern Sie das Zertifikat (möglichst automatisch per ACME, z. B. mit certbot oder win-acme) und spielen Sie es "
    "mit der vollständigen Zertifikatskette ein: nginx `ssl_certificate` mit der Fullchain-Datei, Apache "
    "`SSLCertificateFile`, IIS: Zertifikat importieren und in der HTTPS-Sitebindung auswählen."
)
_PROTOCOLS_DE = (
    "nginx: `ssl_protocols TLSv1.2 TLSv1.3;`; Apache: `SSLProtocol -all +TLSv1.2 +TLSv1.3`; IIS: veraltete Protokolle "
    "unter Schannel abschalten, in der Registrierung "
    "(`HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols`) oder mit dem Werkzeug IIS "
    "Crypto, danach den Server neu starten"
)
_CIPHERS_DE = (
    "nginx: `ssl_ciphers`, Apache: `SSLCipherSuite`; eine Positivliste wie `ECDHE+AESGCM` schließt alle schwachen "
    "Verfahren aus. IIS: die Suites unter Schannel deaktivieren, mit IIS Crypto (Vorlage „Best Practices“) oder per "
    "PowerShell (`Disable-TlsCipherSuite`), danach den Server neu starten."
)
_HSTS_HEADER_DE = (
    'nginx `add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;`, Apache `Header always '
    'set Strict-Transport-Security "max-age=31536000; includeSubDomains"` (mod_headers)'
)

CERT_EXPIRED = FindingSpec(
    "tls.cert.expired", Severity.CRITICAL, "The server's certificate has expired",
    "The leaf certificate's notAfter date is in the past. Every client that checks certificates refuses the "
    "connection or shows a warning; users learn to click warnings away.",
    _RENEW,
    de=Texts(
        "Das Zertifikat des Servers ist abgelaufen",
        "Das Ablaufdatum (notAfter) des Serverzertifikats liegt in der Vergangenheit. Jeder Client, der Zertifikate "
        "prüft, lehnt die Verbindung ab oder zeigt eine Warnung; Nutzer gewöhnen sich daran, Warnungen wegzuklicken.",
        _RENEW_DE,
    ),
)  # fmt: skip
CERT_NOT_YET_VALID = FindingSpec(
    "tls.cert.not_yet_valid", Severity.HIGH, "The server's certificate is not valid yet",
    "The leaf certificate's notBefore date is in the future; clients reject it. Often a wrong clock on the CA "
    "or the server, or a certificate deployed too early.",
    "Deploy a certificate that is valid now and check the clocks (NTP) of the issuing system.",
    de=Texts(
        "Das Zertifikat des Servers ist noch nicht gültig",
        "Der Gültigkeitsbeginn (notBefore) des Serverzertifikats liegt in der Zukunft; Clients lehnen es ab. Ursache "
        "ist oft eine falsche Uhrzeit bei der Zertifizierungsstelle oder auf dem Server oder ein zu früh "
        "eingespieltes Zertifikat.",
        "Spielen Sie ein Zertifikat ein, das jetzt gültig ist, und prüfen Sie die Uhrzeit (NTP-Synchronisation) des "
        "Servers und des ausstellenden Systems.",
    ),
)  # fmt: skip
CERT_EXPIRING = FindingSpec(
    "tls.cert.expiring", Severity.LOW, "The server's certificate expires soon",
    "The leaf certificate expires within the warning window. Severity rises as the date nears "
    "(default: low at 30, medium at 14, high at 7 days; `expiry_warning_days`). `days_left` is in the detail.",
    _RENEW,
    de=Texts(
        "Das Zertifikat des Servers läuft bald ab",
        "Das Serverzertifikat läuft innerhalb des Warnzeitraums ab. Der Schweregrad steigt, je näher das Datum rückt "
        "(standardmäßig niedrig ab 30, mittel ab 14, hoch ab 7 Tagen); die verbleibenden Tage stehen im Detail "
        "(`days_left`).",
        _RENEW_DE,
    ),
)  # fmt: skip
CERT_HOSTNAME_MISMATCH = FindingSpec(
    "tls.cert.hostname_mismatch", Severity.HIGH, "The certificate does not name the host",
    "None of the certificate's subjectAltName entries matches the registered host name (RFC 6125 rules: one "
    "wildcard label at the left only; the subject CN is not used). Browsers refuse the connection.",
    "Issue a certificate whose subjectAltName lists this host name, or serve the right certificate for this "
    "name (SNI).",
    de=Texts(
        "Das Zertifikat passt nicht zum Hostnamen",
        "Keiner der subjectAltName-Einträge des Zertifikats passt zum registrierten Hostnamen (Regeln nach RFC 6125: "
        "höchstens ein Platzhalter, nur ganz links; der Common Name zählt nicht). Browser lehnen die Verbindung ab.",
        "Lassen Sie ein Zertifikat ausstellen, dessen subjectAltName diesen Hostnamen enthält, oder liefern Sie für "
        "diesen Namen das richtige Zertifikat aus (SNI): nginx `server_name` mit passendem `ssl_certificate` im "
        "selben `server`-Block, Apache `ServerName`/`ServerAlias` im passenden `<VirtualHost>`, IIS: "
        "HTTPS-Sitebindung mit Hostname und „Servernamensanzeige erforderlich“.",
    ),
)  # fmt: skip
CERT_SELF_SIGNED = FindingSpec(
    "tls.cert.self_signed", Severity.HIGH, "The server uses a self-signed certificate",
    "The leaf certificate is signed by its own key and is not a configured trust anchor. Clients cannot tell "
    "it from an attacker's certificate.",
    "Use a certificate from a public CA or from the agency's PKI; add that PKI's root to the monitor's "
    "`ca_file` if it is internal.",
    de=Texts(
        "Der Server verwendet ein selbstsigniertes Zertifikat",
        "Das Serverzertifikat ist mit seinem eigenen Schlüssel signiert und nicht als vertrauenswürdig hinterlegt. "
        "Clients können es nicht vom Zertifikat eines Angreifers unterscheiden.",
        "Verwenden Sie ein Zertifikat einer öffentlichen Zertifizierungsstelle oder der PKI Ihrer Behörde. Bei einer "
        "internen PKI senden Sie deren Stammzertifikat an Ihre CERT-Ansprechpartner, damit es in der Überwachung als "
        "vertrauenswürdig hinterlegt wird.",
    ),
)  # fmt: skip
CERT_UNTRUSTED_ROOT = FindingSpec(
    "tls.cert.untrusted_root", Severity.HIGH, "The certificate chain does not lead to a trusted root",
    "The served chain ends in a self-signed root that is neither in the Mozilla trust store nor in the "
    "configured extra CA bundle. Trust is judged from signatures alone, so a weak signature hash (MD5, SHA-1) "
    "is reported as tls.cert.weak_signature, not as this.",
    "Use a certificate from a publicly trusted CA, or register the internal PKI's root in `ca_file`.",
    de=Texts(
        "Die Zertifikatskette führt zu keinem vertrauenswürdigen Stammzertifikat",
        "Die ausgelieferte Zertifikatskette endet in einem selbstsignierten Stammzertifikat, das weder im "
        "Vertrauensspeicher von Mozilla noch unter den zusätzlich hinterlegten Stammzertifikaten steht. Eine schwache "
        "Signatur (MD5, SHA-1) wird nicht hier, sondern als `tls.cert.weak_signature` gemeldet.",
        "Verwenden Sie ein Zertifikat einer öffentlich vertrauenswürdigen Zertifizierungsstelle. Stammt es aus der "
        "internen PKI Ihrer Behörde, senden Sie deren Stammzertifikat an Ihre CERT-Ansprechpartner, damit es in der "
        "Überwachung hinterlegt wird.",
    ),
)  # fmt: skip
CERT_INCOMPLETE_CHAIN = FindingSpec(
    "tls.cert.incomplete_chain", Severity.MEDIUM, "The server does not send its intermediate certificate",
    "The served chain stops at a certificate that is not self-signed and whose issuer is neither sent nor a "
    "trust anchor. The detail names the missing issuer and, where the certificate names one, the URL it is "
    "published at (AIA caIssuers; never fetched). Browsers may fetch it; most other clients (APIs, mail, "
    "scripts) fail. When the issuer is an internal PKI's CA, its root also belongs in `ca_file`.",
    "Configure the server with the full chain file (leaf followed by the intermediates); for an internal PKI, "
    "also register its root in `ca_file`.",
    de=Texts(
        "Der Server sendet sein Zwischenzertifikat nicht mit",
        "Die ausgelieferte Zertifikatskette endet bei einem Zertifikat, das nicht selbstsigniert ist und dessen "
        "Aussteller weder mitgesendet wird noch als vertrauenswürdig hinterlegt ist. Das Detail nennt den fehlenden "
        "Aussteller und, falls angegeben, die Adresse, unter der er veröffentlicht ist (AIA). Browser laden ihn "
        "eventuell nach; die meisten anderen Clients (Schnittstellen, Mail, Skripte) scheitern.",
        "Hinterlegen Sie auf dem Server die vollständige Zertifikatskette (Serverzertifikat, danach die "
        "Zwischenzertifikate): nginx `ssl_certificate` mit der Fullchain-Datei, Apache `SSLCertificateFile` mit "
        "angehängten Zwischenzertifikaten (vor Version 2.4.8: `SSLCertificateChainFile`), IIS: das Zwischenzertifikat "
        "in den Zertifikatspeicher „Zwischenzertifizierungsstellen“ des Computers importieren. Bei einer internen PKI "
        "senden Sie zusätzlich deren Stammzertifikat an Ihre CERT-Ansprechpartner.",
    ),
)  # fmt: skip
CERT_WEAK_SIGNATURE = FindingSpec(
    "tls.cert.weak_signature", Severity.MEDIUM, "A served certificate is signed with SHA-1 or MD5",
    "A certificate below the root is signed with a broken hash function; collisions allow forged "
    "certificates. MD5 is high severity, SHA-1 medium. The detail names the certificate.",
    "Re-issue the certificate (and intermediates) with SHA-256 or stronger.",
    de=Texts(
        "Ein ausgeliefertes Zertifikat ist mit SHA-1 oder MD5 signiert",
        "Ein Zertifikat unterhalb des Stammzertifikats ist mit einer gebrochenen Hashfunktion signiert; Kollisionen "
        "ermöglichen gefälschte Zertifikate. MD5 wird als hoch, SHA-1 als mittel bewertet; das Detail nennt das "
        "Zertifikat.",
        "Lassen Sie das Zertifikat (und gegebenenfalls die Zwischenzertifikate) mit SHA-256 oder stärker neu "
        "ausstellen und spielen Sie es ein.",
    ),
)  # fmt: skip
CERT_WEAK_KEY = FindingSpec(
    "tls.cert.weak_key", Severity.HIGH, "The certificate's key is too short",
    "A served certificate has an RSA or DSA key below 2048 bits or an elliptic-curve key below 224 bits "
    "(the generally accepted floor). Profiles demanding more (BSI: 3000-bit RSA) report under their own key.",
    "Generate a new key (RSA 3072+ or ECDSA P-256/P-384) and re-issue the certificate.",
    de=Texts(
        "Der Schlüssel des Zertifikats ist zu kurz",
        "Ein ausgeliefertes Zertifikat hat einen RSA- oder DSA-Schlüssel unter 2048 Bit oder einen Schlüssel auf "
        "elliptischen Kurven unter 224 Bit (die allgemein anerkannte Untergrenze). Strengere Vorgaben (BSI: RSA ab "
        "3000 Bit) werden unter ihrem eigenen Befund gemeldet.",
        "Erzeugen Sie einen neuen Schlüssel (RSA mit mindestens 3072 Bit oder ECDSA mit P-256/P-384), stellen Sie "
        "damit eine neue Zertifikatsanforderung (CSR) und lassen Sie das Zertifikat neu ausstellen.",
    ),
)  # fmt: skip

PROTOCOL_SSLV2 = FindingSpec(
    "tls.protocol.sslv2", Severity.CRITICAL, "SSL 2.0 is enabled",
    "SSL 2.0 is broken beyond repair (RFC 6176) and enables DROWN against other servers sharing the key.",
    "Disable SSL 2.0.",
    de=Texts(
        "SSL 2.0 ist aktiviert",
        "SSL 2.0 ist grundlegend unsicher (RFC 6176) und ermöglicht den DROWN-Angriff auch gegen andere Server, die "
        "denselben Schlüssel verwenden.",
        f"Deaktivieren Sie SSL 2.0 und bieten Sie nur TLS 1.2 und 1.3 an ({_PROTOCOLS_DE}).",
    ),
)  # fmt: skip
PROTOCOL_SSLV3 = FindingSpec(
    "tls.protocol.sslv3", Severity.HIGH, "SSL 3.0 is enabled",
    "SSL 3.0 is prohibited (RFC 7568) and vulnerable to POODLE.",
    "Disable SSL 3.0.",
    de=Texts(
        "SSL 3.0 ist aktiviert",
        "SSL 3.0 ist verboten (RFC 7568) und für den POODLE-Angriff anfällig.",
        f"Deaktivieren Sie SSL 3.0 und bieten Sie nur TLS 1.2 und 1.3 an ({_PROTOCOLS_DE}).",
    ),
)  # fmt: skip
PROTOCOL_TLS1_0 = FindingSpec(
    "tls.protocol.tls1_0", Severity.MEDIUM, "TLS 1.0 is enabled",
    "TLS 1.0 is deprecated (RFC 8996), lacks modern AEAD suites and is not allowed by BSI TR-02102-2.",
    "Disable TLS 1.0; offer TLS 1.2 and 1.3.",
    de=Texts(
        "TLS 1.0 ist aktiviert",
        "TLS 1.0 ist veraltet (RFC 8996), bietet keine modernen AEAD-Cipher-Suites und ist nach BSI TR-02102-2 nicht "
        "zulässig.",
        f"Deaktivieren Sie TLS 1.0 und bieten Sie TLS 1.2 und 1.3 an ({_PROTOCOLS_DE}).",
    ),
)  # fmt: skip
PROTOCOL_TLS1_1 = FindingSpec(
    "tls.protocol.tls1_1", Severity.MEDIUM, "TLS 1.1 is enabled",
    "TLS 1.1 is deprecated (RFC 8996) and not allowed by BSI TR-02102-2.",
    "Disable TLS 1.1; offer TLS 1.2 and 1.3.",
    de=Texts(
        "TLS 1.1 ist aktiviert",
        "TLS 1.1 ist veraltet (RFC 8996) und nach BSI TR-02102-2 nicht zulässig.",
        f"Deaktivieren Sie TLS 1.1 und bieten Sie TLS 1.2 und 1.3 an ({_PROTOCOLS_DE}).",
    ),
)  # fmt: skip
PROTOCOL_NO_TLS1_2 = FindingSpec(
    "tls.protocol.no_tls1_2", Severity.HIGH, "TLS 1.2 is not offered",
    "The server does not accept TLS 1.2. High when it offers nothing newer either (only legacy protocols); "
    "informational when it is TLS 1.3-only, which is secure but excludes older clients.",
    "Enable TLS 1.2 (and 1.3).",
    de=Texts(
        "TLS 1.2 wird nicht angeboten",
        "Der Server nimmt keine Verbindungen mit TLS 1.2 an. Hoch, wenn er auch nichts Neueres anbietet (nur "
        "veraltete Protokolle); nur zur Information, wenn er ausschließlich TLS 1.3 anbietet: Das ist sicher, "
        "schließt aber ältere Clients aus.",
        "Aktivieren Sie TLS 1.2 (und 1.3): nginx `ssl_protocols TLSv1.2 TLSv1.3;`, Apache `SSLProtocol -all +TLSv1.2 "
        "+TLSv1.3`, IIS: TLS 1.2 unter Schannel in der Registrierung oder mit IIS Crypto aktivieren. Sehr alte "
        "Serversoftware muss dafür aktualisiert werden.",
    ),
)  # fmt: skip
PROTOCOL_NO_TLS1_3 = FindingSpec(
    "tls.protocol.no_tls1_3", Severity.INFO, "TLS 1.3 is not offered",
    "TLS 1.3 removes legacy cryptography and speeds up the handshake; its absence is not a weakness by itself.",
    "Enable TLS 1.3 when the server software supports it.",
    de=Texts(
        "TLS 1.3 wird nicht angeboten",
        "TLS 1.3 entfernt veraltete Kryptografie und beschleunigt den Verbindungsaufbau; sein Fehlen ist für sich "
        "allein keine Schwachstelle.",
        "Aktivieren Sie TLS 1.3, sobald die Serversoftware es unterstützt: nginx `ssl_protocols TLSv1.2 TLSv1.3;` "
        "(mit OpenSSL ab 1.1.1), Apache `SSLProtocol -all +TLSv1.2 +TLSv1.3` (ab Version 2.4.36), IIS ab Windows "
        "Server 2022 (dort standardmäßig aktiv).",
    ),
)  # fmt: skip

CIPHER_NULL = FindingSpec(
    "tls.cipher.null", Severity.CRITICAL, "Cipher suites without encryption are accepted",
    "A NULL cipher suite sends application data in clear text.", "Remove all NULL suites from the cipher list.",
    de=Texts(
        "Cipher-Suites ohne Verschlüsselung werden akzeptiert",
        "Eine NULL-Cipher-Suite überträgt die Anwendungsdaten im Klartext.",
        f"Entfernen Sie alle NULL-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_ANONYMOUS = FindingSpec(
    "tls.cipher.anonymous", Severity.CRITICAL, "Anonymous cipher suites are accepted",
    "Anonymous (aNULL) suites skip server authentication; any machine in the path can impersonate the server.",
    "Remove aNULL suites from the cipher list.",
    de=Texts(
        "Anonyme Cipher-Suites werden akzeptiert",
        "Anonyme Suites (aNULL) verzichten auf die Authentisierung des Servers; jeder Rechner auf dem Übertragungsweg "
        "kann sich als der Server ausgeben.",
        f"Entfernen Sie alle aNULL-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_EXPORT = FindingSpec(
    "tls.cipher.export", Severity.CRITICAL, "Export-grade cipher suites are accepted",
    "Export suites use 40- or 56-bit keys and enable FREAK and Logjam downgrades.",
    "Remove EXPORT suites from the cipher list.",
    de=Texts(
        "Cipher-Suites in Exportstärke werden akzeptiert",
        "Export-Suites verwenden 40- oder 56-Bit-Schlüssel und ermöglichen Herabstufungsangriffe wie FREAK und Logjam.",
        f"Entfernen Sie alle EXPORT-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_DES = FindingSpec(
    "tls.cipher.des", Severity.HIGH, "Single-DES cipher suites are accepted",
    "DES has a 56-bit key that can be searched exhaustively.", "Remove DES suites from the cipher list.",
    de=Texts(
        "Cipher-Suites mit einfachem DES werden akzeptiert",
        "DES hat einen 56-Bit-Schlüssel, der sich vollständig durchprobieren lässt.",
        f"Entfernen Sie alle DES-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_3DES = FindingSpec(
    "tls.cipher.3des", Severity.MEDIUM, "Triple-DES cipher suites are accepted",
    "3DES has a 64-bit block; long connections leak plaintext through birthday collisions (Sweet32).",
    "Remove 3DES suites from the cipher list.",
    de=Texts(
        "Cipher-Suites mit Triple-DES werden akzeptiert",
        "3DES hat eine Blockgröße von 64 Bit; bei langen Verbindungen wird durch Geburtstagskollisionen Klartext "
        "preisgegeben (Sweet32).",
        f"Entfernen Sie alle 3DES-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_RC4 = FindingSpec(
    "tls.cipher.rc4", Severity.HIGH, "RC4 cipher suites are accepted",
    "RC4 has exploitable keystream biases and is prohibited in TLS (RFC 7465).",
    "Remove RC4 suites from the cipher list.",
    de=Texts(
        "RC4-Cipher-Suites werden akzeptiert",
        "RC4 hat ausnutzbare Schwächen im Schlüsselstrom und ist in TLS verboten (RFC 7465).",
        f"Entfernen Sie alle RC4-Suites aus der Liste der Cipher-Suites. {_CIPHERS_DE}",
    ),
)  # fmt: skip
CIPHER_NO_FS = FindingSpec(
    "tls.cipher.no_forward_secrecy", Severity.MEDIUM, "Static RSA key exchange is accepted",
    "Suites with RSA key transport have no forward secrecy: whoever obtains the server key later can decrypt "
    "recorded traffic. They are also the precondition for ROBOT-style oracles.",
    "Offer only ECDHE/DHE suites for TLS 1.2 (and TLS 1.3).",
    de=Texts(
        "Statischer RSA-Schlüsselaustausch wird akzeptiert",
        "Suites mit RSA-Schlüsseltransport bieten keine Forward Secrecy: Wer später an den Serverschlüssel gelangt, "
        "kann aufgezeichneten Datenverkehr entschlüsseln. Sie sind außerdem die Voraussetzung für Angriffe wie ROBOT.",
        "Bieten Sie für TLS 1.2 nur Suites mit ECDHE- oder DHE-Schlüsselaustausch an (und aktivieren Sie TLS 1.3): "
        "nginx `ssl_ciphers` bzw. Apache `SSLCipherSuite` etwa mit `ECDHE+AESGCM`; IIS: die Suites `TLS_RSA_WITH_…` "
        "mit IIS Crypto oder per PowerShell (`Disable-TlsCipherSuite`) deaktivieren.",
    ),
)  # fmt: skip
CIPHER_CBC_ONLY = FindingSpec(
    "tls.cipher.cbc_only", Severity.LOW, "No AEAD cipher suite is offered",
    "Every accepted suite uses CBC with HMAC (MAC-then-encrypt), the source of padding-oracle attacks "
    "(Lucky 13, POODLE-TLS). No GCM, CCM or ChaCha20-Poly1305 suite is available.",
    "Offer AES-GCM suites (TLS 1.2) and enable TLS 1.3.",
    de=Texts(
        "Es wird keine AEAD-Cipher-Suite angeboten",
        "Alle akzeptierten Suites nutzen CBC mit HMAC (erst MAC, dann Verschlüsselung), die Ursache von "
        "Padding-Oracle-Angriffen (Lucky 13, POODLE-TLS). Keine Suite mit GCM, CCM oder ChaCha20-Poly1305 steht zur "
        "Verfügung.",
        "Bieten Sie AES-GCM-Suites für TLS 1.2 an und aktivieren Sie TLS 1.3: nginx `ssl_ciphers` bzw. Apache "
        "`SSLCipherSuite` etwa mit `ECDHE+AESGCM`; IIS: die Suites `TLS_ECDHE_…_GCM_…` aktivieren und nach vorn "
        "sortieren (IIS Crypto oder Gruppenrichtlinie „Reihenfolge der SSL-Verschlüsselungssammlungen“).",
    ),
)  # fmt: skip
DH_WEAK = FindingSpec(
    "tls.dh.weak", Severity.MEDIUM, "Weak Diffie-Hellman group",
    "A DHE suite uses a group below 2048 bits (high below 1024 bits): Logjam-class precomputation can break "
    "it. `dh_bits` is in the detail.",
    "Use ffdhe3072 or larger (RFC 7919) or prefer ECDHE; drop DHE if in doubt.",
    de=Texts(
        "Schwache Diffie-Hellman-Gruppe",
        "Eine DHE-Suite verwendet eine Gruppe unter 2048 Bit (hoch unter 1024 Bit): Vorberechnungen wie beim "
        "Logjam-Angriff können sie brechen. Die Gruppengröße steht im Detail (`dh_bits`).",
        "Verwenden Sie eine Gruppe mit mindestens 3072 Bit (ffdhe3072 nach RFC 7919; BSI TR-02102-2 verlangt "
        "mindestens 3000 Bit), bevorzugen Sie ECDHE oder verzichten Sie im Zweifel auf DHE: nginx `ssl_dhparam` mit "
        "einer 3072-Bit-Datei, Apache `SSLOpenSSLConfCmd DHParameters` mit einer solchen Datei, IIS: in der "
        "Registrierung `ServerMinKeyBitLength` unter `SCHANNEL\\KeyExchangeAlgorithms\\Diffie-Hellman` auf 3072 "
        "setzen oder die DHE-Suites deaktivieren.",
    ),
)  # fmt: skip
EC_WEAK_CURVE = FindingSpec(
    "tls.ec.weak_curve", Severity.MEDIUM, "Weak elliptic curve for key exchange",
    "The server accepts an elliptic curve below 224 bits for ECDHE.",
    "Limit the groups to X25519, P-256, P-384 (or the brainpool curves BSI names).",
    de=Texts(
        "Schwache elliptische Kurve für den Schlüsselaustausch",
        "Der Server akzeptiert für ECDHE eine elliptische Kurve unter 224 Bit.",
        "Beschränken Sie die Kurven auf X25519, P-256 und P-384 (für BSI TR-02102-2 ohne X25519, dafür gegebenenfalls "
        "die Brainpool-Kurven): nginx `ssl_ecdh_curve X25519:prime256v1:secp384r1;`, Apache `SSLOpenSSLConfCmd Curves "
        "X25519:prime256v1:secp384r1`, IIS: Reihenfolge der ECC-Kurven per Gruppenrichtlinie oder mit IIS Crypto "
        "festlegen.",
    ),
)  # fmt: skip

VULN_HEARTBLEED = FindingSpec(
    "tls.vuln.heartbleed", Severity.CRITICAL, "The server is vulnerable to Heartbleed",
    "CVE-2014-0160: the heartbeat extension leaks process memory, including private keys and session data.",
    "Update OpenSSL, restart the service, then replace the key and certificate and revoke the old one.",
    de=Texts(
        "Der Server ist für Heartbleed anfällig",
        "CVE-2014-0160: Die Heartbeat-Erweiterung gibt Teile des Prozessspeichers preis, darunter private Schlüssel "
        "und Sitzungsdaten.",
        "Aktualisieren Sie OpenSSL (oder die Firmware des Geräts) und starten Sie den Dienst neu. Erzeugen Sie danach "
        "einen neuen Schlüssel, lassen Sie das Zertifikat neu ausstellen und das alte widerrufen: Der alte Schlüssel "
        "muss als kompromittiert gelten.",
    ),
)  # fmt: skip
VULN_ROBOT = FindingSpec(
    "tls.vuln.robot", Severity.HIGH, "The server is vulnerable to ROBOT",
    "The RSA key exchange is a Bleichenbacher padding oracle: recorded sessions can be decrypted and the "
    "server's key used to sign. A weak oracle (slower to exploit) is medium.",
    "Update the TLS stack or load balancer firmware, and disable static RSA key exchange suites.",
    de=Texts(
        "Der Server ist für ROBOT anfällig",
        "Der RSA-Schlüsselaustausch bildet ein Bleichenbacher-Padding-Oracle: Aufgezeichnete Sitzungen lassen sich "
        "entschlüsseln, und mit dem Schlüssel des Servers kann signiert werden. Ein schwaches Oracle (langsamer "
        "auszunutzen) wird als mittel bewertet.",
        "Aktualisieren Sie die TLS-Bibliothek oder die Firmware des Load Balancers bzw. der Firewall (beachten Sie "
        "die Sicherheitshinweise des Herstellers) und deaktivieren Sie Suites mit statischem RSA-Schlüsselaustausch: "
        "nginx `ssl_ciphers` bzw. Apache `SSLCipherSuite` nur mit ECDHE-Suites, IIS: die Suites `TLS_RSA_WITH_…` "
        "deaktivieren.",
    ),
)  # fmt: skip
VULN_CCS = FindingSpec(
    "tls.vuln.ccs_injection", Severity.HIGH, "The server is vulnerable to OpenSSL CCS injection",
    "CVE-2014-0224: an early ChangeCipherSpec lets a man in the middle force weak keys.",
    "Update OpenSSL.",
    de=Texts(
        "Der Server ist für die OpenSSL-CCS-Injection anfällig",
        "CVE-2014-0224: Eine verfrühte ChangeCipherSpec-Nachricht erlaubt einem Angreifer auf dem Übertragungsweg "
        "(Man-in-the-Middle), schwache Schlüssel zu erzwingen.",
        "Aktualisieren Sie OpenSSL auf eine unterstützte Version (oder die Firmware des Geräts) und starten Sie den "
        "Dienst neu.",
    ),
)  # fmt: skip
VULN_COMPRESSION = FindingSpec(
    "tls.vuln.compression", Severity.MEDIUM, "TLS compression is enabled",
    "TLS-level compression leaks secrets such as session cookies through lengths (CRIME).",
    "Disable TLS compression.",
    de=Texts(
        "TLS-Kompression ist aktiviert",
        "Kompression auf TLS-Ebene verrät geheime Inhalte wie Sitzungs-Cookies über die Länge der Nachrichten (CRIME).",
        "Deaktivieren Sie die TLS-Kompression: Apache `SSLCompression off`. Aktuelle Versionen von nginx und "
        "Windows/IIS komprimieren auf TLS-Ebene nicht; hier hilft ein Update des Servers bzw. der TLS-Bibliothek "
        "(OpenSSL).",
    ),
)  # fmt: skip
VULN_INSECURE_RENEG = FindingSpec(
    "tls.vuln.insecure_renegotiation", Severity.HIGH, "Secure renegotiation is not supported",
    "The server lacks the RFC 5746 renegotiation indication: an attacker can splice requests into a victim's "
    "session (CVE-2009-3555).",
    "Update the TLS stack so that it supports RFC 5746, or disable renegotiation.",
    de=Texts(
        "Sichere Neuverhandlung wird nicht unterstützt",
        "Dem Server fehlt die Renegotiation Indication nach RFC 5746: Ein Angreifer kann eigene Anfragen in die "
        "Sitzung eines Opfers einschleusen (CVE-2009-3555).",
        "Aktualisieren Sie die TLS-Bibliothek bzw. die Serversoftware (jede unterstützte Version von OpenSSL, nginx, "
        "Apache httpd und Windows/IIS beherrscht RFC 5746) oder deaktivieren Sie die Neuverhandlung.",
    ),
)  # fmt: skip
VULN_CLIENT_RENEG = FindingSpec(
    "tls.vuln.client_renegotiation", Severity.LOW, "Client-initiated renegotiation is accepted",
    "Clients can make the server renegotiate again and again, a cheap CPU exhaustion attack. BSI TR-02102-2 "
    "asks servers to refuse it.",
    "Disable client-initiated renegotiation (e.g. OpenSSL SSL_OP_NO_RENEGOTIATION; nginx does by default).",
    de=Texts(
        "Vom Client angestoßene Neuverhandlung wird akzeptiert",
        "Clients können den Server immer wieder neu verhandeln lassen, ein billiger Angriff zur Überlastung der CPU. "
        "BSI TR-02102-2 verlangt, dass Server dies ablehnen.",
        "Deaktivieren Sie die vom Client angestoßene Neuverhandlung: Aktuelle Versionen von nginx und Apache httpd "
        "lehnen sie von sich aus ab (gegebenenfalls aktualisieren; bei anderen Diensten mit OpenSSL die Option "
        "SSL_OP_NO_RENEGOTIATION). IIS: in der Registrierung unter "
        "`HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL` den DWORD-Wert "
        "`DisableRenegoOnServer` auf 1 setzen und den Server neu starten.",
    ),
)  # fmt: skip
VULN_NO_FALLBACK_SCSV = FindingSpec(
    "tls.vuln.no_fallback_scsv", Severity.LOW, "TLS_FALLBACK_SCSV is not supported",
    "The server offers several protocol versions up to TLS 1.2 but does not signal downgrade attempts "
    "(RFC 7507), so an attacker can push clients to the oldest one. Not reported when only one version "
    "below TLS 1.3 is on offer.",
    "Update the TLS stack, and disable protocol versions below TLS 1.2.",
    de=Texts(
        "TLS_FALLBACK_SCSV wird nicht unterstützt",
        "Der Server bietet mehrere Protokollversionen bis TLS 1.2 an, erkennt aber keine Herabstufungsversuche (RFC "
        "7507); ein Angreifer kann Clients so zur ältesten Version drängen. Wird nicht gemeldet, wenn unterhalb von "
        "TLS 1.3 nur eine Version angeboten wird.",
        "Aktualisieren Sie die TLS-Bibliothek und deaktivieren Sie alle Protokollversionen unter TLS 1.2 "
        f"({_PROTOCOLS_DE}).",
    ),
)  # fmt: skip

HSTS_MISSING = FindingSpec(
    "tls.hsts.missing", Severity.LOW, "No HSTS header",
    "The HTTPS response carries no Strict-Transport-Security header, so the first visit by http:// can be "
    "intercepted (SSL stripping). Only judged when the server answered HTTP over TLS.",
    "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on HTTPS responses.",
    de=Texts(
        "Kein HSTS-Header",
        "Die HTTPS-Antwort enthält keinen Strict-Transport-Security-Header; der erste Aufruf über http:// kann daher "
        "abgefangen werden (SSL-Stripping). Wird nur bewertet, wenn der Server über TLS mit HTTP geantwortet hat.",
        "Senden Sie auf HTTPS-Antworten den Header `Strict-Transport-Security: max-age=31536000; includeSubDomains`: "
        f"{_HSTS_HEADER_DE}, IIS: im IIS-Manager unter „HTTP-Antwortheader“ hinzufügen. Prüfen Sie vorher, ob alle "
        "Subdomains HTTPS anbieten, sonst lassen Sie `includeSubDomains` weg.",
    ),
)  # fmt: skip
HSTS_SHORT = FindingSpec(
    "tls.hsts.short_max_age", Severity.LOW, "HSTS max-age is short",
    "The HSTS max-age is below the configured minimum (default 180 days, `hsts_min_max_age_s`), so browsers "
    "forget the policy quickly.",
    "Raise max-age to at least one year (31536000).",
    de=Texts(
        "HSTS-Gültigkeitsdauer (max-age) ist kurz",
        "Der max-age-Wert des HSTS-Headers liegt unter dem eingestellten Mindestwert (standardmäßig 180 Tage), sodass "
        "Browser die Vorgabe schnell wieder vergessen.",
        f"Erhöhen Sie max-age auf mindestens ein Jahr (31536000 Sekunden): {_HSTS_HEADER_DE}, IIS: den Wert des "
        "Headers im IIS-Manager unter „HTTP-Antwortheader“ anpassen.",
    ),
)  # fmt: skip

COMPLIANCE_BSI = FindingSpec(
    "tls.compliance.bsi_tr_02102_2", Severity.MEDIUM, "Not compliant with BSI TR-02102-2",
    "The configuration departs from BSI TR-02102-2 (and the BSI Mindeststandard TLS that refers to it). The "
    "evidence lists each failed requirement with the section of the TR it comes from, what it expects and what "
    "the server offered.",
    "Meet each requirement listed in the evidence. In short: TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE or DHE "
    "suites with AES-GCM, AES-CCM or AES-CBC with SHA-2; no ChaCha20 in TLS 1.3; RSA keys and DH groups of at least "
    "3000 bits; curves P-256, P-384, P-521 or Brainpool (not X25519). nginx: `ssl_protocols TLSv1.2 TLSv1.3;`, "
    "`ssl_ciphers ECDHE+AESGCM;`, `ssl_ecdh_curve secp384r1:prime256v1;`. Apache: `SSLProtocol -all +TLSv1.2 "
    "+TLSv1.3`, `SSLCipherSuite ECDHE+AESGCM`, `SSLOpenSSLConfCmd Curves secp384r1:prime256v1`. IIS: set "
    "protocols, suites and curves for Schannel by registry, group policy or IIS Crypto.",
    de=Texts(
        "Nicht konform zur BSI TR-02102-2",
        "Die Konfiguration weicht von der BSI TR-02102-2 ab, der TLS-Richtlinie des Bundes (und damit vom "
        "Mindeststandard des BSI zur Verwendung von TLS, der auf sie verweist). Die Nachweise nennen jede nicht "
        "erfüllte Anforderung mit dem zugehörigen Abschnitt der TR, was sie verlangt und was der Server anbot.",
        "Setzen Sie die in den Nachweisen genannten Anforderungen um. Im Kern: nur TLS 1.2 und 1.3; für TLS 1.2 nur "
        "Suites mit ECDHE oder DHE und AES-GCM, AES-CCM oder AES-CBC mit SHA-2; für TLS 1.3 kein ChaCha20; "
        "RSA-Schlüssel und DH-Gruppen ab 3000 Bit; Kurven P-256, P-384, P-521 oder Brainpool (kein X25519). nginx: "
        "`ssl_protocols TLSv1.2 TLSv1.3;`, `ssl_ciphers ECDHE+AESGCM;`, `ssl_ecdh_curve secp384r1:prime256v1;`, "
        "`ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256;`. Apache: `SSLProtocol -all "
        "+TLSv1.2 +TLSv1.3`, `SSLCipherSuite ECDHE+AESGCM`, `SSLCipherSuite TLSv1.3 "
        "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256`, `SSLOpenSSLConfCmd Curves secp384r1:prime256v1`. IIS: "
        "Protokolle, Cipher-Suites und Kurven unter Schannel per Registrierung, Gruppenrichtlinie oder IIS Crypto "
        "einstellen. Bei Fragen helfen Ihre CERT-Ansprechpartner.",
    ),
)  # fmt: skip
COMPLIANCE_MOZILLA = FindingSpec(
    "tls.compliance.mozilla_intermediate", Severity.LOW, "Not compliant with Mozilla's intermediate profile",
    "sslyze's checker against Mozilla's 'intermediate' server-side TLS configuration (profile 5.7) found "
    "departures; each is listed in the detail.",
    "Generate a configuration at https://ssl-config.mozilla.org/ (intermediate) and apply it.",
    de=Texts(
        "Nicht konform zum Mozilla-Profil „Intermediate“",
        "Die Prüfung gegen Mozillas Empfehlung „Intermediate“ für die TLS-Konfiguration von Servern (Profil 5.7, mit "
        "sslyze) hat Abweichungen gefunden; jede steht im Detail.",
        "Erzeugen Sie unter https://ssl-config.mozilla.org/ eine Konfiguration für Ihren Server (nginx oder Apache, "
        "Profil „Intermediate“) und übernehmen Sie sie. Für IIS stellen Sie Protokolle und Cipher-Suites entsprechend "
        "mit IIS Crypto ein (Vorlage „Best Practices“ als Ausgangspunkt).",
    ),
)  # fmt: skip

SCAN_INCOMPLETE = FindingSpec(
    "tls.scan.incomplete", Severity.INFO, "Parts of the TLS scan could not be tested",
    "Some tests did not complete in this run (the server dropped or refused their connections, the deadline came "
    "first, or the scanner cannot run them against this server); the detail names each untested part and why. "
    "Everything that was tested is judged; findings of the untested parts stay as they were until a run tests "
    "them again.",
    "Usually nothing: the next run tries again. If it stays, check whether the server limits connections per "
    "client or needs a longer deadline (`timeout_s`).",
    de=Texts(
        "Teile der TLS-Prüfung konnten nicht getestet werden",
        "Einige Tests wurden in diesem Durchlauf nicht abgeschlossen (der Server hat ihre Verbindungen abgebrochen "
        "oder abgelehnt, die Zeit reichte nicht, oder der Scanner kann sie bei diesem Server nicht ausführen); das "
        "Detail nennt jeden ungetesteten Teil und den Grund. Alles Getestete wird bewertet; Befunde zu ungetesteten "
        "Teilen bleiben unverändert, bis ein Durchlauf sie wieder testet.",
        "Meist nichts: Der nächste Durchlauf versucht es erneut. Bleibt der Befund bestehen, prüfen Sie, ob der "
        "Server oder eine vorgeschaltete Firewall die Verbindungen pro Client begrenzt, und sprechen Sie Ihre "
        "CERT-Ansprechpartner an (etwa wegen einer Ausnahme für die Scanner-Adresse oder einer längeren Zeitvorgabe).",
    ),
)  # fmt: skip

ALL: tuple[FindingSpec, ...] = (
    CERT_EXPIRED, CERT_NOT_YET_VALID, CERT_EXPIRING, CERT_HOSTNAME_MISMATCH, CERT_SELF_SIGNED,
    CERT_UNTRUSTED_ROOT, CERT_INCOMPLETE_CHAIN, CERT_WEAK_SIGNATURE, CERT_WEAK_KEY,
    PROTOCOL_SSLV2, PROTOCOL_SSLV3, PROTOCOL_TLS1_0, PROTOCOL_TLS1_1, PROTOCOL_NO_TLS1_2, PROTOCOL_NO_TLS1_3,
    CIPHER_NULL, CIPHER_ANONYMOUS, CIPHER_EXPORT, CIPHER_DES, CIPHER_3DES, CIPHER_RC4, CIPHER_NO_FS,
    CIPHER_CBC_ONLY, DH_WEAK, EC_WEAK_CURVE,
    VULN_HEARTBLEED, VULN_ROBOT, VULN_CCS, VULN_COMPRESSION, VULN_INSECURE_RENEG, VULN_CLIENT_RENEG,
    VULN_NO_FALLBACK_SCSV, HSTS_MISSING, HSTS_SHORT, COMPLIANCE_BSI, COMPLIANCE_MOZILLA, SCAN_INCOMPLETE,
)  # fmt: skip
