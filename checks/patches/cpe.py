"""CPE names: parse CPE 2.2 URIs (nmap) and CPE 2.3 strings (NVD); one alias table for renamed vendors.

nmap reports `cpe:/a:igor_sysoev:nginx:1.18.0`; NVD's current records say `cpe:2.3:a:f5:nginx:…`, older ones
`nginx:nginx`. Every name is mapped to the name NVD uses today before it is looked up. The tables below are the
documented contract (docs/vulndb.md repeats them); tests pin each entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

ANY = "*"
NA = "-"

# old or tool-specific vendor:product → the vendor:product(s) NVD's current records use
ALIASES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("igor_sysoev", "nginx"): (("f5", "nginx"),),
    ("nginx", "nginx"): (("f5", "nginx"),),
    ("vsftpd", "vsftpd"): (("vsftpd_project", "vsftpd"),),
    ("beasts", "vsftpd"): (("vsftpd_project", "vsftpd"),),
    ("microsoft", "iis"): (("microsoft", "internet_information_services"),),
    ("microsoft", "internet_information_server"): (("microsoft", "internet_information_services"),),
    ("microsoft", "exchange"): (("microsoft", "exchange_server"),),
    ("pulsesecure", "pulse_connect_secure"): (("ivanti", "connect_secure"),),
    ("pulsesecure", "pulse_policy_secure"): (("ivanti", "policy_secure"),),
    ("synacor", "zimbra_collaboration_suite"): (("zimbra", "collaboration"),),
    ("zimbra", "zimbra_collaboration_suite"): (("zimbra", "collaboration"),),
    ("atlassian", "confluence"): (("atlassian", "confluence_server"), ("atlassian", "confluence_data_center")),
    ("citrix", "netscaler_application_delivery_controller_firmware"): (
        ("citrix", "netscaler_application_delivery_controller"),
    ),
    ("roundcube", "roundcube_webmail"): (("roundcube", "webmail"),),
    ("exim", "exim_smtpd"): (("exim", "exim"),),
}

# banner or nmap product names (lower case) → NVD vendor:product
PRODUCT_NAMES: dict[str, tuple[str, str]] = {
    "openssh": ("openbsd", "openssh"),
    "apache": ("apache", "http_server"),
    "apache httpd": ("apache", "http_server"),
    "apache http server": ("apache", "http_server"),
    "nginx": ("f5", "nginx"),
    "openresty": ("openresty", "openresty"),
    "vsftpd": ("vsftpd_project", "vsftpd"),
    "proftpd": ("proftpd", "proftpd"),
    "exim": ("exim", "exim"),
    "dovecot": ("dovecot", "dovecot"),
    "samba": ("samba", "samba"),
    "php": ("php", "php"),
    "apache tomcat": ("apache", "tomcat"),
    "apache-coyote": ("apache", "tomcat"),
    "microsoft-iis": ("microsoft", "internet_information_services"),
    "microsoft iis": ("microsoft", "internet_information_services"),
    "jenkins": ("jenkins", "jenkins"),
    "postfix": ("postfix", "postfix"),
    "openssl": ("openssl", "openssl"),
    "roundcube": ("roundcube", "webmail"),
    "gitlab": ("gitlab", "gitlab"),
}
# trailing words nmap adds to a product name: "Exim smtpd", "Dovecot imapd", "Microsoft IIS httpd"
_DAEMON_SUFFIXES = ("httpd", "smtpd", "imapd", "pop3d", "ftpd", "sshd", "smbd", "web server", "server", "daemon")

# the endoflife.date product of an NVD vendor:product, where its `cpe` list does not name it
EOL_PRODUCTS: dict[tuple[str, str], str] = {
    ("atlassian", "confluence_server"): "confluence",
    ("atlassian", "confluence_data_center"): "confluence",
    ("microsoft", "exchange_server"): "msexchange",
}


@dataclass(frozen=True, slots=True)
class Cpe:
    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    def uri23(self) -> str:
        fields = (self.part, self.vendor, self.product, self.version, self.update, self.edition, self.language)
        rest = (self.sw_edition, self.target_sw, self.target_hw, self.other)
        return "cpe:2.3:" + ":".join(_escape(f) for f in (*fields, *rest))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace(":", "\\:")


def _split23(text: str) -> list[str]:
    """The fields of a CPE 2.3 string, unescaped: split at colons that no backslash escapes (`\\\\:` ends a field)."""
    fields: list[str] = []
    current: list[str] = []
    characters = iter(text)
    for character in characters:
        if character == "\\":
            current.append(next(characters, ""))
        elif character == ":":
            fields.append("".join(current))
            current = []
        else:
            current.append(character)
    fields.append("".join(current))
    return fields


def parse_cpe(text: str) -> Cpe:
    """A CPE 2.3 formatted string or a CPE 2.2 URI; raises ValueError for anything else."""
    text = text.strip()
    lowered = text.lower()
    if lowered.startswith("cpe:2.3:"):
        fields = _split23(text[8:])
        if len(fields) != 11 or fields[0] not in ("a", "o", "h") or not fields[1] or not fields[2]:
            raise ValueError(f"not a CPE 2.3 name: {text[:120]!r}")
        values = [f.lower() if i < 3 else f for i, f in enumerate(fields)]
        return Cpe(*values)
    if lowered.startswith("cpe:/"):
        fields = [unquote(f) for f in text[5:].split(":")]
        if len(fields) < 3 or fields[0] not in ("a", "o", "h") or not fields[1] or not fields[2] or len(fields) > 7:
            raise ValueError(f"not a CPE 2.2 URI: {text[:120]!r}")
        fields += [""] * (7 - len(fields))
        part, vendor, product, version, update, edition, language = fields
        extra = {"sw_edition": ANY, "target_sw": ANY, "target_hw": ANY, "other": ANY}
        if edition.startswith("~"):  # packed edition: ~edition~sw_edition~target_sw~target_hw~other
            packed = (edition[1:].split("~") + [""] * 5)[:5]
            edition = packed[0]
            for name, value in zip(("sw_edition", "target_sw", "target_hw", "other"), packed[1:], strict=True):
                extra[name] = value or ANY
        return Cpe(
            part.lower(),
            vendor.lower(),
            product.lower(),
            version or ANY,
            update or ANY,
            edition or ANY,
            language or ANY,
            **extra,
        )
    raise ValueError(f"not a CPE name (expected cpe:2.3:… or cpe:/…): {text[:120]!r}")


def canonical(vendor: str, product: str) -> tuple[tuple[str, str], ...]:
    """The NVD vendor:product names of `vendor:product` (itself when no alias applies)."""
    key = (vendor.lower(), product.lower())
    return ALIASES.get(key, (key,))


def product_from_name(name: str) -> tuple[str, str] | None:
    """NVD vendor:product of a banner or nmap product name (`OpenSSH`, `Apache httpd`, `Exim smtpd`)."""
    lowered = " ".join(name.lower().split())
    while lowered:
        if lowered in PRODUCT_NAMES:
            return PRODUCT_NAMES[lowered]
        for suffix in _DAEMON_SUFFIXES:
            if lowered.endswith(" " + suffix):
                lowered = lowered[: -len(suffix) - 1]
                break
        else:
            return None
    return None
