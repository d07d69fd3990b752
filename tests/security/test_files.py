"""Files that hold secrets or the map of every weakness are this user's alone."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from monitor.alerter import BrokerConfig
from tests.conftest import InProcessPosture, posture_env


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_directory_are_private(tmp_path: Path) -> None:
    database = tmp_path / "state" / "posture.db"
    posture = InProcessPosture(posture_env(f"sqlite+aiosqlite:///{database}"), tmp_path)
    old_umask = os.umask(0o022)  # the usual umask, which would leave the file world-readable
    try:
        assert posture("db", "upgrade").code == 0
        assert posture("agency", "add", "lk-a", "--name", "A").code == 0
    finally:
        os.umask(old_umask)
    assert mode(database.parent) == 0o700
    files = [database, *database.parent.glob("posture.db-*")]
    assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}


def test_a_readable_mqtt_password_file_is_warned_about_without_its_content(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text("Pw-4711\n")
    secret.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        BrokerConfig.from_url("mqtt://posture@127.0.0.1:1883", password_file=secret)
    assert caplog.text == ""
    secret.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        config = BrokerConfig.from_url("mqtt://posture@127.0.0.1:1883", password_file=secret)
    assert config.password == "Pw-4711" and "readable by other users" in caplog.text and "Pw-4711" not in caplog.text
