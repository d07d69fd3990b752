"""The agency and state reports' numbers, from a database that went through the real lifecycle."""

from __future__ import annotations

import json

from monitor.reports.render import StoreReportMaker, agency_json
from monitor.store.store import Store
from monitor.usecases.reports import Reports, posture_score
from tests.reports.lifecycle import ACTOR, AGENCY, WEEK


def test_the_score_is_100_less_weighted_open_findings_floored_with_grades() -> None:
    assert posture_score([]) == (100, "A")
    assert posture_score([4, 3, 3, 2, 2]) == (47, "D")  # 25 + 10 + 10 + 4 + 4
    assert posture_score([4] * 5) == (0, "F")
    assert posture_score([1] * 10) == (90, "A")
    assert posture_score([1] * 11) == (89, "B")


async def test_the_agency_report_in_json_has_the_weeks_numbers(filled: Store) -> None:
    maker = StoreReportMaker(filled)
    rendered = await maker(AGENCY, WEEK, "de", "json")
    document = json.loads(rendered.content)
    assert rendered.filename == "posture-lk-bericht-2026-W48-de.json"
    assert document["week"] == "2026-W48" and document["agency_name"] == "Landkreis Berichtshausen"
    assert document["week_start"] == "2026-11-22T23:00:00+00:00"
    assert document["open_by_severity"] == {"critical": 1, "high": 2, "medium": 2, "low": 0, "info": 0}
    assert (document["score"], document["grade"]) == (47, "D")
    # the week before: expired (high), self-signed (medium then), KEV (critical), weak signature (medium), version
    # (low): 100 - 25 - 10 - 4 - 4 - 1
    assert document["previous_score"] == 56
    areas = {
        area["area"]: (area["score"], area["grade"], area["change"], area["open_findings"])
        for area in document["areas"]
    }
    assert list(areas) == ["tls", "ports", "patch", "web"]
    assert areas == {
        "tls": (76, "B", -6, 3),  # 100-10-10-4 now, 100-10-4-4 before: escalated, one fixed, one new
        "ports": (96, "A", -4, 1),
        "patch": (75, "B", 1, 1),
        "web": (100, "A", 0, 0),
    }
    kinds: dict[str, list[str]] = {}
    for change in document["changes"]:
        kinds.setdefault(change["kind"], []).append(change["key"])
    assert kinds == {
        "opened": ["tls.cert.expiring", "ports.exposed.redis"],  # same severity and time: by asset
        "escalated": ["tls.cert.self_signed"],
        "resolved": ["patch.version_disclosed"],
        "fix_verified": ["tls.cert.weak_signature"],
        "overdue": ["patch.cve.CVE-2024-6387", "tls.cert.expired", "tls.cert.self_signed"],
        "acceptance_expiring": ["web.headers.csp_missing"],
    }
    lines = [(line["severity"], line["key"], line["overdue"], line["kev"]) for line in document["open_findings"]]
    assert lines == [
        ("critical", "patch.cve.CVE-2024-6387", True, True),
        ("high", "tls.cert.expired", True, False),
        ("high", "tls.cert.self_signed", True, False),
        ("medium", "tls.cert.expiring", False, False),  # no deadline: by asset
        ("medium", "ports.exposed.redis", False, False),
    ]
    assert document["open_findings"][1]["title"] == "Das Zertifikat des Servers ist abgelaufen"
    assert [u["asset"] for u in document["unreachable"]] == ["127.0.50.3:443"]
    assert document["unreachable"][0]["failed_runs"] == 3
    trend = {point["week"]: point["open_by_severity"] for point in document["trend"]}
    assert list(trend) == [f"2026-W{week}" for week in range(37, 49)]
    assert trend["2026-W40"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}
    assert trend["2026-W41"] == {"critical": 1, "high": 1, "medium": 2, "low": 1, "info": 0}
    assert trend["2026-W46"]["medium"] == 3  # redis opened
    assert trend["2026-W47"]["medium"] == 2  # … and closed: the reopened finding is not open in between
    assert trend["2026-W48"] == {"critical": 1, "high": 2, "medium": 2, "low": 0, "info": 0}


async def test_the_english_report_uses_the_stored_english_texts(filled: Store) -> None:
    report = await Reports(filled).agency(AGENCY, WEEK, "en")
    document = json.loads(agency_json(report))
    assert document["language"] == "en"
    assert document["open_findings"][1]["title"] == "certificate expired"


async def test_the_state_report_counts_every_agency(filled: Store) -> None:
    await filled.registry.add_agency("lk-leer", "Landkreis Leer ohne Befunde", ACTOR)
    report = await Reports(filled).state(WEEK, "de")
    assert [(line.agency, line.score, line.grade, line.previous_score) for line in report.agencies] == [
        (AGENCY, 47, "D", 56),
        ("lk-leer", 100, "A", 100),
    ]
    assert [(line.agency, line.overdue_critical, line.kev_open) for line in report.overdue_critical] == [(AGENCY, 1, 1)]
    assert [(kev.key, kev.agencies, kev.assets) for kev in report.kev] == [("patch.cve.CVE-2024-6387", 1, 1)]
    assert report.open_by_severity == {"critical": 1, "high": 2, "medium": 2, "low": 0, "info": 0}
    assert report.top_findings[0].count == 1 and len(report.top_findings) == 5
