"""The web check's finding catalogue. docs/findings.md is generated from these entries; docs/web.md gives each rule's
source (internet.nl, the MDN HTTP Observatory) and where we differ. Each remediation carries an nginx and an Apache
snippet. HSTS is the TLS check's (`tls.hsts.*`) and is not reported here."""

from __future__ import annotations

from checks.base import FindingSpec, Texts
from monitor.models import Severity

NO_REDIRECT = FindingSpec(
    "web.https.no_redirect", Severity.MEDIUM, "Port 80 does not redirect to HTTPS on the same host",
    "The site answers plain HTTP on port 80 without a redirect to `https://` on the same host name: a citizen who "
    "types the address reaches an unencrypted page that anyone on the path can read and change. A redirect to "
    "HTTPS on another host (low severity) skips the host's own HSTS policy on the first visit. No port 80 at all "
    "is fine. The detail shows the URL, the status and the Location sent.",
    "Answer every request on port 80 with a permanent redirect to the same host over HTTPS. nginx: "
    "`server { listen 80; server_name www.example.de; return 301 https://$host$request_uri; }`. Apache: "
    "`<VirtualHost *:80>` with `ServerName www.example.de` and `Redirect permanent / https://www.example.de/`.",
    de=Texts(
        "Port 80 leitet nicht auf HTTPS desselben Hosts um",
        "Die Website beantwortet unverschlüsseltes HTTP auf Port 80, ohne auf `https://` desselben Hostnamens "
        "umzuleiten: Wer die Adresse eintippt, erhält eine unverschlüsselte Seite, die jeder auf dem Übertragungsweg "
        "mitlesen und verändern kann. Eine Umleitung auf HTTPS eines anderen Hosts (niedrige Schwere) umgeht beim "
        "ersten Besuch die HSTS-Richtlinie des Hosts. Ist Port 80 gar nicht erreichbar, ist das in Ordnung. Das "
        "Detail zeigt URL, Statuscode und das gesendete Location-Feld.",
        "Beantworten Sie jede Anfrage auf Port 80 mit einer dauerhaften Umleitung auf denselben Host per HTTPS. "
        "nginx: `server { listen 80; server_name www.example.de; return 301 https://$host$request_uri; }`. Apache: "
        "`<VirtualHost *:80>` mit `ServerName www.example.de` und `Redirect permanent / https://www.example.de/`.",
    ),
)  # fmt: skip

CSP_MISSING = FindingSpec(
    "web.headers.csp_missing", Severity.LOW, "No Content-Security-Policy is enforced",
    "The page sets no `Content-Security-Policy` header (nor a `<meta http-equiv>` policy), or one that does not "
    "parse (a directive set twice): a cross-site scripting flaw anywhere on the site can run any script. A "
    "`Content-Security-Policy-Report-Only` header alone reports but enforces nothing; the detail names it.",
    "Start with a policy that allows only the site's own resources and tighten it with the report-only header "
    "first. nginx: `add_header Content-Security-Policy \"default-src 'self'; object-src 'none'; base-uri 'self'; "
    "frame-ancestors 'self'\" always;`. Apache (mod_headers): `Header always set Content-Security-Policy "
    "\"default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'\"`.",
    de=Texts(
        "Keine Content-Security-Policy wirksam",
        "Die Seite setzt keinen `Content-Security-Policy`-Header (auch keine Richtlinie per `<meta http-equiv>`) "
        "oder einen, der sich nicht auswerten lässt (eine doppelt gesetzte Direktive): Eine Cross-Site-Scripting-"
        "Lücke irgendwo auf der Website kann beliebige Skripte ausführen. Ein `Content-Security-Policy-Report-Only`-"
        "Header allein meldet nur und setzt nichts durch; das Detail nennt ihn.",
        "Beginnen Sie mit einer Richtlinie, die nur eigene Ressourcen erlaubt, und erproben Sie Verschärfungen "
        "zunächst mit dem Header `Content-Security-Policy-Report-Only`. nginx: `add_header "
        "Content-Security-Policy \"default-src 'self'; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'self'\" always;`. Apache (mod_headers): `Header always "
        "set Content-Security-Policy \"default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors "
        "'self'\"`.",
    ),
)  # fmt: skip

