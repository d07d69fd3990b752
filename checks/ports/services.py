"""`classify`: which catalogue class an open port belongs to, from nmap's product, service name and port number."""

from __future__ import annotations

from checks.ports.catalogue import SERVICE_CLASSES, ServiceClass
from checks.ports.models import OpenPort

# nmap names a TLS-wrapped service by its inner protocol and sets tunnel="ssl"; these are the TLS variants.
_TLS_NAMES = {
    "http": "https",
    "http-alt": "https",
    "http-proxy": "https",
    "docker": "docker-tls",
    "ldap": "ldaps",
    "imap": "imaps",
    "pop3": "pop3s",
    "smtp": "smtps",
    "ftp": "ftps",
    "telnet": "telnets",
    "wsman": "wsmans",
}
# a class found by product or port number, seen wrapped in TLS, is its TLS sibling
_TLS_CLASS = {"docker_api": "docker_api_tls", "http": "https", "ldap": "ldaps"}
_UNINFORMATIVE = frozenset({"", "unknown", "tcpwrapped"})
_WEB = frozenset({"http", "https"})


def classify(port: OpenPort) -> ServiceClass | None:
    """The risk class of an open port, from nmap's product, its service name and, as a fallback, the port number.

    A positive identification (`method == "probed"`) wins over the port number, except that a generic HTTP answer
    on the port of an HTTP API (Docker, Elasticsearch, WinRM …) counts as that API. A guess from the port table
    (`method == "table"`, or version detection off) lets the port number decide first.
    """
    product = port.product.lower()
    if product:
        for cls in SERVICE_CLASSES:
            if any(fragment in product for fragment in cls.products):
                return _tls_variant(cls, port)
    service = port.service.lower()  # nmap-services spells a few names in capitals ("X11", "EtherNetIP-2")
    name = _TLS_NAMES.get(service, service) if port.tunnel == "ssl" else service
    identified = port.method == "probed" and name not in _UNINFORMATIVE
    if not identified or name in _WEB:
        for cls in SERVICE_CLASSES:
            if port.port in cls.ports and (not identified or cls.http_api):
                return _tls_variant(cls, port)
    for cls in SERVICE_CLASSES:
        if name in cls.names:
            return cls
    return None


def _tls_variant(cls: ServiceClass, port: OpenPort) -> ServiceClass:
    if port.tunnel != "ssl" or cls.slug not in _TLS_CLASS:
        return cls
    return next(other for other in SERVICE_CLASSES if other.slug == _TLS_CLASS[cls.slug])
