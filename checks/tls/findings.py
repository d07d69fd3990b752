"""The TLS check's finding catalogue. docs/findings.md is generated from these entries: keep them readable."""

from __future__ import annotations

from checks.base import FindingSpec
from monitor.models import Severity

_RENEW = "Renew the certificate (automate it with ACME where possible) and deploy it with its full chain."

CERT_EXPIRED = FindingSpec(
    "tls.cert.expired", Severity.CRITICAL, "The server's certificate has expired",
    "The leaf certificate's notAfter date is in the past. Every client that checks certificates refuses the "
    "connection or shows a warning; users learn to click warnings away.",
    _RENEW,
)  # fmt: skip
CERT_NOT_YET_VALID = FindingSpec(
    "tls.cert.not_yet_valid", Severity.HIGH, "The server's certificate is not valid yet",
    "The leaf certificate's notBefore date is in the future; clients reject it. Often a wrong clock on the CA "
    "or the server, or a certificate deployed too early.",
    "Deploy a certificate that is valid now and check the clocks (NTP) of the issuing system.",
)  # fmt: skip
CERT_EXPIRING = FindingSpec(
    "tls.cert.expiring", Severity.LOW, "The server's certificate expires soon",
    "The leaf certificate expires within the warning window. Severity rises as the date nears "
    "(default: low at 30, medium at 14, high at 7 days; `expiry_warning_days`). `days_left` is in the detail.",
    _RENEW,
)  # fmt: skip
CERT_HOSTNAME_MISMATCH = FindingSpec(
    "tls.cert.hostname_mismatch", Severity.HIGH, "The certificate does not name the host",
    "None of the certificate's subjectAltName entries matches the registered host name (RFC 6125 rules: one "
    "wildcard label at the left only; the subject CN is not used). Browsers refuse the connection.",
    "Issue a certificate whose subjectAltName lists this host name, or serve the right certificate for this "
    "name (SNI).",
)  # fmt: skip
CERT_SELF_SIGNED = FindingSpec(
    "tls.cert.self_signed", Severity.HIGH, "The server uses a self-signed certificate",
    "The leaf certificate is signed by its own key and is not a configured trust anchor. Clients cannot tell "
    "it from an attacker's certificate.",
    "Use a certificate from a public CA or from the agency's PKI; add that PKI's root to the monitor's "
    "`ca_file` if it is internal.",
)  # fmt: skip
CERT_UNTRUSTED_ROOT = FindingSpec(
    "tls.cert.untrusted_root", Severity.HIGH, "The certificate chain does not lead to a trusted root",
    "The served chain ends in a self-signed root that is neither in the Mozilla trust store nor in the "
    "configured extra CA bundle. Trust is judged from signatures alone, so a weak signature hash (MD5, SHA-1) "
    "is reported as tls.cert.weak_signature, not as this.",
    "Use a certificate from a publicly trusted CA, or register the internal PKI's root in `ca_file`.",
)  # fmt: skip
CERT_INCOMPLETE_CHAIN = FindingSpec(
    "tls.cert.incomplete_chain", Severity.MEDIUM, "The server does not send its intermediate certificate",
    "The served chain stops at a certificate that is not self-signed and whose issuer is neither sent nor a "
    "trust anchor. The detail names the missing issuer and, where the certificate names one, the URL it is "
    "published at (AIA caIssuers; never fetched). Browsers may fetch it; most other clients (APIs, mail, "
    "scripts) fail. When the issuer is an internal PKI's CA, its root also belongs in `ca_file`.",
    "Configure the server with the full chain file (leaf followed by the intermediates); for an internal PKI, "
    "also register its root in `ca_file`.",
)  # fmt: skip
CERT_WEAK_SIGNATURE = FindingSpec(
    "tls.cert.weak_signature", Severity.MEDIUM, "A served certificate is signed with SHA-1 or MD5",
    "A certificate below the root is signed with a broken hash function; collisions allow forged "
    "certificates. MD5 is high severity, SHA-1 medium. The detail names the certificate.",
    "Re-issue the certificate (and intermediates) with SHA-256 or stronger.",
)  # fmt: skip
CERT_WEAK_KEY = FindingSpec(
    "tls.cert.weak_key", Severity.HIGH, "The certificate's key is too short",
    "A served certificate has an RSA or DSA key below 2048 bits or an elliptic-curve key below 224 bits "
    "(the generally accepted floor). Profiles demanding more (BSI: 3000-bit RSA) report under their own key.",
    "Generate a new key (RSA 3072+ or ECDSA P-256/P-384) and re-issue the certificate.",
)  # fmt: skip