CSP_UNSAFE = FindingSpec(
    "web.headers.csp_unsafe", Severity.LOW, "The Content-Security-Policy lets any script run",
    "The policy opens script execution up: `'unsafe-inline'` or `'unsafe-eval'` without a nonce or hash, or a "
    "wildcard or a whole scheme (`http:`, `https:`, `data:`) as a source for scripts (`script-src`, else "
    "`default-src`) or plugin objects (`object-src`); a directive not set at all allows any source. Injected "
    "script then runs despite the policy. The detail names the directive, its value and the offending sources.",
    "Remove the offending sources; allow inline scripts by nonce or hash instead of `'unsafe-inline'`, and set "
    "`object-src 'none'`. nginx: `add_header Content-Security-Policy \"script-src 'self'; object-src 'none'\" "
    "always;`. Apache: `Header always set Content-Security-Policy \"script-src 'self'; object-src 'none'\"`.",
    de=Texts(
        "Die Content-Security-Policy erlaubt beliebige Skripte",
        "Die Richtlinie öffnet die Skriptausführung: `'unsafe-inline'` oder `'unsafe-eval'` ohne Nonce oder Hash, "
        "oder ein Platzhalter bzw. ein ganzes Schema (`http:`, `https:`, `data:`) als Quelle für Skripte "
        "(`script-src`, sonst `default-src`) oder Plugin-Objekte (`object-src`); eine nicht gesetzte Direktive "
        "erlaubt jede Quelle. Eingeschleuste Skripte laufen dann trotz Richtlinie. Das Detail nennt die Direktive, "
        "ihren Wert und die beanstandeten Quellen.",
        "Entfernen Sie die beanstandeten Quellen; erlauben Sie Inline-Skripte per Nonce oder Hash statt "
        "`'unsafe-inline'` und setzen Sie `object-src 'none'`. nginx: `add_header Content-Security-Policy "
        "\"script-src 'self'; object-src 'none'\" always;`. Apache: `Header always set Content-Security-Policy "
        "\"script-src 'self'; object-src 'none'\"`.",
    ),
)  # fmt: skip

XFO_MISSING = FindingSpec(
    "web.headers.xfo_missing", Severity.LOW, "The page may be framed by any site (clickjacking)",
    "Neither `X-Frame-Options: DENY` or `SAMEORIGIN` nor a CSP `frame-ancestors` directive (in a header) restricts "
    "who may embed the page: another site can lay it invisibly under its own and trick users into clicks. The "
    "detail shows the values found.",
    "nginx: `add_header X-Frame-Options SAMEORIGIN always;` (or `frame-ancestors 'self'` in the CSP). Apache: "
    "`Header always set X-Frame-Options SAMEORIGIN`.",
    de=Texts(
        "Die Seite kann von jeder Website eingebettet werden (Clickjacking)",
        "Weder `X-Frame-Options: DENY` bzw. `SAMEORIGIN` noch eine CSP-Direktive `frame-ancestors` (im Header) "
        "beschränken, wer die Seite einbetten darf: Eine fremde Website kann sie unsichtbar unter die eigene legen "
        "und Nutzer zu Klicks verleiten. Das Detail zeigt die gefundenen Werte.",
        "nginx: `add_header X-Frame-Options SAMEORIGIN always;` (oder `frame-ancestors 'self'` in der CSP). Apache: "
        "`Header always set X-Frame-Options SAMEORIGIN`.",
    ),
)  # fmt: skip

NOSNIFF_MISSING = FindingSpec(
    "web.headers.nosniff_missing", Severity.LOW, "X-Content-Type-Options: nosniff is not set",
    "Without `X-Content-Type-Options: nosniff` browsers may guess a response's type from its content, so an "
    "uploaded file can be run as script or style. The detail shows a value other than `nosniff`, if one was sent.",
    "Send the header on every response. nginx: `add_header X-Content-Type-Options nosniff always;`. Apache: "
    "`Header always set X-Content-Type-Options nosniff`.",
    de=Texts(
        "X-Content-Type-Options: nosniff fehlt",
        "Ohne `X-Content-Type-Options: nosniff` dürfen Browser den Typ einer Antwort aus ihrem Inhalt erraten; eine "
        "hochgeladene Datei kann so als Skript oder Stylesheet ausgeführt werden. Das Detail zeigt einen anderen "
        "gesendeten Wert als `nosniff`.",
        "Senden Sie den Header mit jeder Antwort. nginx: `add_header X-Content-Type-Options nosniff always;`. "
        "Apache: `Header always set X-Content-Type-Options nosniff`.",
    ),
)  # fmt: skip

