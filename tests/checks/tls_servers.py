"""Test helpers for the TLS check: a private PKI and real TLS servers on loopback (127.0.0.x only).

Each server runs in its own Python subprocess (`python tls_servers.py serve spec.json`) so that OpenSSL can be
configured per server through OPENSSL_CONF (TLS 1.3 suites and groups, which Python's ssl module cannot set),
and so that the benchmark and testssl.sh can use the same servers. The server answers every request with a small
HTTP response, with or without an HSTS header.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

LOOPBACK = "127.0.0.2"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
GOOD_HSTS = "max-age=63072000; includeSubDomains"
# BSI TR-02102-2 and Mozilla intermediate agree on these (no ChaCha20 in BSI's TLS 1.3 list, no X25519 in its groups)
GOOD_TLS13 = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384"
GOOD_GROUPS = "P-256:P-384"
GOOD_TLS12_EC = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def ec_key(curve: ec.EllipticCurve | None = None) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve or ec.SECP256R1())


@dataclass
class Issued:
    cert: x509.Certificate
    key: Key

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def issue(
    cn: str,
    key: Key,
    issuer: Issued | None = None,
    *,
    sans: Sequence[str] = (),
    ca: bool = False,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
    aia_url: str | None = None,
) -> Issued:
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "posture tests")]
    )
    start = not_before or NOW - dt.timedelta(days=1)
    end = not_after or start + dt.timedelta(days=90)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        ).add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
    if aia_url:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url)
                    )
                ]
            ),
            critical=False,
        )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hash_alg or hashes.SHA256()), key)


@dataclass
class Pki:
    """A root and an intermediate; the root goes into the check's `ca_file`."""

    root: Issued
    intermediate: Issued
    ca_file: Path

    def leaf(self, host: str, key: Key | None = None, **kwargs: object) -> Issued:
        return issue(
            host, key or ec_key(), self.intermediate, sans=[host], aia_url="http://pki.posture.test/int.crt", **kwargs
        )  # type: ignore[arg-type]


def make_pki(directory: Path, name: str = "Posture Test Root") -> Pki:
    root = issue(name, ec_key(ec.SECP384R1()), ca=True, not_after=NOW + dt.timedelta(days=3650))
    intermediate = issue(f"{name} Issuing CA", ec_key(), root, ca=True, not_after=NOW + dt.timedelta(days=1800))
    ca_file = directory / f"{name.replace(' ', '_')}.pem"
    ca_file.write_bytes(root.pem())
    return Pki(root, intermediate, ca_file)


def sha1_leaf(pki: Pki, host: str) -> Issued:
    return legacy_signed_leaf(pki.intermediate, host, "sha1")


