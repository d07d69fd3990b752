"""What a cipher suite is made of, read from its IANA (RFC) name. Pure; no I/O.

sslyze reports suites by their IANA names (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`, SSL 2.0 ones as `SSL_CK_...`);
the name spells out key exchange, authentication, bulk cipher and MAC, so classification needs no table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# key exchanges that give forward secrecy (ephemeral Diffie-Hellman); TLS 1.3 suites always do
_FS_KEX = frozenset({"DHE", "ECDHE", "EDH", "TLS13"})
_AEAD_MARKERS = ("_GCM", "_CCM", "CHACHA20_POLY1305")


@dataclass(frozen=True, slots=True)
class SuiteTraits:
    name: str
    kex: str  # RSA, DHE, ECDHE, DH, ECDH, PSK, SRP, KRB5, TLS13, SSL2
    auth: str  # RSA, ECDSA, DSS, anon, PSK, ... ("" for TLS 1.3)
    cipher: str  # e.g. AES_128_GCM, 3DES_EDE_CBC, RC4_128, NULL
    null: bool
    anonymous: bool
    export: bool
    des: bool  # single DES (56 bit or less), not 3DES
    triple_des: bool
    rc4: bool
    aead: bool
    cbc: bool
    forward_secrecy: bool

    @property
    def static_rsa(self) -> bool:
        return self.kex == "RSA"


@lru_cache(maxsize=1024)
def classify(name: str) -> SuiteTraits:
    upper = name.upper().removeprefix("OLD_")
    if upper.startswith("SSL_CK_"):
        return _classify_sslv2(name, upper)
    if "_WITH_" not in upper:  # TLS 1.3: TLS_AES_128_GCM_SHA256
        cipher = upper.removeprefix("TLS_").rsplit("_", 1)[0]
        return _traits(name, kex="TLS13", auth="", cipher=cipher)
    left, cipher_mac = upper.removeprefix("TLS_").removeprefix("SSL_").split("_WITH_", 1)
    parts = left.split("_")
    kex = parts[0]
    auth = parts[1] if len(parts) > 1 else kex
    if "EXPORT" in parts:
        auth = next((p for p in parts[1:] if p != "EXPORT"), kex)
    if kex in {"RSA", "PSK", "SRP", "KRB5"} and len(parts) > 1 and parts[1] not in {"EXPORT", "EXPORT1024"}:
        # TLS_RSA_PSK_WITH..., TLS_SRP_SHA_RSA_WITH...: the first word names the key exchange
        auth = parts[-1]
    anonymous = "ANON" in parts
    cipher = cipher_mac
    for mac in ("_SHA384", "_SHA256", "_SHA", "_MD5", "_CCM_8", "_CCM"):
        if cipher_mac.endswith(mac) and not (mac.startswith("_CCM") and "AES" not in cipher_mac):
            cipher = cipher_mac[: -len(mac)] + (mac if mac.startswith("_CCM") else "")
            break
    export = "EXPORT" in upper or "DES40" in upper or "RC4_40" in upper or "RC2_CBC_40" in upper
    return _traits(name, kex=kex, auth="anon" if anonymous else auth, cipher=cipher, export=export)


def _classify_sslv2(name: str, upper: str) -> SuiteTraits:
    cipher = upper.removeprefix("SSL_CK_").removesuffix("_WITH_MD5")
    return _traits(name, kex="SSL2", auth="RSA", cipher=cipher, export="EXPORT" in upper)


def _traits(name: str, *, kex: str, auth: str, cipher: str, export: bool = False) -> SuiteTraits:
    triple_des = "3DES" in cipher or "DES_192_EDE3" in cipher or "DES_EDE3" in cipher
    des = ("DES" in cipher) and not triple_des
    aead = any(marker in cipher for marker in _AEAD_MARKERS) or kex == "TLS13"
    return SuiteTraits(
        name=name,
        kex=kex,
        auth=auth,
        cipher=cipher,
        null=cipher == "NULL" or cipher.startswith("NULL"),
        anonymous=auth == "anon",
        export=export,
        des=des,
        triple_des=triple_des,
        rc4="RC4" in cipher,
        aead=aead,
        cbc="_CBC" in cipher
        or cipher.endswith("CBC")
        or cipher.startswith(("DES_", "3DES", "IDEA", "SEED", "CAMELLIA")),
        forward_secrecy=kex in _FS_KEX,
    )


def key_bits(name: str) -> int:
    """The bulk cipher's key size as sslyze reports it, read from an IANA suite name (0 for NULL)."""
    traits = classify(name)
    cipher = traits.cipher
    if traits.null:
        return 0
    if traits.triple_des:
        return 168
    if "CHACHA20" in cipher:
        return 256
    sizes = [int(part) for part in cipher.replace("DES40", "DES_40").split("_") if part.isdigit()]
    if sizes:
        return sizes[0]
    return 56 if traits.des else 128


# bits of the named groups and curves sslyze can report (RFC 8422, RFC 7919, RFC 7027)
GROUP_BITS: dict[str, int] = {
    "sect163k1": 163, "sect163r1": 163, "sect163r2": 163, "sect193r1": 193, "sect193r2": 193,
    "sect233k1": 233, "sect233r1": 233, "sect239k1": 239, "sect283k1": 283, "sect283r1": 283,
    "sect409k1": 409, "sect409r1": 409, "sect571k1": 571, "sect571r1": 571,
    "secp160k1": 160, "secp160r1": 160, "secp160r2": 160, "secp192k1": 192, "secp192r1": 192,
    "secp224k1": 224, "secp224r1": 224, "secp256k1": 256, "secp256r1": 256, "secp384r1": 384,
    "secp521r1": 521, "X25519": 253, "X448": 448,
    "brainpoolP256r1": 256, "brainpoolP384r1": 384, "brainpoolP512r1": 512,
    "brainpoolP256r1tls13": 256, "brainpoolP384r1tls13": 384, "brainpoolP512r1tls13": 512,
}  # fmt: skip

# OpenSSL and the X9.62 names for the same curves
_CURVE_ALIASES = {"prime256v1": "secp256r1", "prime192v1": "secp192r1", "x25519": "X25519", "x448": "X448"}


def canonical_curve(name: str) -> str:
    return _CURVE_ALIASES.get(name, _CURVE_ALIASES.get(name.lower(), name))


def curve_bits(name: str) -> int | None:
    return GROUP_BITS.get(canonical_curve(name))
