"""The catalogue of risky exposures: one service class per `ports.exposed.<class>` key.

Keys are concrete (no `ports.exposed.*` family), one FindingSpec per class, so that docs/findings.md lists every class
with its own severity, meaning and remediation. Two ports of one class on an endpoint (HTTP on 80 and 8080) make one
observation whose detail lists both. Severity is by class: critical for unauthenticated data stores and control
APIs, high for remote administration, file sharing and databases, medium for clear-text credentials and obsolete
protocols, low for SSH and LDAPS, info for the expected public web and mail ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.base import FindingSpec, Texts
from monitor.models import Severity

_FIREWALL = "Block the port at the perimeter firewall"
_VPN = "reach it only through the agency VPN or a bastion host"
_FIREWALL_DE = "Sperren Sie den Port in der Firewall zum Internet"


@dataclass(frozen=True, slots=True)
class ServiceClass:
    spec: FindingSpec
    names: frozenset[str] = frozenset()  # nmap service names (after the TLS renaming above)
    products: tuple[str, ...] = ()  # lower-case substrings of nmap's product string
    ports: frozenset[int] = frozenset()  # its well-known ports: used when nmap could not identify the service
    http_api: bool = False  # an HTTP API: a plain 'http'/'https' answer on one of `ports` is this service

    @property
    def slug(self) -> str:
        return self.spec.key.rsplit(".", 1)[1]


def _class(
    slug: str,
    severity: Severity,
    label: str,
    meaning: str,
    remediation: str,
    *,
    de_label: str,
    de_meaning: str,
    de_remediation: str,
    names: tuple[str, ...] = (),
    products: tuple[str, ...] = (),
    ports: tuple[int, ...] = (),
    http_api: bool = False,
) -> ServiceClass:
    spec = FindingSpec(
        key=f"ports.exposed.{slug}",
        severity=severity,
        title=f"{label} is reachable from the internet",
        meaning=meaning,
        remediation=remediation,
        de=Texts(title=f"{de_label} ist aus dem Internet erreichbar", meaning=de_meaning, remediation=de_remediation),
    )
    return ServiceClass(spec, frozenset(names), products, frozenset(ports), http_api)


CRITICAL, HIGH, MEDIUM, LOW, INFO = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO

SERVICE_CLASSES: tuple[ServiceClass, ...] = (
    # critical: unauthenticated by default, full control or full data access, mass-exploited
    _class(
        "docker_api",
        CRITICAL,
        "The Docker Engine API without TLS",
        "The Docker API answers in plain text. Anyone who reaches it can start a privileged container and take "
        "over the host; this is routinely exploited for cryptomining within hours of exposure.",
        f"{_FIREWALL}. Never bind dockerd to a TCP port without TLS client authentication; use the Unix socket "
        "or SSH (`DOCKER_HOST=ssh://…`) for remote administration.",
        de_label="Die Docker-Engine-API ohne TLS",
        de_meaning="Die Docker-API antwortet unverschlüsselt. Wer sie erreicht, kann einen privilegierten Container "
        "starten und den Host übernehmen; das wird oft schon Stunden nach der Freigabe für Kryptomining ausgenutzt.",
        de_remediation=f"{_FIREWALL_DE}. Binden Sie dockerd nie ohne TLS-Client-Authentisierung an einen TCP-Port; "
        "nutzen Sie für die Fernverwaltung den Unix-Socket oder SSH (`DOCKER_HOST=ssh://…`).",
        names=("docker",),
        products=("docker remote api",),
        ports=(2375,),
        http_api=True,
    ),
    _class(
        "redis",
        CRITICAL,
        "A Redis server",
        "Redis has no authentication by default; an exposed instance leaks its data and lets an attacker write "
        "files on the server (a well-known route to remote code execution).",
        f"{_FIREWALL}; bind Redis to localhost or an internal interface (`bind`, `protected-mode yes`), "
        "require authentication (ACLs or `requirepass`) and TLS for remote clients.",
        de_label="Ein Redis-Server",
        de_meaning="Redis hat standardmäßig keine Authentisierung; eine offene Instanz gibt ihre Daten preis und "
        "erlaubt einem Angreifer, Dateien auf dem Server zu schreiben (ein bekannter Weg zur Ausführung von "
        "Schadcode).",
        de_remediation=f"{_FIREWALL_DE}; binden Sie Redis an localhost oder eine interne Schnittstelle (`bind`, "
        "`protected-mode yes`), verlangen Sie eine Authentisierung (ACLs oder `requirepass`) und TLS für entfernte "
        "Clients.",
        names=("redis",),
        products=("redis key-value store",),
        ports=(6379,),
    ),
    _class(
        "mongodb",
        CRITICAL,
        "A MongoDB server",
        "MongoDB instances reachable from the internet are mass-scanned and ransomed; older versions and "
        "many installations accept connections without authentication.",
        f"{_FIREWALL}; bind mongod to internal addresses (`net.bindIp`), enable authorization and TLS.",
        de_label="Ein MongoDB-Server",
        de_meaning="Aus dem Internet erreichbare MongoDB-Instanzen werden massenhaft gescannt und erpresst; ältere "
        "Versionen und viele Installationen nehmen Verbindungen ohne Authentisierung an.",
        de_remediation=f"{_FIREWALL_DE}; binden Sie mongod an interne Adressen (`net.bindIp`) und aktivieren Sie "
        "Autorisierung und TLS.",
        names=("mongodb", "mongod"),
        products=("mongodb",),
        ports=(27017, 27018),
    ),
    _class(
        "elasticsearch",
        CRITICAL,
        "An Elasticsearch or OpenSearch REST API",
        "The search cluster's HTTP API is reachable. Without the security features it exposes every indexed "
        "document and lets anyone delete or encrypt indices; such leaks of personal data are common.",
        f"{_FIREWALL}; enable authentication and TLS (`xpack.security.enabled`), and put any public search "
        "behind an application, never the cluster API itself.",
        de_label="Eine REST-API von Elasticsearch oder OpenSearch",
        de_meaning="Die HTTP-API des Suchclusters ist erreichbar. Ohne die Sicherheitsfunktionen gibt sie jedes "
        "indizierte Dokument preis und lässt jeden Indizes löschen oder verschlüsseln; solche Abflüsse "
        "personenbezogener Daten sind häufig.",
        de_remediation=f"{_FIREWALL_DE}; aktivieren Sie Authentisierung und TLS (`xpack.security.enabled`) und "
        "stellen Sie eine öffentliche Suche nur über eine Anwendung bereit, nie über die Cluster-API selbst.",
        names=("elasticsearch",),
        products=("elasticsearch rest api", "elasticsearch binary api", "opensearch"),
        ports=(9200, 9300),
        http_api=True,
    ),
    _class(
        "memcached",
        CRITICAL,
        "A Memcached server",
        "Memcached has no authentication: it leaks cached data (sessions, tokens) and, over UDP, is one of the "
        "strongest DDoS amplifiers.",
        f"{_FIREWALL}; bind memcached to localhost or an internal interface (`-l`) and disable UDP (`-U 0`).",
        de_label="Ein Memcached-Server",
        de_meaning="Memcached hat keine Authentisierung: Er gibt zwischengespeicherte Daten (Sitzungen, Tokens) preis "
        "und ist über UDP einer der stärksten Verstärker für DDoS-Angriffe.",
        de_remediation=f"{_FIREWALL_DE}; binden Sie memcached an localhost oder eine interne Schnittstelle (`-l`) und "
        "deaktivieren Sie UDP (`-U 0`).",
        names=("memcache", "memcached"),
        products=("memcached",),
        ports=(11211,),
    ),
    _class(
        "etcd",
        CRITICAL,
        "An etcd client API",
        "etcd holds the configuration and secrets of Kubernetes and other clusters; without client certificates "
        "anyone can read or change them.",
        f"{_FIREWALL}; require TLS client-certificate authentication (`--client-cert-auth`).",
        de_label="Eine etcd-Client-API",
        de_meaning="etcd enthält die Konfiguration und die Geheimnisse von Kubernetes und anderen Clustern; ohne "
        "Client-Zertifikate kann jeder sie lesen oder ändern.",
        de_remediation=f"{_FIREWALL_DE}; verlangen Sie eine Authentisierung mit TLS-Client-Zertifikaten "
        "(`--client-cert-auth`).",
        names=("etcd-client", "etcd"),
        products=("etcd",),
        ports=(2379,),
        http_api=True,
    ),
    _class(
        "cisco_smart_install",
        CRITICAL,
        "Cisco Smart Install",
        "Smart Install lets anyone replace a Cisco switch's configuration or firmware without authentication "
        "(CVE-2018-0171); it is actively exploited.",
        f"{_FIREWALL}; disable the feature on the switch (`no vstack`).",
        de_label="Cisco Smart Install",
        de_meaning="Über Smart Install kann jeder ohne Authentisierung die Konfiguration oder Firmware eines "
        "Cisco-Switches austauschen (CVE-2018-0171); die Lücke wird aktiv ausgenutzt.",
        de_remediation=f"{_FIREWALL_DE}; schalten Sie die Funktion auf dem Switch ab (`no vstack`).",
        names=("smart-install",),
        ports=(4786,),
    ),
    _class(
        "ics",
        CRITICAL,
        "An industrial control protocol (Modbus, S7, DNP3 or EtherNet/IP)",
        "Industrial control protocols have no authentication: anyone who reaches the port can read and change "
        "the process values of the controller behind it.",
        f"{_FIREWALL}. Control systems belong in a segmented network; {_VPN} with strong authentication.",
        de_label="Ein industrielles Steuerungsprotokoll (Modbus, S7, DNP3 oder EtherNet/IP)",
        de_meaning="Industrielle Steuerungsprotokolle haben keine Authentisierung: Wer den Port erreicht, kann die "
        "Prozesswerte der dahinterliegenden Steuerung lesen und ändern.",
        de_remediation=f"{_FIREWALL_DE}. Steuerungsanlagen gehören in ein abgetrenntes Netz; machen Sie sie nur über "
        "das VPN der Behörde oder einen Sprungserver (Bastion-Host) mit starker Authentisierung erreichbar.",
        names=("mbap", "modbus", "iso-tsap", "s7comm", "dnp", "dnp3", "ethernetip-2", "enip"),
        ports=(102, 502, 20000, 44818),
    ),
    # high: remote administration, file sharing and databases that should never face the internet
    _class(
        "docker_api_tls",
        HIGH,
        "The Docker Engine API over TLS",
        "The Docker API is reachable over TLS. It is safe only if every client must present a certificate; "
        "a missing `--tlsverify` makes it as dangerous as the plain-text API.",
        f"{_FIREWALL} or restrict it to the management network; verify that dockerd runs with `--tlsverify`.",
        de_label="Die Docker-Engine-API über TLS",
        de_meaning="Die Docker-API ist über TLS erreichbar. Sicher ist das nur, wenn jeder Client ein Zertifikat "
        "vorweisen muss; fehlt `--tlsverify`, ist sie so gefährlich wie die unverschlüsselte API.",
        de_remediation=f"{_FIREWALL_DE} oder beschränken Sie ihn auf das Verwaltungsnetz; prüfen Sie, dass dockerd "
        "mit `--tlsverify` läuft.",
        names=("docker-tls",),
        ports=(2376,),
    ),
    _class(
        "rdp",
        HIGH,
        "Remote Desktop (RDP)",
        "RDP exposed to the internet is a leading entry point of ransomware: password spraying, stolen "
        "credentials and pre-authentication flaws such as BlueKeep (CVE-2019-0708).",
        f"{_FIREWALL}; {_VPN} or an RD Gateway with multi-factor authentication, and enforce NLA.",
        de_label="Remote Desktop (RDP)",
        de_meaning="Aus dem Internet erreichbares RDP ist ein Haupteinfallstor für Ransomware: Passwort-Spraying, "
        "gestohlene Zugangsdaten und Lücken vor der Anmeldung wie BlueKeep (CVE-2019-0708).",
        de_remediation=f"{_FIREWALL_DE}; ermöglichen Sie den Zugang nur über das VPN der Behörde, einen Sprungserver "
        "(Bastion-Host) oder ein RD-Gateway mit Mehr-Faktor-Authentisierung, und erzwingen Sie die Authentifizierung "
        "auf Netzwerkebene (NLA).",
        names=("ms-wbt-server", "rdp"),
        products=("microsoft terminal services",),
        ports=(3389,),
    ),
    _class(
        "smb",
        HIGH,
        "Windows file sharing (SMB/NetBIOS)",
        "SMB was never meant for the internet: it leaks host and domain information and was the path of "
        "WannaCry and NotPetya (EternalBlue).",
        f"{_FIREWALL} (TCP 139 and 445); {_VPN} for remote file access.",
        de_label="Windows-Dateifreigabe (SMB/NetBIOS)",
        de_meaning="SMB war nie für das Internet gedacht: Es verrät Informationen über Host und Domäne und war der "
        "Verbreitungsweg von WannaCry und NotPetya (EternalBlue).",
        de_remediation=f"{_FIREWALL_DE} (TCP 139 und 445); ermöglichen Sie Dateizugriffe von außen nur über das VPN "
        "der Behörde oder einen Sprungserver.",
        names=("microsoft-ds", "netbios-ssn", "smb"),
        products=("samba smbd",),
        ports=(139, 445),
    ),
    _class(
        "telnet",
        HIGH,
        "Telnet",
        "Telnet sends passwords and sessions in clear text and is a favourite target of IoT botnets.",
        "Switch Telnet off; use SSH with key authentication, reachable only from the management network.",
        de_label="Telnet",
        de_meaning="Telnet überträgt Passwörter und Sitzungen im Klartext und ist ein beliebtes Ziel von "
        "IoT-Botnetzen.",
        de_remediation="Schalten Sie Telnet ab; nutzen Sie SSH mit Schlüssel-Authentisierung, erreichbar nur aus dem "
        "Verwaltungsnetz.",
        names=("telnet",),
        ports=(23,),
    ),
    _class(
        "rsh",
        HIGH,
        "BSD r-services (rexec, rlogin, rsh)",
        "The r-services authenticate by source address or clear-text password and are obsolete.",
        "Switch rexecd, rlogind and rshd off; use SSH.",
        de_label="BSD-r-Dienste (rexec, rlogin, rsh)",
        de_meaning="Die r-Dienste authentisieren anhand der Absenderadresse oder eines Klartext-Passworts und sind "
        "veraltet.",
        de_remediation="Schalten Sie rexecd, rlogind und rshd ab; nutzen Sie SSH.",
        names=("exec", "login", "shell", "rexec", "rlogin", "rsh"),
        ports=(512, 513, 514),
    ),
    _class(
        "mysql",
        HIGH,
        "A MySQL or MariaDB server",
        "A database listener on the internet invites password guessing and exploitation of server flaws, and "
        "shows which data store sits behind the web application.",
        f"{_FIREWALL}; bind the server to internal addresses (`bind-address`), {_VPN} for administration.",
        de_label="Ein MySQL- oder MariaDB-Server",
        de_meaning="Ein aus dem Internet erreichbarer Datenbankdienst lädt zum Erraten von Passwörtern und zum "
        "Ausnutzen von Serverlücken ein und verrät, welcher Datenspeicher hinter der Webanwendung steht.",
        de_remediation=f"{_FIREWALL_DE}; binden Sie den Server an interne Adressen (`bind-address`) und ermöglichen "
        "Sie die Administration nur über das VPN der Behörde oder einen Sprungserver.",
        names=("mysql",),
        products=("mysql", "mariadb"),
        ports=(3306,),
    ),
    _class(
        "mssql",
        HIGH,
        "A Microsoft SQL Server",
        "SQL Server on the internet is brute-forced continuously; a weak `sa` password gives command execution "
        "through xp_cmdshell.",
        f"{_FIREWALL}; {_VPN} for administration and keep the server patched.",
        de_label="Ein Microsoft SQL Server",
        de_meaning="SQL Server im Internet wird ständig mit Passwort-Rateangriffen überzogen; ein schwaches "
        "`sa`-Passwort erlaubt über xp_cmdshell die Ausführung von Befehlen.",
        de_remediation=f"{_FIREWALL_DE}; ermöglichen Sie die Administration nur über das VPN der Behörde oder einen "
        "Sprungserver, und halten Sie den Server mit Sicherheitsupdates aktuell.",
        names=("ms-sql-s", "ms-sql-m", "mssql"),
        products=("microsoft sql server",),
        ports=(1433,),
    ),
    _class(
        "oracle",
        HIGH,
        "An Oracle database listener",
        "The TNS listener exposes the database to password guessing and listener attacks.",
        f"{_FIREWALL}; restrict the listener with `tcp.invited_nodes`, {_VPN} for administration.",
        de_label="Ein Oracle-Datenbank-Listener",
        de_meaning="Der TNS-Listener setzt die Datenbank Passwort-Rateangriffen und Angriffen auf den Listener aus.",
        de_remediation=f"{_FIREWALL_DE}; beschränken Sie den Listener mit `tcp.invited_nodes` und ermöglichen Sie die "
        "Administration nur über das VPN der Behörde oder einen Sprungserver.",
        names=("oracle-tns", "oracle"),
        products=("oracle tns listener",),
        ports=(1521,),
    ),
    _class(
        "postgresql",
        HIGH,
        "A PostgreSQL server",
        "A database listener on the internet invites password guessing and exploitation of server flaws.",
        f"{_FIREWALL}; set `listen_addresses` to internal addresses and restrict `pg_hba.conf`.",
        de_label="Ein PostgreSQL-Server",
        de_meaning="Ein aus dem Internet erreichbarer Datenbankdienst lädt zum Erraten von Passwörtern und zum "
        "Ausnutzen von Serverlücken ein.",
        de_remediation=f"{_FIREWALL_DE}; setzen Sie `listen_addresses` auf interne Adressen und schränken Sie "
        "`pg_hba.conf` ein.",
        names=("postgresql",),
        products=("postgresql",),
        ports=(5432,),
    ),
    _class(
        "couchdb",
        HIGH,
        "A CouchDB HTTP API",
        "CouchDB's API gives full database access; old versions default to 'admin party' (no authentication).",
        f"{_FIREWALL}; require authentication and bind CouchDB to internal addresses.",
        de_label="Eine CouchDB-HTTP-API",
        de_meaning="Die CouchDB-API gewährt vollen Datenbankzugriff; alte Versionen laufen standardmäßig als „Admin "
        "Party“ (ohne Authentisierung).",
        de_remediation=f"{_FIREWALL_DE}; verlangen Sie eine Authentisierung und binden Sie CouchDB an interne "
        "Adressen.",
        names=("couchdb",),
        products=("couchdb",),
        ports=(5984,),
        http_api=True,
    ),
    _class(
        "vnc",
        HIGH,
        "A VNC remote desktop",
        "VNC often has weak or no passwords and weak encryption; exposed desktops are screenshotted and taken "
        "over by mass scanners.",
        f"{_FIREWALL}; {_VPN} or tunnel VNC over SSH.",
        de_label="Ein VNC-Fernzugriff",
        de_meaning="VNC hat oft schwache oder keine Passwörter und eine schwache Verschlüsselung; Massenscanner "
        "fertigen Bildschirmfotos offener Desktops an und übernehmen sie.",
        de_remediation=f"{_FIREWALL_DE}; ermöglichen Sie den Zugang nur über das VPN der Behörde, einen Sprungserver "
        "oder einen SSH-Tunnel.",
        names=("vnc", "vnc-1", "vnc-2", "vnc-3", "vnc-http", "rfb"),
        products=("vnc",),
        ports=(5800, 5900, 5901, 5902, 5903),
    ),
    _class(
        "winrm",
        HIGH,
        "Windows Remote Management (WinRM)",
        "WinRM gives PowerShell remoting with domain credentials; on the internet it is a password-spraying "
        "target and a lateral-movement tool for intruders.",
        f"{_FIREWALL} (TCP 5985 and 5986); {_VPN} for administration.",
        de_label="Windows-Remoteverwaltung (WinRM)",
        de_meaning="WinRM ermöglicht PowerShell-Remoting mit Domänen-Zugangsdaten; im Internet ist es Ziel von "
        "Passwort-Spraying und ein Werkzeug für Angreifer, sich im Netz weiterzubewegen.",
        de_remediation=f"{_FIREWALL_DE} (TCP 5985 und 5986); ermöglichen Sie die Administration nur über das VPN der "
        "Behörde oder einen Sprungserver.",
        names=("wsman", "wsmans", "winrm"),
        ports=(5985, 5986),
        http_api=True,
    ),
    _class(
        "msrpc",
        HIGH,
        "Microsoft RPC",
        "The RPC endpoint mapper reveals Windows services and has a long record of remotely exploitable flaws.",
        f"{_FIREWALL} (TCP 135 and the dynamic RPC range).",
        de_label="Microsoft RPC",
        de_meaning="Der RPC-Endpunktmapper verrät die Windows-Dienste des Hosts und hat eine lange Geschichte von "
        "Lücken, die sich aus der Ferne ausnutzen lassen.",
        de_remediation=f"{_FIREWALL_DE} (TCP 135 und den dynamischen RPC-Portbereich).",
        names=("msrpc", "epmap"),
        products=("microsoft windows rpc",),
        ports=(135,),
    ),
    _class(
        "nfs",
        HIGH,
        "An NFS file server",
        "NFS trusts client addresses and user IDs; exported file systems can often be mounted from anywhere.",
        f"{_FIREWALL}; export only to internal networks and use Kerberos (sec=krb5p).",
        de_label="Ein NFS-Dateiserver",
        de_meaning="NFS vertraut Client-Adressen und Benutzerkennungen; freigegebene Dateisysteme lassen sich oft von "
        "überall einbinden.",
        de_remediation=f"{_FIREWALL_DE}; geben Sie Dateisysteme nur an interne Netze frei und nutzen Sie Kerberos "
        "(`sec=krb5p`).",
        names=("nfs", "mountd", "nfs_acl"),
        ports=(2049,),
    ),
    _class(
        "ajp",
        HIGH,
        "An Apache JServ Protocol (AJP) connector",
        "The AJP connector of Tomcat trusts its peer; exposed, it allows file read and often code execution "
        "(Ghostcat, CVE-2020-1938).",
        f"{_FIREWALL}; bind the AJP connector to localhost or remove it, and set a `secret`.",
        de_label="Ein AJP-Connector (Apache JServ Protocol)",
        de_meaning="Der AJP-Connector von Tomcat vertraut seiner Gegenstelle; offen erreichbar erlaubt er das Lesen "
        "von Dateien und oft die Ausführung von Code (Ghostcat, CVE-2020-1938).",
        de_remediation=f"{_FIREWALL_DE}; binden Sie den AJP-Connector an localhost oder entfernen Sie ihn, und setzen "
        "Sie ein `secret`.",
        names=("ajp13", "ajp"),
        ports=(8009,),
    ),
    _class(
        "java_rmi",
        HIGH,
        "A Java RMI registry",
        "Java RMI deserialises objects from the network; exposed registries are a classic route to remote "
        "code execution.",
        f"{_FIREWALL}; bind RMI/JMX to localhost and require authentication.",
        de_label="Eine Java-RMI-Registry",
        de_meaning="Java RMI deserialisiert Objekte aus dem Netz; offene Registries sind ein klassischer Weg, aus der "
        "Ferne Schadcode auszuführen.",
        de_remediation=f"{_FIREWALL_DE}; binden Sie RMI/JMX an localhost und verlangen Sie eine Authentisierung.",
        names=("rmiregistry", "java-rmi", "rmiactivation"),
        ports=(1099,),
    ),
    _class(
        "x11",
        HIGH,
        "An X11 display server",
        "An open X server lets anyone capture the screen and inject keystrokes.",
        f"{_FIREWALL}; start X with `-nolisten tcp` and use SSH X forwarding.",
        de_label="Ein X11-Displayserver",
        de_meaning="Ein offener X-Server erlaubt jedem, den Bildschirm mitzuschneiden und Tastatureingaben "
        "einzuschleusen.",
        de_remediation=f"{_FIREWALL_DE}; starten Sie X mit `-nolisten tcp` und nutzen Sie die X-Weiterleitung über "
        "SSH.",
        names=("x11",),
        ports=(6000,),
    ),
    # medium: clear-text credentials, obsolete protocols, directory and information leaks
    _class(
        "ftp",
        MEDIUM,
        "An FTP server",
        "FTP sends passwords and files in clear text and often allows anonymous access.",
        "Replace FTP by SFTP or HTTPS; if FTP must stay, require FTPS (explicit TLS) and disable anonymous login.",
        de_label="Ein FTP-Server",
        de_meaning="FTP überträgt Passwörter und Dateien im Klartext und erlaubt oft anonymen Zugriff.",
        de_remediation="Ersetzen Sie FTP durch SFTP oder HTTPS. Muss FTP bleiben, verlangen Sie FTPS (explizites TLS) "
        "und deaktivieren Sie die anonyme Anmeldung (IIS-FTP: „SSL-Verbindungen erforderlich“ wählen und die anonyme "
        "Authentifizierung deaktivieren).",
        names=("ftp",),
        ports=(21,),
    ),
    _class(
        "mail_plaintext",
        MEDIUM,
        "Mail retrieval without TLS (POP3 or IMAP)",
        "POP3 on 110 and IMAP on 143 let clients log in before any encryption, exposing mailbox passwords.",
        "Offer only IMAPS (993) and POP3S (995), or refuse authentication before STARTTLS, and close 110/143.",
        de_label="Mailabruf ohne TLS (POP3 oder IMAP)",
        de_meaning="Über POP3 auf Port 110 und IMAP auf Port 143 melden sich Clients an, bevor die Verbindung "
        "verschlüsselt ist; Postfach-Passwörter können so mitgelesen werden.",
        de_remediation="Bieten Sie nur IMAPS (993) und POP3S (995) an oder lehnen Sie Anmeldungen vor STARTTLS ab, "
        "und schließen Sie die Ports 110 und 143.",
        names=("pop3", "imap"),
        ports=(110, 143),
    ),
    _class(
        "ldap",
        MEDIUM,
        "An LDAP directory without TLS",
        "A directory on the internet leaks users, groups and structure through anonymous binds and receives "
        "passwords in clear text; it is also abused for DDoS amplification (CLDAP).",
        f"{_FIREWALL}; if the directory must be reachable, offer LDAPS only and disable anonymous binds.",
        de_label="Ein LDAP-Verzeichnis ohne TLS",
        de_meaning="Ein Verzeichnisdienst im Internet verrät über anonyme Anmeldungen (Binds) Benutzer, Gruppen und "
        "Struktur und empfängt Passwörter im Klartext; er wird zudem für DDoS-Verstärkung missbraucht (CLDAP).",
        de_remediation=f"{_FIREWALL_DE}; muss das Verzeichnis erreichbar sein, bieten Sie nur LDAPS an und "
        "deaktivieren Sie anonyme Binds.",
        names=("ldap",),
        ports=(389,),
    ),
    _class(
        "rsync",
        MEDIUM,
        "An rsync daemon",
        "rsync modules are frequently readable (sometimes writable) without authentication.",
        f"{_FIREWALL}; use rsync over SSH, or set `auth users` and `hosts allow` for every module.",
        de_label="Ein rsync-Daemon",
        de_meaning="rsync-Module sind häufig ohne Authentisierung lesbar, manchmal sogar beschreibbar.",
        de_remediation=f"{_FIREWALL_DE}; nutzen Sie rsync über SSH oder setzen Sie für jedes Modul `auth users` und "
        "`hosts allow`.",
        names=("rsync",),
        ports=(873,),
    ),
    _class(
        "rpcbind",
        MEDIUM,
        "The Sun RPC portmapper (rpcbind)",
        "rpcbind lists the RPC services of the host (NFS, NIS) and is used for DDoS amplification.",
        f"{_FIREWALL} (TCP and UDP 111).",
        de_label="Der Sun-RPC-Portmapper (rpcbind)",
        de_meaning="rpcbind listet die RPC-Dienste des Hosts auf (NFS, NIS) und wird für DDoS-Verstärkung missbraucht.",
        de_remediation=f"{_FIREWALL_DE} (TCP und UDP 111).",
        names=("rpcbind", "sunrpc"),
        ports=(111,),
    ),
    _class(
        "pptp",
        MEDIUM,
        "A PPTP VPN",
        "PPTP's MS-CHAPv2 authentication is broken; captured handshakes reveal the password.",
        "Replace PPTP by IPsec/IKEv2, OpenVPN or WireGuard.",
        de_label="Ein PPTP-VPN",
        de_meaning="Die MS-CHAPv2-Authentisierung von PPTP ist gebrochen; aus mitgeschnittenen Anmeldungen lässt sich "
        "das Passwort gewinnen.",
        de_remediation="Ersetzen Sie PPTP durch IPsec/IKEv2, OpenVPN oder WireGuard.",
        names=("pptp",),
        ports=(1723,),
    ),
    _class(
        "mqtt",
        MEDIUM,
        "An MQTT broker without TLS",
        "Plain MQTT carries credentials and messages in clear text; many brokers accept anonymous clients.",
        "Use MQTT over TLS (8883), disable anonymous access and restrict topics with ACLs.",
        de_label="Ein MQTT-Broker ohne TLS",
        de_meaning="Unverschlüsseltes MQTT überträgt Zugangsdaten und Nachrichten im Klartext; viele Broker nehmen "
        "anonyme Clients an.",
        de_remediation="Nutzen Sie MQTT über TLS (Port 8883), deaktivieren Sie den anonymen Zugang und beschränken "
        "Sie die Topics mit ACLs.",
        names=("mqtt",),
        ports=(1883,),
    ),
    # low: fine when intended, but worth knowing
    _class(
        "ldaps",
        LOW,
        "An LDAP directory over TLS",
        "The directory is encrypted but still reachable from the internet, which is rarely needed.",
        f"{_FIREWALL} unless external clients need it; disable anonymous binds.",
        de_label="Ein LDAP-Verzeichnis über TLS",
        de_meaning="Das Verzeichnis ist verschlüsselt, aber dennoch aus dem Internet erreichbar, was selten nötig ist.",
        de_remediation=f"{_FIREWALL_DE}, sofern keine externen Clients den Dienst benötigen; deaktivieren Sie anonyme "
        "Binds.",
        names=("ldaps", "ldapssl"),
        ports=(636,),
    ),
    _class(
        "ssh",
        LOW,
        "SSH",
        "SSH is a normal administration channel but attracts constant password guessing.",
        "Allow key authentication only (`PasswordAuthentication no`), keep OpenSSH patched, and restrict the "
        "source addresses where possible.",
        de_label="SSH",
        de_meaning="SSH ist ein üblicher Verwaltungszugang, zieht aber ständige Passwort-Rateangriffe an.",
        de_remediation="Erlauben Sie nur die Anmeldung per Schlüssel (`PasswordAuthentication no`), halten Sie "
        "OpenSSH mit Sicherheitsupdates aktuell und beschränken Sie in der Firewall die zugelassenen "
        "Absenderadressen, wo möglich.",
        names=("ssh",),
        products=("openssh",),
        ports=(22,),
    ),
    # info: the expected public face of an agency
    _class(
        "http",
        INFO,
        "A web server without TLS",
        "A plain-HTTP web port is open. Expected on 80 for the redirect to HTTPS; elsewhere it usually marks an "
        "admin console or a forgotten service.",
        "Redirect port 80 to HTTPS and close any other plain-HTTP port that is not needed publicly.",
        de_label="Ein Webserver ohne TLS",
        de_meaning="Ein unverschlüsselter HTTP-Port ist offen. Auf Port 80 ist das für die Weiterleitung auf HTTPS "
        "üblich; anderswo weist es meist auf eine Verwaltungsoberfläche oder einen vergessenen Dienst hin.",
        de_remediation="Leiten Sie Port 80 auf HTTPS um (nginx `return 301 https://$host$request_uri;`, Apache "
        "`Redirect permanent / https://…/`, IIS: „HTTP-Umleitung“ oder das Modul „URL-Umschreiben“) und schließen Sie "
        "alle anderen HTTP-Ports, die nicht öffentlich gebraucht werden.",
        names=("http", "http-alt", "http-proxy", "http-mgmt"),
        ports=(80, 8000, 8080, 8888),
    ),
    _class(
        "https",
        INFO,
        "A web server over TLS",
        "An HTTPS port is open; the TLS check judges its configuration.",
        "No action if the service is meant to be public.",
        de_label="Ein Webserver über TLS",
        de_meaning="Ein HTTPS-Port ist offen; die TLS-Prüfung bewertet seine Konfiguration.",
        de_remediation="Kein Handlungsbedarf, wenn der Dienst öffentlich erreichbar sein soll.",
        names=("https", "https-alt"),
        ports=(443, 8443),
    ),
    _class(
        "smtp",
        INFO,
        "An SMTP mail server",
        "An SMTP port is open, as expected for a mail exchanger or a submission service.",
        "No action if this is the agency's mail server; make sure it is not an open relay and offers STARTTLS.",
        de_label="Ein SMTP-Mailserver",
        de_meaning="Ein SMTP-Port ist offen, wie bei einem Mailserver für eingehende Mail oder einem Dienst zum "
        "Einliefern von Mail erwartet.",
        de_remediation="Kein Handlungsbedarf, wenn es der Mailserver der Behörde ist; stellen Sie sicher, dass er "
        "kein offenes Relay ist und STARTTLS anbietet.",
        names=("smtp", "smtps", "submission", "submissions"),
        ports=(25, 465, 587),
    ),
)

EXPOSURE_SPECS: tuple[FindingSpec, ...] = tuple(c.spec for c in SERVICE_CLASSES)