def legacy_signed_leaf(issuer: Issued, host: str, digest: str, key: Key | None = None) -> Issued:
    """A leaf signed with SHA-1 or MD5 (`digest`); cryptography no longer signs with those, the openssl command line
    does. MD5 needs an RSA issuer."""
    key = key or ec_key()
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory(prefix="sha1-") as tmp:
        d = Path(tmp)
        (d / "csr.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
        (d / "ca.pem").write_bytes(issuer.pem())
        (d / "ca.key").write_bytes(issuer.key_pem())
        (d / "ext.cnf").write_text(
            f"subjectAltName=DNS:{host}\nbasicConstraints=critical,CA:FALSE\n"
            "authorityInfoAccess=caIssuers;URI:http://pki.posture.test/int.crt\n"
        )
        subprocess.run(
            ["openssl", "x509", "-req", "-in", "csr.pem", "-CA", "ca.pem", "-CAkey", "ca.key", f"-{digest}",
             "-days", "60", "-set_serial", "4242", "-extfile", "ext.cnf", "-out", "leaf.pem"],
            cwd=d, check=True, capture_output=True,
        )  # fmt: skip
        return Issued(x509.load_pem_x509_certificate((d / "leaf.pem").read_bytes()), key)


@dataclass
class ServerSpec:
    """How one test server behaves. `ciphers` is an OpenSSL cipher string for TLS ≤ 1.2."""

    name: str
    chain_pem: str = ""
    key_pem: str = ""
    min_version: str = "TLSv1_2"
    max_version: str = "TLSv1_3"
    ciphers: str = GOOD_TLS12_EC
    tls13_suites: str = GOOD_TLS13
    groups: str = GOOD_GROUPS
    dh_params_pem: str = ""
    hsts: str | None = GOOD_HSTS
    allow_client_renegotiation: bool = False
    mode: str = "tls"  # tls | silent (accepts TCP, never answers) | plain (HTTP without TLS) | close
    extra: dict[str, str] = field(default_factory=dict)


def chain_pem(*issued: Issued) -> str:
    return "".join(i.pem().decode() for i in issued)


@dataclass
class RunningServer:
    """A test server subprocess (this module's or legacy_servers.py's); `hostname` is its spec's name."""

    hostname: str
    host: str
    port: int
    process: subprocess.Popen[bytes]


def start_server(spec: ServerSpec, workdir: Path, host: str = LOOPBACK) -> RunningServer:
    spec_file = workdir / f"{spec.name}.json"
    spec_file.write_text(json.dumps(asdict(spec)))
    env = {**os.environ, "OPENSSL_CONF": str(_openssl_conf(spec, workdir))}
    process, port = spawn(__file__, spec_file, host, env)
    return RunningServer(spec.name, host, port, process)


def spawn(
    script: str, spec_file: Path, host: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """`python SCRIPT serve SPEC HOST` (a server module of these tests) and the port it prints first."""
    assert host.startswith("127."), "test servers listen on loopback only"
    process = subprocess.Popen(
        [sys.executable, script, "serve", str(spec_file), host], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=env,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("PORT "):
        process.kill()
        process.wait()
        raise RuntimeError(f"test server {spec_file.stem} did not start: {line!r}")
    return process, int(line.split()[1])


def terminate(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def stop_server(server: RunningServer) -> None:
    terminate(server.process)


@contextlib.contextmanager
def running(
    specs: Sequence[Any], workdir: Path, start: Callable[[Any, Path], RunningServer] | None = None
) -> Iterator[dict[str, RunningServer]]:
    """Start each spec (with `start`, default this module's servers); stop them all on leaving."""
    servers: dict[str, RunningServer] = {}
    try:
        for spec in specs:
            servers[spec.name] = (start or start_server)(spec, workdir)
        yield servers
    finally:
        for server in servers.values():
            stop_server(server)


def _openssl_conf(spec: ServerSpec, workdir: Path) -> Path:
    lines = [
        "openssl_conf = default_conf",
        "[default_conf]",
        "ssl_conf = ssl_sect",
        "[ssl_sect]",
        "system_default = system_default_sect",
        "[system_default_sect]",
        f"Ciphersuites = {spec.tls13_suites}",
        f"Groups = {spec.groups}",
    ]
    path = workdir / f"{spec.name}.openssl.cnf"
    path.write_text("\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------- server side (runs in the subprocess)


def _server_context(spec: ServerSpec, workdir: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(spec.ciphers)
    context.minimum_version = ssl.TLSVersion[spec.min_version]
    context.maximum_version = ssl.TLSVersion[spec.max_version]
    chain = workdir / "chain.pem"
    key = workdir / "key.pem"
    chain.write_text(spec.chain_pem)
    key.write_text(spec.key_pem)
    context.load_cert_chain(chain, key)
    if spec.dh_params_pem:
        dh = workdir / "dh.pem"
        dh.write_text(spec.dh_params_pem)
        context.load_dh_params(str(dh))
    if spec.allow_client_renegotiation:
        # OpenSSL 3 refuses client-initiated renegotiation unless SSL_OP_ALLOW_CLIENT_RENEGOTIATION (bit 8) is set
        context.options |= ssl.Options(1 << 8)
    else:
        context.options |= ssl.OP_NO_RENEGOTIATION
    return context


def _response(spec: ServerSpec) -> bytes:
    headers = ["HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 2", "Connection: close"]
    if spec.hsts:
        headers.append(f"Strict-Transport-Security: {spec.hsts}")
    return ("\r\n".join(headers) + "\r\n\r\nok").encode()


def _read_request(conn: socket.socket | ssl.SSLSocket) -> None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return
        data += chunk


def serve(spec_file: Path, host: str) -> None:
    assert host.startswith("127.")
    spec = ServerSpec(**json.loads(spec_file.read_text()))
    workdir = spec_file.parent / f"{spec.name}.files"  # inside the caller's temporary directory
    workdir.mkdir(exist_ok=True)
    context = _server_context(spec, workdir) if spec.mode in {"tls", "close"} else None
    response = _response(spec)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket | ssl.SSLSocket = self.request
            conn.settimeout(30)
            try:
                if spec.mode == "silent":
                    threading.Event().wait(600)
                    return
                if spec.mode == "close":
                    conn.recv(16)
                    return
                if spec.mode == "plain":  # an HTTP server that gets a ClientHello answers 400 at once
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                if context is not None:
                    conn = context.wrap_socket(conn, server_side=True)
                _read_request(conn)
                conn.sendall(response)
            except (OSError, ssl.SSLError):
                return
            finally:
                with contextlib.suppress(OSError):
                    conn.close()

    serve_until_orphaned(host, Handler)


def serve_until_orphaned(host: str, handler: type[socketserver.BaseRequestHandler]) -> None:
    """Serve on a free port of `host`, printed first as 'PORT n', until the test process that started us dies."""

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

    parent = os.getppid()

    def orphan_watch() -> None:  # leave no listener behind when the test process dies
        while os.getppid() == parent:
            threading.Event().wait(0.5)
        os._exit(0)

    threading.Thread(target=orphan_watch, daemon=True).start()
    with Server((host, 0), handler) as server:
        print(f"PORT {server.server_address[1]}", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit("usage: tls_servers.py serve SPEC.json 127.0.0.x")


# ---------------------------------------------------------------- the standard cases (tests and bench)

# RFC 2409 §6.2, Oakley group 2: a well-known 1024-bit MODP prime (the weak DH case)
_OAKLEY_GROUP_2 = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF",
    16,
)


def weak_dh_params_pem() -> str:
    from cryptography.hazmat.primitives.asymmetric import dh

    params = dh.DHParameterNumbers(_OAKLEY_GROUP_2, 2).parameters()
    return params.parameter_bytes(serialization.Encoding.PEM, serialization.ParameterFormat.PKCS3).decode()


def spec_for(name: str, leaf: Issued, *chain: Issued, **kwargs: object) -> ServerSpec:
    return ServerSpec(name=name, chain_pem=chain_pem(leaf, *chain), key_pem=leaf.key_pem().decode(), **kwargs)  # type: ignore[arg-type]


LEGACY_CIPHERS = "ECDHE-RSA-AES128-SHA:AES128-SHA:DES-CBC3-SHA:@SECLEVEL=0"
RSA_GOOD_CIPHERS = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384"


def standard_specs(pki: Pki, stranger: Pki) -> list[ServerSpec]:
    """One server per observable case; `stranger` is a PKI that is not in the check's trust store.

    Each name is also the host name the check registers (SNI and name check).
    """
    day = dt.timedelta(days=1)
    inter = pki.intermediate
    self_signed_key = ec_key()
    specs = [
        spec_for("good.posture.test", pki.leaf("good.posture.test"), inter),
        spec_for(
            "expired.posture.test",
            pki.leaf("expired.posture.test", not_before=NOW - 100 * day, not_after=NOW - day),
            inter,
        ),
        spec_for(
            "future.posture.test",
            pki.leaf("future.posture.test", not_before=NOW + 10 * day, not_after=NOW + 100 * day),
            inter,
        ),
        spec_for(
            "expiring.posture.test",
            pki.leaf(
                "expiring.posture.test", not_before=NOW - 80 * day, not_after=NOW + 5 * day + dt.timedelta(hours=1)
            ),
            inter,
        ),
        spec_for("wronghost.posture.test", pki.leaf("other.posture.test"), inter),
        spec_for(
            "selfsigned.posture.test",
            issue("selfsigned.posture.test", self_signed_key, sans=["selfsigned.posture.test"]),
        ),
        spec_for(
            "unknownca.posture.test", stranger.leaf("unknownca.posture.test"), stranger.intermediate, stranger.root
        ),
        spec_for("nointermediate.posture.test", pki.leaf("nointermediate.posture.test")),
        spec_for(
            "sha1.posture.test",
            sha1_leaf(pki, "sha1.posture.test"),
            inter,
            ciphers=GOOD_TLS12_EC + ":@SECLEVEL=0",
        ),
        spec_for(
            "rsa1024.posture.test",
            pki.leaf("rsa1024.posture.test", key=rsa_key(1024)),
            inter,
            ciphers=RSA_GOOD_CIPHERS + ":@SECLEVEL=0",
        ),
        spec_for(
            "legacy.posture.test",
            pki.leaf("legacy.posture.test", key=rsa_key(2048)),
            inter,
            min_version="TLSv1",
            max_version="TLSv1_2",
            ciphers=LEGACY_CIPHERS,
        ),
        spec_for(
            "weakdh.posture.test",
            pki.leaf("weakdh.posture.test", key=rsa_key(2048)),
            inter,
            ciphers="DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
            dh_params_pem=weak_dh_params_pem(),
        ),
        spec_for("nohsts.posture.test", pki.leaf("nohsts.posture.test"), inter, hsts=None),
        spec_for("shorthsts.posture.test", pki.leaf("shorthsts.posture.test"), inter, hsts="max-age=300"),
        spec_for(
            "reneg.posture.test",
            pki.leaf("reneg.posture.test"),
            inter,
            allow_client_renegotiation=True,
            max_version="TLSv1_2",
        ),
        spec_for(
            "weakcurve.posture.test",
            pki.leaf("weakcurve.posture.test"),
            inter,
            groups="secp192r1:P-256",
            ciphers=GOOD_TLS12_EC + ":@SECLEVEL=0",
        ),
        spec_for("tls13only.posture.test", pki.leaf("tls13only.posture.test"), inter, min_version="TLSv1_3"),
        spec_for(
            "rsagood.posture.test", pki.leaf("rsagood.posture.test", key=rsa_key(3072)), inter, ciphers=RSA_GOOD_CIPHERS
        ),
        spec_for("plain.posture.test", pki.leaf("plain.posture.test"), inter, mode="plain"),
        spec_for("closer.posture.test", pki.leaf("closer.posture.test"), inter, mode="close"),
        spec_for("silent.posture.test", pki.leaf("silent.posture.test"), inter, mode="silent"),
    ]
    return specs