PROTOCOL_SSLV2 = FindingSpec(
    "tls.protocol.sslv2", Severity.CRITICAL, "SSL 2.0 is enabled",
    "SSL 2.0 is broken beyond repair (RFC 6176) and enables DROWN against other servers sharing the key.",
    "Disable SSL 2.0.",
)  # fmt: skip
PROTOCOL_SSLV3 = FindingSpec(
    "tls.protocol.sslv3", Severity.HIGH, "SSL 3.0 is enabled",
    "SSL 3.0 is prohibited (RFC 7568) and vulnerable to POODLE.",
    "Disable SSL 3.0.",
)  # fmt: skip
PROTOCOL_TLS1_0 = FindingSpec(
    "tls.protocol.tls1_0", Severity.MEDIUM, "TLS 1.0 is enabled",
    "TLS 1.0 is deprecated (RFC 8996), lacks modern AEAD suites and is not allowed by BSI TR-02102-2.",
    "Disable TLS 1.0; offer TLS 1.2 and 1.3.",
)  # fmt: skip
PROTOCOL_TLS1_1 = FindingSpec(
    "tls.protocol.tls1_1", Severity.MEDIUM, "TLS 1.1 is enabled",
    "TLS 1.1 is deprecated (RFC 8996) and not allowed by BSI TR-02102-2.",
    "Disable TLS 1.1; offer TLS 1.2 and 1.3.",
)  # fmt: skip
PROTOCOL_NO_TLS1_2 = FindingSpec(
    "tls.protocol.no_tls1_2", Severity.HIGH, "TLS 1.2 is not offered",
    "The server does not accept TLS 1.2. High when it offers nothing newer either (only legacy protocols); "
    "informational when it is TLS 1.3-only, which is secure but excludes older clients.",
    "Enable TLS 1.2 (and 1.3).",
)  # fmt: skip
PROTOCOL_NO_TLS1_3 = FindingSpec(
    "tls.protocol.no_tls1_3", Severity.INFO, "TLS 1.3 is not offered",
    "TLS 1.3 removes legacy cryptography and speeds up the handshake; its absence is not a weakness by itself.",
    "Enable TLS 1.3 when the server software supports it.",
)  # fmt: skip

CIPHER_NULL = FindingSpec(
    "tls.cipher.null", Severity.CRITICAL, "Cipher suites without encryption are accepted",
    "A NULL cipher suite sends application data in clear text.", "Remove all NULL suites from the cipher list.",
)  # fmt: skip
CIPHER_ANONYMOUS = FindingSpec(
    "tls.cipher.anonymous", Severity.CRITICAL, "Anonymous cipher suites are accepted",
    "Anonymous (aNULL) suites skip server authentication; any machine in the path can impersonate the server.",
    "Remove aNULL suites from the cipher list.",
)  # fmt: skip
CIPHER_EXPORT = FindingSpec(
    "tls.cipher.export", Severity.CRITICAL, "Export-grade cipher suites are accepted",
    "Export suites use 40- or 56-bit keys and enable FREAK and Logjam downgrades.",
    "Remove EXPORT suites from the cipher list.",
)  # fmt: skip
CIPHER_DES = FindingSpec(
    "tls.cipher.des", Severity.HIGH, "Single-DES cipher suites are accepted",
    "DES has a 56-bit key that can be searched exhaustively.", "Remove DES suites from the cipher list.",
)  # fmt: skip
CIPHER_3DES = FindingSpec(
    "tls.cipher.3des", Severity.MEDIUM, "Triple-DES cipher suites are accepted",
    "3DES has a 64-bit block; long connections leak plaintext through birthday collisions (Sweet32).",
    "Remove 3DES suites from the cipher list.",
)  # fmt: skip
CIPHER_RC4 = FindingSpec(
    "tls.cipher.rc4", Severity.HIGH, "RC4 cipher suites are accepted",
    "RC4 has exploitable keystream biases and is prohibited in TLS (RFC 7465).",
    "Remove RC4 suites from the cipher list.",
)  # fmt: skip
CIPHER_NO_FS = FindingSpec(
    "tls.cipher.no_forward_secrecy", Severity.MEDIUM, "Static RSA key exchange is accepted",
    "Suites with RSA key transport have no forward secrecy: whoever obtains the server key later can decrypt "
    "recorded traffic. They are also the precondition for ROBOT-style oracles.",
    "Offer only ECDHE/DHE suites for TLS 1.2 (and TLS 1.3).",
)  # fmt: skip
CIPHER_CBC_ONLY = FindingSpec(
    "tls.cipher.cbc_only", Severity.LOW, "No AEAD cipher suite is offered",
    "Every accepted suite uses CBC with HMAC (MAC-then-encrypt), the source of padding-oracle attacks "
    "(Lucky 13, POODLE-TLS). No GCM, CCM or ChaCha20-Poly1305 suite is available.",
    "Offer AES-GCM suites (TLS 1.2) and enable TLS 1.3.",
)  # fmt: skip
DH_WEAK = FindingSpec(
    "tls.dh.weak", Severity.MEDIUM, "Weak Diffie-Hellman group",
    "A DHE suite uses a group below 2048 bits (high below 1024 bits): Logjam-class precomputation can break "
    "it. `dh_bits` is in the detail.",
    "Use ffdhe3072 or larger (RFC 7919) or prefer ECDHE; drop DHE if in doubt.",
)  # fmt: skip
EC_WEAK_CURVE = FindingSpec(
    "tls.ec.weak_curve", Severity.MEDIUM, "Weak elliptic curve for key exchange",
    "The server accepts an elliptic curve below 224 bits for ECDHE.",
    "Limit the groups to X25519, P-256, P-384 (or the brainpool curves BSI names).",
)  # fmt: skip

