"""Fuzzing our own reading of served certificates (checks/shared/certs.py): odd subjects, SANs and extensions.

A server chooses its certificate freely: any subject text, any SAN, extensions that do not even decode. The
facts are read without raising, keep the text as data, and survive the JSON round trip of the stored details.
"""

from __future__ import annotations

import ipaddress
import warnings
from collections.abc import Callable
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtensionOID, NameOID
from hypothesis import given, reject
from hypothesis import strategies as st

from checks.shared.certs import analyse_chain
from checks.tls.models import CertificateChain
from tests.fuzz.budget import budget

KEY = ec.generate_private_key(ec.SECP256R1())
CA_KEY = ec.generate_private_key(ec.SECP256R1())
text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
ascii_text = st.text(st.characters(max_codepoint=127), min_size=1, max_size=30)


def _or_reject(make: Callable[[str], x509.GeneralName], value: str) -> x509.GeneralName:
    try:
        return make(value)
    except ValueError:  # cryptography refuses to build it: not something a server can send either
        reject()


def _country(value: str) -> x509.NameAttribute:
    """A country name as a server may send it: any length, any characters (not only a PrintableString)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # cryptography warns about the length, and builds it
        return x509.NameAttribute(NameOID.COUNTRY_NAME, value, _validate=False)


attributes = st.one_of(
    st.builds(x509.NameAttribute, st.sampled_from([NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME]), text),
    st.builds(x509.NameAttribute, st.just(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1")), text),
    st.builds(lambda v: _country(v), text),
    st.builds(x509.NameAttribute, st.just(NameOID.EMAIL_ADDRESS), ascii_text),
)
names = st.lists(st.lists(attributes, min_size=1, max_size=2).map(x509.RelativeDistinguishedName), max_size=4).map(
    x509.Name
)
general_names = st.one_of(
    st.builds(x509.DNSName, ascii_text),
    st.builds(x509.IPAddress, st.ip_addresses()),
    st.builds(x509.IPAddress, st.ip_addresses(v=4).map(lambda a: ipaddress.ip_network(f"{a}/32"))),
    st.builds(lambda v: _or_reject(x509.RFC822Name, v), ascii_text),
    st.builds(lambda v: _or_reject(x509.UniformResourceIdentifier, v), ascii_text),
    st.builds(x509.OtherName, st.just(x509.ObjectIdentifier("1.3.6.1.4.1.99999.2")), st.just(b"\x0c\x01x")),
)
# extensions whose value does not decode: the server decides what it sends
garbage = st.builds(
    x509.UnrecognizedExtension,
    st.sampled_from(
        [
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
            ExtensionOID.BASIC_CONSTRAINTS,
            ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ]
    ),
    st.binary(max_size=12),
)


@st.composite
def certificates(draw: st.DrawFn) -> tuple[list[x509.Certificate], x509.Certificate, list[x509.GeneralName]]:
    """(served chain, its CA, the SANs put into the leaf)."""
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fuzz CA")])
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(CA_KEY.public_key())
        .serial_number(1).not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(CA_KEY, hashes.SHA256())
    )  # fmt: skip
    sans = draw(st.lists(general_names, max_size=4))
    try:
        leaf = _leaf(draw, ca_name, sans, start, end)
    except ValueError:  # the builder refuses it (duplicate attributes, an over-long value): not sendable
        reject()
    served = [leaf, ca] if draw(st.booleans()) else [leaf]
    return served, ca, sans


def _leaf(
    draw: st.DrawFn, ca_name: x509.Name, sans: list[x509.GeneralName], start: datetime, end: datetime
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder().subject_name(draw(names)).issuer_name(ca_name).public_key(KEY.public_key())
        .serial_number(draw(st.integers(1, 2**158))).not_valid_before(start).not_valid_after(end)
    )  # fmt: skip
    extra = draw(st.lists(garbage, max_size=1))
    if sans and not any(e.oid == ExtensionOID.SUBJECT_ALTERNATIVE_NAME for e in extra):
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    for extension in extra:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(CA_KEY, hashes.SHA256())


@budget()
@given(certificates(), st.booleans())
def test_served_certificates_are_read_without_raising_and_survive_storage(
    generated: tuple[list[x509.Certificate], x509.Certificate, list[x509.GeneralName]], anchored: bool
) -> None:
    served, ca, sans = generated
    with warnings.catch_warnings():
        # cryptography warns (UserWarning) when it reads a country name of the wrong length back; the suite
        # turns warnings into errors, the daemon does not
        warnings.simplefilter("ignore", UserWarning)
        check_chain(served, ca, sans, anchored)


def check_chain(
    served: list[x509.Certificate], ca: x509.Certificate, sans: list[x509.GeneralName], anchored: bool
) -> None:
    chain = analyse_chain(served, [ca] if anchored else [])
    leaf = served[0]
    try:
        subject, common_names = leaf.subject.rfc4514_string(), leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:  # e.g. a country name that is not a PrintableString: sslyze passes such chains on
        subject, common_names = "(a name that does not decode)", []
    assert chain.served[0].subject == subject
    assert chain.trust == ("trusted" if anchored and subject != "(a name that does not decode)" else chain.trust)
    sent_dns = [n.value for n in sans if isinstance(n, x509.DNSName)]
    assert list(chain.dns_names) in ([], sent_dns)  # all of them, or none when the extension does not decode
    assert chain.common_name == (str(common_names[0].value) if common_names else None)
    assert CertificateChain.model_validate_json(chain.model_dump_json()) == chain


def test_found_by_fuzzing_an_undecodable_extension_is_read_as_absent() -> None:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "host.example")])
    start, end = datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    for oid in (ExtensionOID.SUBJECT_ALTERNATIVE_NAME, ExtensionOID.BASIC_CONSTRAINTS):
        cert = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(KEY.public_key())
            .serial_number(7).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.UnrecognizedExtension(oid, b"\x00garbage"), critical=False)
            .sign(KEY, hashes.SHA256())
        )  # fmt: skip
        chain = analyse_chain([cert], [])
        assert chain.dns_names == () and chain.served[0].is_ca is False and chain.trust == "self_signed"
