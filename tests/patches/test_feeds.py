"""Loaders on the bundled seed (the shared real data) and on damaged copies of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checks.patches.feeds import FeedError, iter_nvd_dir, iter_nvd_file, parse_eol, parse_kev, parse_nvd_record
from checks.patches.snapshot import SEED_DIR, load_dir
from checks.patches.versions import version_key

KEV_PATH = SEED_DIR / "kev" / "known_exploited_vulnerabilities.json"


def test_kev_count_equals_the_number_of_entries() -> None:
    raw = json.loads(KEV_PATH.read_bytes())
    catalog = parse_kev(KEV_PATH.read_bytes())
    assert len(catalog.entries) == raw["count"] == len(raw["vulnerabilities"]) == 1404
    assert catalog.version == "2025.08.25"
    assert len({e.cve for e in catalog.entries}) == len(catalog.entries)


def test_every_nvd_record_and_range_parses() -> None:
    records = list(iter_nvd_dir(SEED_DIR / "nvd"))
    assert len(records) == 38
    for record in records:
        for criterion in record.criteria:
            for bound in (
                criterion.start_including,
                criterion.start_excluding,
                criterion.end_including,
                criterion.end_excluding,
            ):
                if bound is not None:
                    assert version_key(bound)[0][0] == 3, (record.info.cve, bound)  # starts with a number
    by_id = {r.info.cve: r for r in records}
    assert by_id["CVE-2024-38475"].criteria == ()  # "Awaiting Analysis": no configurations
    assert by_id["CVE-2019-11500"].info.cvss_version == "3.0"  # only V30 and V2 metrics
    assert by_id["CVE-2013-2028"].info.severity == "high" and by_id["CVE-2013-2028"].info.cvss_version == "2.0"
    assert by_id["CVE-2015-3306"].info.severity == "critical"  # the ssvcV203 entry (no cvssData) is skipped


def test_eol_data_maps_to_products() -> None:
    snapshot = load_dir(SEED_DIR)
    assert snapshot.eol is not None and len(snapshot.eol) == 19
    nginx = next(e for e in snapshot.eol if e.product.product == "nginx")
    assert nginx.product.cpes == ("cpe:2.3:a:f5:nginx",)
    assert {c.eol for c in nginx.cycles} >= {"false", "2022-05-24"}
    api_form = parse_eol([{"cycle": "1.20", "eol": True, "latest": "1.20.2"}], "api", "nginx")
    assert api_form.cycles[0].eol == "true"


def test_an_api_response_streams_to_the_same_records(tmp_path: Path) -> None:
    files = sorted((SEED_DIR / "nvd").glob("*.json"))
    page = {
        "resultsPerPage": len(files),
        "startIndex": 0,
        "totalResults": len(files),
        "format": "NVD_CVE",
        "version": "2.0",
        "vulnerabilities": [{"cve": json.loads(p.read_bytes())} for p in files],
    }
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page))
    streamed = list(iter_nvd_file(path))
    assert [r.info for r in streamed] == [r.info for r in iter_nvd_dir(SEED_DIR / "nvd")]
    assert [r.criteria for r in streamed] == [r.criteria for r in iter_nvd_dir(SEED_DIR / "nvd")]


@pytest.mark.parametrize("cut", [0.3, 0.9999])
def test_a_truncated_api_response_is_refused(tmp_path: Path, cut: float) -> None:
    records = [{"cve": json.loads(p.read_bytes())} for p in sorted((SEED_DIR / "nvd").glob("*.json"))]
    text = json.dumps({"totalResults": len(records), "vulnerabilities": records})
    path = tmp_path / "page.json"
    path.write_text(text[: int(len(text) * cut)])
    with pytest.raises(FeedError, match="truncated"):
        list(iter_nvd_file(path))


def test_a_truncated_or_miscounted_kev_catalog_is_refused() -> None:
    raw = KEV_PATH.read_bytes()
    with pytest.raises(FeedError, match="not valid JSON"):
        parse_kev(raw[: len(raw) // 2])
    document = json.loads(raw)
    document["vulnerabilities"] = document["vulnerabilities"][:-1]
    with pytest.raises(FeedError, match="'count' says 1404 but the catalog lists 1403"):
        parse_kev(json.dumps(document).encode())


def test_bad_records_are_refused_with_one_line() -> None:
    with pytest.raises(FeedError, match="no valid 'id'"):
        parse_nvd_record({"id": "not-a-cve"})
    bad_range = {
        "id": "CVE-2099-0001",
        "configurations": [
            {"nodes": [{"operator": "OR", "cpeMatch": [{"vulnerable": True, "criteria": "cpe:2.3:a:x"}]}]}
        ],
    }
    with pytest.raises(FeedError, match="CVE-2099-0001"):
        parse_nvd_record(bad_range)
