"""The catalogue of risky exposures: one service class per `ports.exposed.<class>` key.

Keys are concrete (no `ports.exposed.*` family), one FindingSpec per class, so that docs/findings.md lists every class
with its own severity, meaning and remediation. Two ports of one class on an endpoint (HTTP on 80 and 8080) make one
observation whose detail lists both. Severity is by class: critical for unauthenticated data stores and control
APIs, high for remote administration, file sharing and databases, medium for clear-text credentials and obsolete
protocols, low for SSH and LDAPS, info for the expected public web and mail ports.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.base import FindingSpec
from monitor.models import Severity

_FIREWALL = "Block the port at the perimeter firewall"
_VPN = "reach it only through the agency VPN or a bastion host"


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
        names=("telnet",),
        ports=(23,),
    ),
    _class(
        "rsh",
        HIGH,
        "BSD r-services (rexec, rlogin, rsh)",
        "The r-services authenticate by source address or clear-text password and are obsolete.",
        "Switch rexecd, rlogind and rshd off; use SSH.",
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
        names=("rmiregistry", "java-rmi", "rmiactivation"),
        ports=(1099,),
    ),
    _class(
        "x11",
        HIGH,
        "An X11 display server",
        "An open X server lets anyone capture the screen and inject keystrokes.",
        f"{_FIREWALL}; start X with `-nolisten tcp` and use SSH X forwarding.",
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
        names=("ftp",),
        ports=(21,),
    ),
    _class(
        "mail_plaintext",
        MEDIUM,
        "Mail retrieval without TLS (POP3 or IMAP)",
        "POP3 on 110 and IMAP on 143 let clients log in before any encryption, exposing mailbox passwords.",
        "Offer only IMAPS (993) and POP3S (995), or refuse authentication before STARTTLS, and close 110/143.",
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
        names=("ldap",),
        ports=(389,),
    ),
    _class(
        "rsync",
        MEDIUM,
        "An rsync daemon",
        "rsync modules are frequently readable (sometimes writable) without authentication.",
        f"{_FIREWALL}; use rsync over SSH, or set `auth users` and `hosts allow` for every module.",
        names=("rsync",),
        ports=(873,),
    ),
    _class(
        "rpcbind",
        MEDIUM,
        "The Sun RPC portmapper (rpcbind)",
        "rpcbind lists the RPC services of the host (NFS, NIS) and is used for DDoS amplification.",
        f"{_FIREWALL} (TCP and UDP 111).",
        names=("rpcbind", "sunrpc"),
        ports=(111,),
    ),
    _class(
        "pptp",
        MEDIUM,
        "A PPTP VPN",
        "PPTP's MS-CHAPv2 authentication is broken; captured handshakes reveal the password.",
        "Replace PPTP by IPsec/IKEv2, OpenVPN or WireGuard.",
        names=("pptp",),
        ports=(1723,),
    ),
    _class(
        "mqtt",
        MEDIUM,
        "An MQTT broker without TLS",
        "Plain MQTT carries credentials and messages in clear text; many brokers accept anonymous clients.",
        "Use MQTT over TLS (8883), disable anonymous access and restrict topics with ACLs.",
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
        names=("http", "http-alt", "http-proxy", "http-mgmt"),
        ports=(80, 8000, 8080, 8888),
    ),
    _class(
        "https",
        INFO,
        "A web server over TLS",
        "An HTTPS port is open; the TLS check judges its configuration.",
        "No action if the service is meant to be public.",
        names=("https", "https-alt"),
        ports=(443, 8443),
    ),
    _class(
        "smtp",
        INFO,
        "An SMTP mail server",
        "An SMTP port is open, as expected for a mail exchanger or a submission service.",
        "No action if this is the agency's mail server; make sure it is not an open relay and offers STARTTLS.",
        names=("smtp", "smtps", "submission", "submissions"),
        ports=(25, 465, 587),
    ),
)

EXPOSURE_SPECS: tuple[FindingSpec, ...] = tuple(c.spec for c in SERVICE_CLASSES)
