"""Alerts for people: title and one-line summary in the agency's language, resolved events that say so, evidence
cut to a budget with the finding's link kept; the BSI compliance alert measured before and after."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.base import CheckContext
from checks.tls import TlsConfig
from checks.tls.models import AcceptedSuite
from monitor.alert_format import OutboxEvent, cloudevent
from monitor.alert_texts import (
    DETAIL_BUDGET,
    MIN_STRING,
    SUMMARY_MAX,
    _cut,
    cut_detail,
    one_line,
    shorten,
    summary_line,
    wire_size,
)
from monitor.models import EventType, FindingEvent, Language, Severity
from monitor.store.finding_store import AlertTarget, jsonable
from monitor.usecases.alerting import AlertRouter
from tests.checks.test_tls_evaluate import CHECK, cert, chain, details
from tests.fuzz.budget import budget

NOW = datetime(2026, 11, 27, 6, 40, tzinfo=UTC)
ROUTER = AlertRouter("https://posture.cert.example", Severity.LOW)
HOSTILE = 'Outdated SSH <script>"\n\r\t\x1b]0;owned\x07\x1b[2J\x00 \u202eevil\u2028line\u2029x\u200b'


def target(language: Language, host: str = "www.stadt-beispiel.de") -> AlertTarget:
    return AlertTarget("stadt-beispiel", 42, host, 443, None, language)


def expired(kind: EventType = EventType.FINDING_OPENED) -> FindingEvent:
    return FindingEvent(
        kind, 42, "tls", "tls.cert.expired", Severity.CRITICAL, "The server's certificate has expired",
        {"not_after": "2026-11-20T00:00:00+00:00"}, "Renew the certificate and install the new one.",
    )  # fmt: skip


def data_of(event: FindingEvent, language: Language, host: str = "www.stadt-beispiel.de") -> dict[str, Any]:
    row = ROUTER.row(target(language, host), event, NOW, 1234)
    assert row is not None
    return dict(row["data"])


def is_one_line(text: str) -> bool:
    return all(unicodedata.category(c)[0] != "C" and c not in "\u2028\u2029" for c in text) and text == text.strip()


def test_an_opened_finding_reads_as_one_german_line_naming_severity_what_and_where() -> None:
    data = data_of(expired(), "de")
    assert data["language"] == "de"
    assert data["summary"] == "Kritisch: Das Zertifikat des Servers ist abgelaufen – www.stadt-beispiel.de:443"
    assert data["title"] == "Das Zertifikat des Servers ist abgelaufen"
    assert data["remediation"].startswith("Erneuern Sie")  # the catalogue's German remediation
    # the machine fields stay as they are, whatever the language
    assert (data["key"], data["check"], data["severity"]) == ("tls.cert.expired", "tls", "critical")
    assert data["detail"] == {"not_after": "2026-11-20T00:00:00+00:00"} and data["detail_truncated"] is False
    assert data["link"] == "https://posture.cert.example/findings/1234"


def test_an_english_agency_reads_the_stored_specific_texts() -> None:
    data = data_of(expired(), "en")
    assert data["language"] == "en"
    assert data["summary"] == "Critical: The server's certificate has expired – www.stadt-beispiel.de:443"
    assert data["title"] == "The server's certificate has expired"
    assert data["remediation"] == "Renew the certificate and install the new one."


def test_a_cve_keeps_its_id_in_the_german_title() -> None:
    event = FindingEvent(
        EventType.FINDING_OPENED, 42, "patch", "patch.cve.CVE-2024-6387", Severity.CRITICAL,
        "OpenSSH 9.6p1: CVE-2024-6387 (regreSSHion)", {"cve": "CVE-2024-6387"}, "Update OpenSSH.",
    )  # fmt: skip
    data = data_of(event, "de")
    assert data["summary"].startswith("Kritisch: Dienstversion mit bekannter Sicherheitslücke: CVE-2024-6387 – ")


# every event type: the word in the title (unless the title says it itself) and in the summary, both languages
WORDS = {
    EventType.FINDING_OPENED: ("Kritisch: Das", "Critical: The", None, None),
    EventType.FINDING_ESCALATED: ("Hochgestuft (kritisch): ", "Escalated (critical): ", "Hochgestuft: ", "Escalated: "),
    EventType.FINDING_RESOLVED: ("Behoben (kritisch): ", "Resolved (critical): ", "Behoben: ", "Resolved: "),
    EventType.FINDING_REMINDER: ("Erinnerung (kritisch): ", "Reminder (critical): ", "Erinnerung: ", "Reminder: "),
    EventType.FINDING_OVERDUE: (
        "Frist überschritten (kritisch): ", "Overdue (critical): ", "Frist überschritten: ", "Overdue: ",
    ),
    EventType.FINDING_ACCEPTANCE_EXPIRED: (
        "Risikoakzeptanz abgelaufen (kritisch): ", "Acceptance expired (critical): ",
        "Risikoakzeptanz abgelaufen: ", "Acceptance expired: ",
    ),
    EventType.FINDING_FLAPPING: ("Instabil (kritisch): ", "Flapping (critical): ", "Instabil: ", "Flapping: "),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(WORDS))
def test_each_finding_event_says_what_happened_in_title_and_summary(kind: EventType) -> None:
    summary_de, summary_en, title_de, title_en = WORDS[kind]
    german, english = data_of(expired(kind), "de"), data_of(expired(kind), "en")
    assert german["summary"].startswith(summary_de) and english["summary"].startswith(summary_en)
    assert german["title"] == (title_de or "") + "Das Zertifikat des Servers ist abgelaufen"
    assert english["title"] == (title_en or "") + "The server's certificate has expired"
    assert german["summary"].endswith(" – www.stadt-beispiel.de:443")


def test_endpoint_events_say_unreachable_and_resolved() -> None:
    down = FindingEvent(
        EventType.ENDPOINT_UNREACHABLE, 42, "tls", "endpoint.unreachable", Severity.MEDIUM,
        "endpoint unreachable for 3 runs of tls in a row", {"failures": 3, "error": "connection refused"},
    )  # fmt: skip
    up = FindingEvent(
        EventType.ENDPOINT_RECOVERED, 42, "tls", "endpoint.recovered", Severity.MEDIUM,
        "endpoint reachable again for tls", {"failures": 0},
    )  # fmt: skip
    assert data_of(down, "de")["summary"] == "Mittel: Endpunkt nicht erreichbar – www.stadt-beispiel.de:443"
    assert data_of(down, "en")["summary"] == (
        "Medium: endpoint unreachable for 3 runs of tls in a row – www.stadt-beispiel.de:443"
    )
    assert data_of(up, "de")["summary"] == "Behoben (mittel): Endpunkt wieder erreichbar – www.stadt-beispiel.de:443"
    assert data_of(up, "de")["title"] == "Endpunkt wieder erreichbar"  # says so itself
    assert data_of(up, "en")["summary"].startswith("Resolved (medium): endpoint reachable again for tls – ")


def test_text_from_a_scanned_server_cannot_break_the_summary_line() -> None:
    event = FindingEvent(
        EventType.FINDING_OPENED, 42, "patches", "patch.banner.outdated", Severity.HIGH, HOSTILE, {"banner": HOSTILE}
    )
    data = data_of(event, "en")
    assert is_one_line(data["summary"]) and len(data["summary"]) <= SUMMARY_MAX
    assert data["summary"] == 'High: Outdated SSH <script>" ]0;owned [2J evil line x – www.stadt-beispiel.de:443'
    assert data["title"] == HOSTILE and data["detail"]["banner"] == HOSTILE  # data, untouched: escaped on display


def test_a_long_title_gives_way_to_the_host_and_a_long_host_is_cut() -> None:
    event = FindingEvent(EventType.FINDING_RESOLVED, 42, "ports", "ports.exposed.ics", Severity.CRITICAL, "x", {})
    german = data_of(event, "de", "scada-leitstelle.wasserverband.stadt-beispiel.de")
    assert german["summary"] == (
        "Behoben (kritisch): Ein industrielles Steuerungsprotokoll…"
        " – scada-leitstelle.wasserverband.stadt-beispiel.de:443"
    )
    assert len(german["summary"]) <= SUMMARY_MAX
    host = ".".join(["a" * 63] * 3) + ".de"
    long_host = data_of(event, "de", host)["summary"]
    assert len(long_host) <= SUMMARY_MAX and long_host.endswith("…") and long_host.startswith("Behoben (kritisch): ")


def test_shorten_cuts_at_a_word_with_an_ellipsis() -> None:
    assert shorten("Das Zertifikat des Servers ist abgelaufen", 100) == "Das Zertifikat des Servers ist abgelaufen"
    assert shorten("Das Zertifikat des Servers ist abgelaufen", 25) == "Das Zertifikat des…"
    assert shorten("TLS_RSA_WITH_AES_128_CBC_SHA", 10) == "TLS_RSA_W…"  # no word near: cut inside it
    assert one_line(" a\r\nb\t\u0085c\u200e ") == "a b c"


@given(lead=st.text(max_size=40), title=st.text(max_size=400), endpoint=st.text(max_size=300))
@budget()
def test_any_summary_is_one_line_within_the_limit(lead: str, title: str, endpoint: str) -> None:
    summary = summary_line(lead, title, endpoint)
    assert len(summary) <= SUMMARY_MAX and is_one_line(summary)


# --- evidence --------------------------------------------------------------------------------------------------


def test_small_evidence_is_kept_whole() -> None:
    detail = {"not_after": "2026-11-20T00:00:00+00:00", "kev": False, "ports": [22, 3389]}
    assert cut_detail(detail) == (detail, False)


def test_long_evidence_keeps_its_keys_and_every_item_before_lists_are_cut() -> None:
    detail = {"banner": "x" * 5000, "failed": [{"requirement": f"r{i}", "text": "word " * 100} for i in range(5)]}
    cut, truncated = cut_detail(detail)
    assert truncated and wire_size(cut) <= DETAIL_BUDGET
    assert cut.keys() == detail.keys() and [f["requirement"] for f in cut["failed"]] == [f"r{i}" for i in range(5)]
    assert cut["banner"].endswith("…") and all(f["text"].endswith("…") for f in cut["failed"])
    many = {"ports": list(range(10_000))}
    cut, truncated = cut_detail(many)
    assert truncated and wire_size(cut) <= DETAIL_BUDGET and cut["ports"] == list(range(len(cut["ports"])))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: st.lists(children, max_size=30) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=60,
)


@given(detail=st.dictionaries(st.text(max_size=12), json_values, max_size=6))
@budget()
def test_any_evidence_is_cut_to_the_budget_or_to_the_least_there_is_and_keeps_its_shape(
    detail: dict[str, Any],
) -> None:
    cut, truncated = cut_detail(detail)
    assert truncated == (wire_size(detail) > DETAIL_BUDGET)
    assert wire_size(cut) <= DETAIL_BUDGET or cut == _cut(detail, MIN_STRING, 1)
    assert_same_shape(cut, detail)


def assert_same_shape(cut: Any, original: Any) -> None:
    """Every key stays; lists keep a prefix of their items; strings a prefix and "…"."""
    if isinstance(original, dict):
        assert list(cut) == list(original)
        for key in original:
            assert_same_shape(cut[key], original[key])
    elif isinstance(original, list):
        assert len(cut) <= len(original)
        for item, whole in zip(cut, original, strict=False):
            assert_same_shape(item, whole)
    elif isinstance(original, str) and cut != original:
        assert cut.endswith("…") and original.startswith(cut[:-1].rstrip(" ,;:.-–"))
    elif not isinstance(original, str):
        assert cut == original


# --- the BSI compliance alert, measured ------------------------------------------------------------------------


def legacy_windows_server_details() -> Any:
    """A server as agencies run them: TLS 1.0-1.2 with static RSA, CBC and 3DES suites, X25519, DHE of 2048
    bits and an RSA-2048 certificate (the defaults of an older IIS)."""
    ecdhe, dhe, rsa = ("x25519", 253), ("DH", 2048), (None, None)
    suites = [
        ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 256, ecdhe), ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 128, ecdhe),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 256, ecdhe), ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 128, ecdhe),
        ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 256, ecdhe), ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 128, ecdhe),
        ("TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", 256, dhe), ("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", 128, dhe),
        ("TLS_RSA_WITH_AES_256_GCM_SHA384", 256, rsa), ("TLS_RSA_WITH_AES_128_GCM_SHA256", 128, rsa),
        ("TLS_RSA_WITH_AES_256_CBC_SHA256", 256, rsa), ("TLS_RSA_WITH_AES_128_CBC_SHA256", 128, rsa),
        ("TLS_RSA_WITH_AES_256_CBC_SHA", 256, rsa), ("TLS_RSA_WITH_AES_128_CBC_SHA", 128, rsa),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", 112, rsa),
    ]  # fmt: skip
    tls12 = tuple(AcceptedSuite(name=n, bits=b, group=g, group_bits=gb) for n, b, (g, gb) in suites)
    old = tuple(s for s in tls12 if s.name.endswith("_CBC_SHA"))
    rsa_cert = cert(key_type="RSA", key_bits=2048, curve=None, signature_algorithm="sha256WithRSAEncryption")
    return details(
        suites={"TLSv1.0": old, "TLSv1.1": old, "TLSv1.2": tls12},
        curves=("x25519", "secp256r1", "secp384r1"),
        certificate=chain(rsa_cert),
    )


def published_size(data: dict[str, Any]) -> int:
    event = OutboxEvent(1, "5b0d7a3e-2f3c-4f7e-9a39-0d6c1a6f2b11", "finding.opened", "stadt-beispiel", 42,
                        "medium", NOW, data)  # fmt: skip
    return wire_size(cloudevent(event, "urn:posture-monitor:cert-posture-1"))


def test_the_bsi_compliance_alert_shrinks_and_keeps_every_failed_requirement_and_the_link() -> None:
    observations = CHECK.evaluate(
        legacy_windows_server_details(), TlsConfig(profiles=("bsi_tr_02102_2",)), CheckContext(now=NOW)
    )
    bsi = next(o for o in observations if o.key == "tls.compliance.bsi_tr_02102_2")
    event = FindingEvent(EventType.FINDING_OPENED, 42, "tls", bsi.key, bsi.severity, bsi.title, bsi.detail,
                         bsi.remediation)  # fmt: skip
    german, english = data_of(event, "de"), data_of(event, "en")
    # before: the stored English texts and the whole evidence, as alerts were until now
    before = {key: value for key, value in english.items() if key not in ("language", "summary", "detail_truncated")}
    before["detail"] = jsonable(bsi.detail)
    sizes = {"before": published_size(before), "de": published_size(german), "en": published_size(english)}
    assert sizes["before"] > 3000, sizes  # the "about 3 KB"
    assert wire_size(before["detail"]) > 1800
    assert sizes["en"] < 2500 and sizes["de"] < 2800, sizes  # German remediation is longer, and escaped
    for data in (german, english):
        assert data["detail_truncated"] is True and wire_size(data["detail"]) <= DETAIL_BUDGET
        assert [f["requirement"] for f in data["detail"]["failed"]] == [f["requirement"] for f in bsi.detail["failed"]]
        assert data["link"] == "https://posture.cert.example/findings/1234"
    assert german["summary"] == "Mittel: Nicht konform zur BSI TR-02102-2 – www.stadt-beispiel.de:443"
    assert json.loads(json.dumps(german)) == german