REFERRER_UNSAFE = FindingSpec(
    "web.headers.referrer_unsafe", Severity.LOW, "The Referrer-Policy sends full addresses to other sites",
    "The page's `Referrer-Policy` is `unsafe-url` or `no-referrer-when-downgrade`: the full address of the page, "
    "including paths and query strings (case numbers, search terms, session parameters), goes to every site it "
    "links to or loads from. The detail shows the policy in force.",
    "Send a policy that keeps paths and queries on the site. nginx: `add_header Referrer-Policy "
    "strict-origin-when-cross-origin always;`. Apache: `Header always set Referrer-Policy "
    "strict-origin-when-cross-origin`.",
    de=Texts(
        "Die Referrer-Policy übermittelt vollständige Adressen an fremde Websites",
        "Die `Referrer-Policy` der Seite ist `unsafe-url` oder `no-referrer-when-downgrade`: Die vollständige "
        "Adresse der Seite mit Pfad und Parametern (Aktenzeichen, Suchbegriffe, Sitzungsparameter) geht an jede "
        "verlinkte oder eingebundene fremde Website. Das Detail zeigt die wirksame Richtlinie.",
        "Senden Sie eine Richtlinie, die Pfade und Parameter auf der eigenen Website behält. nginx: `add_header "
        "Referrer-Policy strict-origin-when-cross-origin always;`. Apache: `Header always set Referrer-Policy "
        "strict-origin-when-cross-origin`.",
    ),
)  # fmt: skip

COOKIES_INSECURE = FindingSpec(
    "web.cookies.insecure", Severity.MEDIUM, "Cookies are set without Secure or HttpOnly",
    "A cookie set over HTTPS lacks the `Secure` attribute (the browser also sends it over plain HTTP, where it can "
    "be read), or a session-like cookie (its name contains sess, login, auth, token or sid) lacks `HttpOnly` (any "
    "injected script can steal it). The detail lists each cookie's name and the missing attributes; cookie values "
    "are never recorded.",
    "Set the attributes where the application creates the cookie (PHP: `session.cookie_secure = 1`, "
    "`session.cookie_httponly = 1`). As a fallback at the server, nginx: `proxy_cookie_flags ~ secure httponly "
    "samesite=lax;` (1.19.3+); Apache: `Header always edit Set-Cookie ^(.*)$ \"$1; Secure; HttpOnly; "
    "SameSite=Lax\"`.",
    de=Texts(
        "Cookies werden ohne Secure oder HttpOnly gesetzt",
        "Ein über HTTPS gesetztes Cookie hat kein `Secure`-Attribut (der Browser sendet es auch über unverschlüsseltes "
        "HTTP, wo es mitgelesen werden kann), oder ein Sitzungs-Cookie (der Name enthält sess, login, auth, token "
        "oder sid) hat kein `HttpOnly` (jedes eingeschleuste Skript kann es stehlen). Das Detail nennt je Cookie den "
        "Namen und die fehlenden Attribute; Cookie-Werte werden nie gespeichert.",
        "Setzen Sie die Attribute dort, wo die Anwendung das Cookie erzeugt (PHP: `session.cookie_secure = 1`, "
        "`session.cookie_httponly = 1`). Ersatzweise am Server, nginx: `proxy_cookie_flags ~ secure httponly "
        "samesite=lax;` (ab 1.19.3); Apache: `Header always edit Set-Cookie ^(.*)$ \"$1; Secure; HttpOnly; "
        "SameSite=Lax\"`.",
    ),
)  # fmt: skip

_SECURITY_TXT_EXAMPLE = (
    "`Contact: mailto:cert@example.de` and `Expires: 2027-06-30T22:00:00Z` (at most a year ahead), served as "
    "`text/plain` at `/.well-known/security.txt`. nginx: `location = /.well-known/security.txt { root /srv/www; "
    'default_type text/plain; }`. Apache: `<Location "/.well-known/security.txt"> ForceType text/plain '
    "</Location>` with the file under the document root."
)
_SECURITY_TXT_EXAMPLE_DE = (
    "`Contact: mailto:cert@example.de` und `Expires: 2027-06-30T22:00:00Z` (höchstens ein Jahr im Voraus), "
    "ausgeliefert als `text/plain` unter `/.well-known/security.txt`. nginx: `location = /.well-known/security.txt "
    '{ root /srv/www; default_type text/plain; }`. Apache: `<Location "/.well-known/security.txt"> ForceType '
    "text/plain </Location>` mit der Datei im Document-Root."
)

