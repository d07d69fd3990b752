"""A web lab on loopback: one real nginx (Debian `nginx-light`) serving one site per loopback address, for the web
check's tests, its peer comparison with the MDN HTTP Observatory and its benchmark.

Each `Site` gets its own address (127.0.1.x by default) with an HTTPS server on port 443 (a certificate for that
address from the lab's own CA, trustme) and, unless `http="none"`, a server on port 80. A site is named by its
address, so the Observatory CLI, which resolves the name it is given, connects to the same place as the check:
nothing leaves 127.0.0.0/8. The context manager stops nginx and removes its folder however the block ends.

    with web_lab([Site("good", headers=GOOD_HEADERS)]) as lab:
        lab.address("good")   # "127.0.1.10"
        lab.ca_file           # the lab CA's PEM: the check's `ca_file`, the Observatory's NODE_EXTRA_CA_CERTS
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from tests.dns_lab import _Process, _start, binary

READY_TIMEOUT_S = 20.0
FIRST_ADDRESS = (127, 0, 1, 10)

# what a well-configured agency site sends
GOOD_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; "
    "form-action 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}
GOOD_PAGE = "<!doctype html><html><head><title>Stadt</title></head><body><p>Willkommen</p></body></html>\n"


def security_txt(expires: str = "2099-12-31T23:00:00Z", contact: str = "mailto:cert@example.test") -> str:
    lines = [f"Contact: {contact}" if contact else "", f"Expires: {expires}" if expires else ""]
    return "\n".join(line for line in lines if line) + "\nPreferred-Languages: de, en\n"


@dataclass(frozen=True)
class Site:
    """One site. `headers` go on every HTTPS response (`add_header … always`); `cookies` are raw Set-Cookie values;
    `http` is "redirect" (301 to https://$host$request_uri), "plain" (200), "none" (nothing on port 80) or a
    Location to redirect to; `extra` is nginx text for the HTTPS server block (locations)."""

    name: str
    headers: Mapping[str, str] = field(default_factory=lambda: dict(GOOD_HEADERS))
    cookies: Sequence[str] = ()
    page: str = GOOD_PAGE
    content_type: str = "text/html; charset=utf-8"
    http: str = "redirect"
    security_txt: str | None = field(default_factory=security_txt)
    security_txt_type: str = "text/plain; charset=utf-8"
    extra: str = ""


@dataclass
class WebLab:
    folder: Path
    ca_file: Path
    addresses: dict[str, str]
    process: _Process | None = None

    def address(self, name: str) -> str:
        return self.addresses[name]


def nginx_binary() -> str:
    found = binary("nginx")
    if found is None:
        raise RuntimeError("nginx not found: install the Debian package nginx-light (`make deps`)")
    return found


def _quote(text: str) -> str:
    if "$" in text:  # nginx would read a variable
        raise ValueError(f"no $ in lab texts: {text!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _server_blocks(site: Site, address: str, folder: Path, ca: trustme.CA) -> str:
    issued = ca.issue_cert(address)
    cert, key = folder / f"{site.name}.crt", folder / f"{site.name}.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    for extra in issued.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    issued.private_key_pem.write_to_path(str(key))
    docroot = folder / "www" / site.name
    docroot.mkdir(parents=True)
    (docroot / "index.html").write_text(site.page)
    adds = "".join(f"        add_header {name} {_quote(value)} always;\n" for name, value in site.headers.items())
    adds += "".join(f"        add_header Set-Cookie {_quote(value)} always;\n" for value in site.cookies)
    security = ""
    if site.security_txt is not None:
        security = (
            "    location = /.well-known/security.txt {\n"
            f"        default_type {_quote(site.security_txt_type)};\n"
            f"        return 200 {_quote(site.security_txt)};\n    }}\n"
        )
    https = (
        f"server {{\n    listen {address}:443 ssl;\n    server_name _;\n"
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n    root {docroot};\n"
        f"    location / {{\n        default_type {_quote(site.content_type)};\n{adds}"
        "        try_files /index.html =404;\n    }\n"
        f"{security}{site.extra}}}\n"
    )
    if site.http == "none":
        return https
    if site.http == "redirect":
        action = "return 301 https://$host$request_uri;"
    elif site.http == "plain":
        action = f"default_type text/html; return 200 {_quote(site.page)};"
    else:
        action = f"return 301 {_quote(site.http)};"
    return https + f"server {{\n    listen {address}:80;\n    server_name _;\n    location / {{ {action} }}\n}}\n"


def _config(folder: Path, blocks: str) -> str:
    temp = folder / "temp"
    temp.mkdir()
    paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\nuser root;\npid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 1024; }\n"
        "http {\n    access_log off;\n    server_tokens on;\n"
        f"{paths}{blocks}}}\n"
    )


def _wait_listening(addresses: Sequence[str], process: _Process) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(addresses)
    while pending:
        process.check_alive()
        with contextlib.suppress(OSError), socket.create_connection((pending[0], 443), timeout=0.5):
            pending.pop(0)
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"nginx did not listen on {pending[0]}:443 within {READY_TIMEOUT_S:g} s")
        time.sleep(0.05)


def addresses_from(first: tuple[int, int, int, int], count: int) -> list[str]:
    start = int.from_bytes(bytes(first), "big")
    return [socket.inet_ntoa((start + i).to_bytes(4, "big")) for i in range(count)]


@contextlib.contextmanager
def web_lab(sites: Sequence[Site], first: tuple[int, int, int, int] = FIRST_ADDRESS) -> Iterator[WebLab]:
    nginx = nginx_binary()
    with tempfile.TemporaryDirectory(prefix="posture-web-lab-") as tmp:
        folder = Path(tmp)
        ca = trustme.CA()
        ca_file = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        addresses = dict(zip((site.name for site in sites), addresses_from(first, len(sites)), strict=True))
        blocks = "".join(_server_blocks(site, addresses[site.name], folder, ca) for site in sites)
        conf = folder / "nginx.conf"
        conf.write_text(_config(folder, blocks))
        lab = WebLab(folder, ca_file, addresses)
        argv = [nginx, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"), "-g", "daemon off;"]
        lab.process = _start("nginx", argv, folder / "nginx.out")
        try:
            _wait_listening(list(addresses.values()), lab.process)
            yield lab
        finally:
            lab.process.stop()
