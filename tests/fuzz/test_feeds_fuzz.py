"""Fuzzing the KEV, NVD and endoflife.date loaders: feed JSON of any shape is read whole or refused with FeedError.

Inputs are the bundled seed documents with parts deleted or replaced by JSON of any type, plus raw bytes. A
refusal is one FeedError line naming the file; any other exception, or records from a refused file, is a bug.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from checks.patches.feeds import FeedError, iter_nvd_file, parse_eol, parse_kev, parse_nvd_record
from checks.patches.snapshot import SEED_DIR, load_dir
from tests.fuzz.budget import budget

KEV = json.loads((SEED_DIR / "kev" / "known_exploited_vulnerabilities.json").read_bytes())
# what the parser reads of a record (references and weaknesses only slow the generation down)
_READ = ("id", "published", "lastModified", "vulnStatus", "descriptions", "metrics", "configurations")
NVD = [
    {k: v for k, v in json.loads(p.read_bytes()).items() if k in _READ}
    for p in sorted((SEED_DIR / "nvd").glob("*.json"))[:6]
]
EOL = [json.loads(p.read_bytes()) for p in sorted((SEED_DIR / "eol").glob("*.json"))[:4]]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**320),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", "2024-02-30", "CVE-2024-0001", "cpe:2.3:a:x:y:*:*:*:*:*:*:*:*", "cpe:/a", "AND"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
)


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """`document` with a few of its values, at any depth, deleted or replaced by JSON of any type."""
    choice = draw(st.integers(0, 40))
    if choice == 0:
        return draw(json_values)
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            if draw(st.integers(0, 40)) == 0:
                continue  # deleted
            out[key] = draw(mutated(value))
        return out
    if isinstance(document, list):
        return [draw(mutated(item)) for item in document[:3]]
    return document


def kev_documents() -> st.SearchStrategy[Any]:
    small = {**KEV, "vulnerabilities": KEV["vulnerabilities"][:3], "count": 3}
    return st.one_of(mutated(small), json_values)


def check_one_line(err: FeedError, origin: str) -> None:
    message = str(err)
    assert message.startswith(origin) and "\n" not in message and len(message) < 2000


@budget()
@given(kev_documents())
def test_kev_catalogs_are_read_whole_or_refused(document: Any) -> None:
    raw = json.dumps(document).encode()
    try:
        catalog = parse_kev(raw, "kev.json")
    except FeedError as err:
        check_one_line(err, "kev.json")
        return
    assert len(catalog.entries) == document["count"] == len(document["vulnerabilities"])
    assert all(e.cve.startswith("CVE-") and len(e.due_date) == len(e.date_added) == 10 for e in catalog.entries)


@budget()
@given(st.binary(max_size=300))
@example(b"[" * 100_000)
@example(b'{"count": 1' + b"1" * 5000 + b"}")
@example(b"\xff\xfe{}")
def test_raw_bytes_are_json_or_a_feed_error(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    try:
        parse_kev(raw, "kev.json")
    except FeedError as err:
        check_one_line(err, "kev.json")
    path = tmp_path_factory.mktemp("nvd") / "raw.json"
    path.write_bytes(raw)
    try:
        list(iter_nvd_file(path))
    except FeedError as err:
        check_one_line(err, str(path))


@budget()
@given(st.one_of(st.sampled_from(NVD).flatmap(mutated), json_values))
@example({"id": "CVE-2020-1234", "descriptions": 5})
@example({"id": "CVE-2020-1234", "metrics": {"cvssMetricV31": [{"cvssData": {"baseScore": 10**400}}]}})
@example({"id": "CVE-2020-1234", "configurations": [{"nodes": [{"cpeMatch": 7}]}]})
def test_nvd_records_are_read_whole_or_refused(document: Any) -> None:
    try:
        record = parse_nvd_record(document, "nvd.json")
    except FeedError as err:
        check_one_line(err, "nvd.json")
        return
    assert record.info.cve == document["id"]
    assert record.info.severity in ("critical", "high", "medium", "low", "none", "unknown")
    assert record.info.score is None or math.isfinite(record.info.score)
    assert all(c.cve == record.info.cve and c.vendor and c.product for c in record.criteria)


@budget()
@given(st.one_of(st.sampled_from(EOL).flatmap(mutated), json_values), st.sampled_from([None, "nginx", "Bad Name"]))
@example({"releases": [], "product": "x", "cpe": 5}, None)
def test_eol_documents_are_read_whole_or_refused(document: Any, product: str | None) -> None:
    try:
        data = parse_eol(document, "eol.json", product)
    except FeedError as err:
        check_one_line(err, "eol.json")
        return
    assert len(data.cycles) == len(document if isinstance(document, list) else document["releases"])
    assert all(c.eol in ("true", "false") or len(c.eol) == 10 for c in data.cycles)


@budget(0.5)
@given(st.sampled_from(NVD).flatmap(lambda cve: st.lists(mutated(cve), max_size=3)), st.data())
def test_nvd_api_responses_stream_whole_or_refused(
    tmp_path_factory: pytest.TempPathFactory, items: list[Any], data: st.DataObject
) -> None:
    text = json.dumps({"resultsPerPage": len(items), "vulnerabilities": [{"cve": item} for item in items]}, indent=1)
    cut = data.draw(st.one_of(st.just(len(text)), st.integers(0, len(text))))
    raw = text[:cut].encode() + data.draw(st.sampled_from([b"", b"\xff", b"}", b"]}"]))
    path = tmp_path_factory.mktemp("nvd") / "page.json"
    path.write_bytes(raw)
    try:
        records = list(iter_nvd_file(path))
    except FeedError as err:
        check_one_line(err, str(path))
        return
    assert len(records) == len(items)  # whole: a truncated page is refused, never read in part


@budget(0.3)
@given(
    st.sampled_from(["kev", "nvd", "eol"]),
    st.binary(max_size=200) | kev_documents().map(lambda d: json.dumps(d).encode()),
)
def test_a_damaged_feed_directory_is_refused_before_anything_is_used(
    tmp_path_factory: pytest.TempPathFactory, feed: str, raw: bytes
) -> None:
    folder = tmp_path_factory.mktemp("feeds")
    (folder / "kev").mkdir()
    (folder / "kev" / "known_exploited_vulnerabilities.json").write_text(
        json.dumps({**KEV, "vulnerabilities": KEV["vulnerabilities"][:2], "count": 2})
    )
    (folder / "nvd").mkdir()
    (folder / "nvd" / "CVE-a.json").write_text(json.dumps(NVD[0]))
    (folder / "eol").mkdir()
    (folder / "eol" / "nginx.json").write_text(json.dumps(EOL[0]))
    target = {
        "kev": folder / "kev" / "known_exploited_vulnerabilities.json",
        "nvd": folder / "nvd" / "CVE-b.json",
        "eol": folder / "eol" / "php.json",
    }[feed]
    target.write_bytes(raw)
    try:
        snapshot = load_dir(folder)
    except FeedError as err:
        check_one_line(err, str(folder))
        return
    assert snapshot.kev is not None and snapshot.nvd is not None and snapshot.eol is not None