SECURITY_TXT_MISSING = FindingSpec(
    "web.security_txt.missing", Severity.LOW, "No security.txt is published",
    "Neither `/.well-known/security.txt` nor `/security.txt` answers with a file (RFC 9116): a researcher or a CERT "
    "who finds a vulnerability has no published contact and may not report it at all. The detail lists the URLs "
    "tried and their status codes.",
    "Publish a security.txt with at least " + _SECURITY_TXT_EXAMPLE,
    de=Texts(
        "Keine security.txt veröffentlicht",
        "Weder `/.well-known/security.txt` noch `/security.txt` liefert eine Datei (RFC 9116): Wer eine Schwachstelle "
        "findet, etwa ein Forscher oder ein CERT, hat keinen veröffentlichten Ansprechpartner und meldet sie womöglich "
        "gar nicht. Das Detail nennt die versuchten Adressen und ihre Statuscodes.",
        "Veröffentlichen Sie eine security.txt mit mindestens " + _SECURITY_TXT_EXAMPLE_DE,
    ),
)  # fmt: skip

SECURITY_TXT_INVALID = FindingSpec(
    "web.security_txt.invalid", Severity.LOW, "The security.txt does not follow RFC 9116",
    "The file lacks a field RFC 9116 requires (`Contact`, exactly one `Expires`), has an `Expires` that is no "
    "RFC 3339 date-time, a line that is neither a field nor a comment, or is not served as `text/plain`: tools "
    "that read it may ignore it. The detail lists what is wrong.",
    "Correct the file: " + _SECURITY_TXT_EXAMPLE,
    de=Texts(
        "Die security.txt entspricht nicht RFC 9116",
        "Der Datei fehlt ein nach RFC 9116 vorgeschriebenes Feld (`Contact`, genau ein `Expires`), ihr `Expires` ist "
        "kein Zeitpunkt nach RFC 3339, sie enthält eine Zeile, die weder Feld noch Kommentar ist, oder sie wird nicht "
        "als `text/plain` ausgeliefert: Auswertende Werkzeuge ignorieren sie womöglich. Das Detail nennt die Mängel.",
        "Korrigieren Sie die Datei: " + _SECURITY_TXT_EXAMPLE_DE,
    ),
)  # fmt: skip

SECURITY_TXT_EXPIRED = FindingSpec(
    "web.security_txt.expired", Severity.MEDIUM, "The security.txt has expired",
    "Its `Expires` date has passed: RFC 9116 §2.5.5 says the data is stale and must not be used, so the contact "
    "may be ignored. The detail shows the date.",
    "Review the contacts and set a new `Expires` (at most a year ahead); put the renewal in the calendar. "
    + _SECURITY_TXT_EXAMPLE,
    de=Texts(
        "Die security.txt ist abgelaufen",
        "Ihr `Expires`-Datum ist überschritten: Nach RFC 9116 Abschnitt 2.5.5 gelten die Angaben als veraltet und "
        "sollen nicht verwendet werden; der Kontakt wird womöglich ignoriert. Das Detail zeigt das Datum.",
        "Prüfen Sie die Kontakte und setzen Sie ein neues `Expires` (höchstens ein Jahr im Voraus); tragen Sie die "
        "Erneuerung in den Kalender ein. " + _SECURITY_TXT_EXAMPLE_DE,
    ),
)  # fmt: skip

SECURITY_TXT_EXPIRING = FindingSpec(
    "web.security_txt.expiring", Severity.LOW, "The security.txt expires soon",
    "Its `Expires` date is less than 30 days away (`security_txt_warning_days`): renew it before it lapses. The "
    "detail shows the date and the days left.",
    "Review the contacts and set a new `Expires` (at most a year ahead). " + _SECURITY_TXT_EXAMPLE,
    de=Texts(
        "Die security.txt läuft bald ab",
        "Ihr `Expires`-Datum liegt weniger als 30 Tage entfernt (`security_txt_warning_days`): Erneuern Sie die "
        "Datei, bevor sie abläuft. Das Detail zeigt das Datum und die verbleibenden Tage.",
        "Prüfen Sie die Kontakte und setzen Sie ein neues `Expires` (höchstens ein Jahr im Voraus). "
        + _SECURITY_TXT_EXAMPLE_DE,
    ),
)  # fmt: skip

FINDINGS: tuple[FindingSpec, ...] = (
    NO_REDIRECT,
    CSP_MISSING,
    CSP_UNSAFE,
    XFO_MISSING,
    NOSNIFF_MISSING,
    REFERRER_UNSAFE,
    COOKIES_INSECURE,
    SECURITY_TXT_MISSING,
    SECURITY_TXT_INVALID,
    SECURITY_TXT_EXPIRED,
    SECURITY_TXT_EXPIRING,
)