VULN_HEARTBLEED = FindingSpec(
    "tls.vuln.heartbleed", Severity.CRITICAL, "The server is vulnerable to Heartbleed",
    "CVE-2014-0160: the heartbeat extension leaks process memory, including private keys and session data.",
    "Update OpenSSL, restart the service, then replace the key and certificate and revoke the old one.",
)  # fmt: skip
VULN_ROBOT = FindingSpec(
    "tls.vuln.robot", Severity.HIGH, "The server is vulnerable to ROBOT",
    "The RSA key exchange is a Bleichenbacher padding oracle: recorded sessions can be decrypted and the "
    "server's key used to sign. A weak oracle (slower to exploit) is medium.",
    "Update the TLS stack or load balancer firmware, and disable static RSA key exchange suites.",
)  # fmt: skip
VULN_CCS = FindingSpec(
    "tls.vuln.ccs_injection", Severity.HIGH, "The server is vulnerable to OpenSSL CCS injection",
    "CVE-2014-0224: an early ChangeCipherSpec lets a man in the middle force weak keys.",
    "Update OpenSSL.",
)  # fmt: skip
VULN_COMPRESSION = FindingSpec(
    "tls.vuln.compression", Severity.MEDIUM, "TLS compression is enabled",
    "TLS-level compression leaks secrets such as session cookies through lengths (CRIME).",
    "Disable TLS compression.",
)  # fmt: skip
VULN_INSECURE_RENEG = FindingSpec(
    "tls.vuln.insecure_renegotiation", Severity.HIGH, "Secure renegotiation is not supported",
    "The server lacks the RFC 5746 renegotiation indication: an attacker can splice requests into a victim's "
    "session (CVE-2009-3555).",
    "Update the TLS stack so that it supports RFC 5746, or disable renegotiation.",
)  # fmt: skip
VULN_CLIENT_RENEG = FindingSpec(
    "tls.vuln.client_renegotiation", Severity.LOW, "Client-initiated renegotiation is accepted",
    "Clients can make the server renegotiate again and again, a cheap CPU exhaustion attack. BSI TR-02102-2 "
    "asks servers to refuse it.",
    "Disable client-initiated renegotiation (e.g. OpenSSL SSL_OP_NO_RENEGOTIATION; nginx does by default).",
)  # fmt: skip
VULN_NO_FALLBACK_SCSV = FindingSpec(
    "tls.vuln.no_fallback_scsv", Severity.LOW, "TLS_FALLBACK_SCSV is not supported",
    "The server offers several protocol versions up to TLS 1.2 but does not signal downgrade attempts "
    "(RFC 7507), so an attacker can push clients to the oldest one. Not reported when only one version "
    "below TLS 1.3 is on offer.",
    "Update the TLS stack, and disable protocol versions below TLS 1.2.",
)  # fmt: skip

HSTS_MISSING = FindingSpec(
    "tls.hsts.missing", Severity.LOW, "No HSTS header",
    "The HTTPS response carries no Strict-Transport-Security header, so the first visit by http:// can be "
    "intercepted (SSL stripping). Only judged when the server answered HTTP over TLS.",
    "Send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on HTTPS responses.",
)  # fmt: skip
HSTS_SHORT = FindingSpec(
    "tls.hsts.short_max_age", Severity.LOW, "HSTS max-age is short",
    "The HSTS max-age is below the configured minimum (default 180 days, `hsts_min_max_age_s`), so browsers "
    "forget the policy quickly.",
    "Raise max-age to at least one year (31536000).",
)  # fmt: skip

COMPLIANCE_BSI = FindingSpec(
    "tls.compliance.bsi_tr_02102_2", Severity.MEDIUM, "Not compliant with BSI TR-02102-2",
    "The configuration departs from BSI TR-02102-2 (and the BSI Mindeststandard TLS that refers to it). The "
    "detail lists each failed requirement with the section of the TR it comes from. See docs/tls-profiles.md.",
    "Follow the requirements listed in the detail; docs/tls-profiles.md gives the expected values.",
)  # fmt: skip
COMPLIANCE_MOZILLA = FindingSpec(
    "tls.compliance.mozilla_intermediate", Severity.LOW, "Not compliant with Mozilla's intermediate profile",
    "sslyze's checker against Mozilla's 'intermediate' server-side TLS configuration (profile 5.7) found "
    "departures; each is listed in the detail.",
    "Generate a configuration at https://ssl-config.mozilla.org/ (intermediate) and apply it.",
)  # fmt: skip

SCAN_INCOMPLETE = FindingSpec(
    "tls.scan.incomplete", Severity.INFO, "Parts of the TLS scan could not be tested",
    "Some tests did not complete in this run (the server dropped or refused their connections, the deadline came "
    "first, or the scanner cannot run them against this server); the detail names each untested part and why. "
    "Everything that was tested is judged; findings of the untested parts stay as they were until a run tests "
    "them again.",
    "Usually nothing: the next run tries again. If it stays, check whether the server limits connections per "
    "client or needs a longer deadline (`timeout_s`).",
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
