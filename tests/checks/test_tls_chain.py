"""Our own trust path (checks/shared/certs.py): incomplete chains, untrusted roots, and MD5/SHA-1 signatures judged
apart from trust. Certificates are made here (cryptography, and the openssl command line for MD5 and SHA-1)."""

from __future__ import annotations

import datetime as dt

import pytest
import tls_servers as ts
from cryptography.hazmat.primitives.asymmetric import ec

from checks.shared.certs import analyse_chain
from checks.tls.evaluate import certificate_observations
from checks.tls.models import TlsConfig
from monitor.models import Severity

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def rsa_pki() -> tuple[ts.Issued, ts.Issued]:
    """An RSA root and intermediate (MD5 signatures need an RSA signer)."""
    root = ts.issue("RSA Test Root", ts.rsa_key(), ca=True, not_after=NOW + dt.timedelta(days=3650))
    intermediate = ts.issue("RSA Test Issuing CA", ts.rsa_key(), root, ca=True)
    return root, intermediate


def test_a_complete_chain_to_an_anchor_is_trusted(rsa_pki: tuple[ts.Issued, ts.Issued]) -> None:
    root, intermediate = rsa_pki
    leaf = ts.issue("www.posture.test", ts.ec_key(), intermediate, sans=["www.posture.test"])
    chain = analyse_chain([leaf.cert, intermediate.cert], [root.cert])
    assert chain.trust == "trusted"
    assert [subject.split(",")[-1] for subject in chain.trusted_path] == [
        "CN=www.posture.test", "CN=RSA Test Issuing CA", "CN=RSA Test Root"
    ]  # fmt: skip


@pytest.mark.parametrize("aia_url", [None, "http://pki.posture.test/issuing.crt"])
@pytest.mark.parametrize("root_in_store", [True, False])
def test_a_missing_intermediate_is_an_incomplete_chain_whatever_the_store_holds(
    rsa_pki: tuple[ts.Issued, ts.Issued], aia_url: str | None, root_in_store: bool
) -> None:
    root, intermediate = rsa_pki
    leaf = ts.issue("www.posture.test", ts.ec_key(), intermediate, sans=["www.posture.test"], aia_url=aia_url)
    chain = analyse_chain([leaf.cert], [root.cert] if root_in_store else [])
    assert chain.trust == "incomplete_chain"
    assert chain.trust_reason is not None and "CN=RSA Test Issuing CA" in chain.trust_reason
    assert (aia_url in chain.trust_reason) if aia_url else ("http" not in chain.trust_reason)


def test_a_leaf_issued_by_an_anchor_needs_nothing_more(rsa_pki: tuple[ts.Issued, ts.Issued]) -> None:
    root, _ = rsa_pki
    leaf = ts.issue("www.posture.test", ts.ec_key(), root, sans=["www.posture.test"])
    assert analyse_chain([leaf.cert], [root.cert]).trust == "trusted"


def test_a_chain_ending_in_a_root_no_store_holds_is_an_untrusted_root(rsa_pki: tuple[ts.Issued, ts.Issued]) -> None:
    root, intermediate = rsa_pki
    leaf = ts.issue("www.posture.test", ts.ec_key(), intermediate, sans=["www.posture.test"])
    chain = analyse_chain([leaf.cert, intermediate.cert, root.cert], [])
    assert chain.trust == "untrusted_root"
    assert chain.trust_reason is not None and "CN=RSA Test Root" in chain.trust_reason


def test_a_lone_self_signed_leaf_is_self_signed() -> None:
    alone = ts.issue("www.posture.test", ts.ec_key(ec.SECP256R1()), sans=["www.posture.test"])
    assert analyse_chain([alone.cert], []).trust == "self_signed"


@pytest.mark.parametrize(("digest", "severity"), [("md5", Severity.HIGH), ("sha1", Severity.MEDIUM)])
def test_a_weakly_signed_leaf_from_a_trusted_ca_is_weak_but_trusted(
    rsa_pki: tuple[ts.Issued, ts.Issued], digest: str, severity: Severity
) -> None:
    root, intermediate = rsa_pki
    leaf = ts.legacy_signed_leaf(intermediate, "www.posture.test", digest, key=ts.rsa_key())
    chain = analyse_chain([leaf.cert, intermediate.cert], [root.cert])
    assert chain.trust == "trusted"
    assert chain.leaf.signature_hash == digest
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)  # openssl starts the validity now
    found = {o.key: o for o in certificate_observations(chain, "www.posture.test", TlsConfig(), later)}
    assert set(found) == {"tls.cert.weak_signature"}
    weak = found["tls.cert.weak_signature"]
    assert weak.severity is severity and weak.detail["hash"] == digest and weak.detail["position"] == 0
    assert "www.posture.test" in weak.detail["certificate"]
