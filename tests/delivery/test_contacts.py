"""Contact rules (the e-mail check) and the CLI: validated, the field named in one line, duplicates refused,
audited."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from monitor.errors import InvalidInput
from monitor.usecases.contacts import email_address
from tests.conftest import Posture


@pytest.mark.parametrize(
    "raw",
    ["", "no-at-sign", "a@b", "a@@b.example", "a b@lk-a.example", "a@lk-a.example\r\nBcc: x@evil.example",
     "a@[127.0.0.1]", "a@127.0.0.1", "a..b@lk-a.example", ".a@lk-a.example", "a@-lk.example",
     "ä@lk-a.example", f"{'x' * 65}@lk-a.example", "a@lk-a.example@evil.example"],
)  # fmt: skip
def test_malformed_addresses_are_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        email_address(raw)
    assert caught.value.field == "email"


def test_addresses_are_kept_with_their_domain_in_lower_case_ascii() -> None:
    assert email_address(" IT-Sicherheit@LK-A.example ") == "IT-Sicherheit@lk-a.example"
    assert email_address("post@münchen.example") == "post@xn--mnchen-3ya.example"
    assert email_address("o'brien+cert@lk-a.example") == "o'brien+cert@lk-a.example"


def test_cli_manages_contacts_with_one_line_errors(posture: Posture, tmp_path: Path) -> None:
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "lk-a", "--name", "Landkreis A").code == 0
    added = posture("contact", "add", "lk-a", "it@lk-a.example", "--name", "Erika Muster", "--language", "en")
    assert added.code == 0, added.stderr
    assert "contact 1 added to lk-a: it@lk-a.example (security, en)" in added.stdout
    bad = posture("contact", "add", "lk-a", "it@lk-a", "--name", "Erika")
    assert bad.code == 2
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("posture: error: email: ")
    assert posture("contact", "add", "lk-a", "x@lk-a.example", "--name", "E", "--role", "boss").stderr.startswith(
        "posture: error: role: "
    )
    assert posture("contact", "add", "lk-a", "it@lk-a.example", "--name", "E").code == 2  # a duplicate
    listing = posture("contact", "list", "lk-a")
    assert "Erika Muster" in listing.stdout and "it@lk-a.example" in listing.stdout
    assert posture("contact", "remove", "lk-a", "1").code == 0
    missing = posture("contact", "remove", "lk-a", "1")
    assert missing.code == 2 and missing.stderr.startswith("posture: error: id: ")
    with contextlib.closing(sqlite3.connect(tmp_path / "posture.db")) as db:
        actions = [row[0] for row in db.execute("SELECT action FROM audit_log WHERE source = 'cli' ORDER BY id")]
    assert [action for action in actions if action.startswith("contact.")] == ["contact.add", "contact.remove"]
