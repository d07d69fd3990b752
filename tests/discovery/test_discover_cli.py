"""`posture discover`: one line and exit code 2 for a user's mistake; the sources' outcome as a table or JSON."""

from __future__ import annotations

import json

from tests.conftest import Posture


def test_mistakes_get_one_line_and_nothing_runs(posture: Posture) -> None:
    assert posture("db", "upgrade").code == 0
    unknown = posture("discover", "lk-nowhere", "--sources", "certs")
    assert unknown.code == 2 and unknown.stderr.count("\n") == 1
    assert "no agency 'lk-nowhere'" in unknown.stderr
    assert posture("agency", "add", "lk-a", "--name", "Landkreis A").code == 0
    bad = posture("discover", "lk-a", "--sources", "certs,whois")
    assert (
        bad.code == 2
        and bad.stderr == "posture: error: --sources: unknown source 'whois'; known: dns, sweep, certs, ct\n"
    )
    empty = posture("discover", "lk-a", "--sources", ",")
    assert empty.code == 2 and "name at least one" in empty.stderr


def test_the_outcome_as_json(posture: Posture) -> None:
    for args in (("db", "upgrade"), ("agency", "add", "lk-a", "--name", "Landkreis A")):
        assert posture(*args).code == 0
    done = posture("discover", "lk-a", "--sources", "certs", "--json")
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert document == {
        "agency": "lk-a",
        "sources": [{"source": "certs", "status": "ok", "sightings": 0, "in_scope": 0, "new": 0, "error": None}],
        "new": [],
        "registered": [],
        "refused": [],
    }
    table = posture("discover", "lk-a", "--sources", "certs")
    assert table.code == 0 and table.stdout.splitlines()[0].split() == [
        "SOURCE",
        "STATUS",
        "SEEN",
        "IN",
        "SCOPE",
        "NEW",
        "ERROR",
    ]


def test_ct_without_logs_is_skipped_with_the_reason(posture: Posture) -> None:
    for args in (("db", "upgrade"), ("agency", "add", "lk-a", "--name", "Landkreis A")):
        assert posture(*args).code == 0
    done = posture("discover", "lk-a", "--sources", "ct", "--json")
    assert done.code == 0, done.stderr
    (source,) = json.loads(done.stdout)["sources"]
    assert (source["status"], source["error"]) == ("skipped", "no CT logs configured (POSTURE_CT_LOGS)")
