"""Secrets (database and MQTT passwords, tokens) never reach a log line, an error message or a repr."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.alerter import BrokerConfig
from monitor.settings import Settings
from tests.api.conftest import Api
from tests.conftest import InProcessPosture, posture_env

SECRET = "S3cret-Pw_4711"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POSTURE_DATABASE_URL", f"postgresql+asyncpg://posture:{SECRET}@127.0.0.1:notaport/db"),
        ("POSTURE_DATABASE_URL", f"postgresql+asyncpg://posture:{SECRET}@[::1/db"),
        ("POSTURE_DATABASE_URL", f"postgresql+asyncpg:/posture {SECRET}"),
        ("POSTURE_DATABASE_URL", f"mysql://posture:{SECRET}@127.0.0.1/db"),
        ("POSTURE_DATABASE_URL", f"postgresql+asyncpg://posture:{SECRET}@127.0.0.1:1/db"),  # refused connection
        ("POSTURE_MQTT_URL", f"mqtt://posture:{SECRET}@127.0.0.1:notaport"),
        ("POSTURE_MQTT_URL", f"http://posture:{SECRET}@127.0.0.1"),
        ("POSTURE_CONCURRENCY", SECRET),
        ("POSTURE_MQTT_PASSWORD", SECRET),  # no such setting: named, not echoed
    ],
)
def test_settings_and_connection_errors_never_echo_a_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, value: str
) -> None:
    env = posture_env(f"sqlite+aiosqlite:///{tmp_path}/p.db")
    env[name] = value
    with caplog.at_level(logging.DEBUG):
        result = InProcessPosture(env, tmp_path)("agency", "list")
    assert result.code == 2
    assert SECRET not in result.stderr + result.stdout + caplog.text
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    named = (name, name.removeprefix("POSTURE_").lower(), "database")
    assert any(word in result.stderr for word in named), result.stderr


def test_the_config_file_path_is_named_but_its_secrets_are_not(tmp_path: Path) -> None:
    config = tmp_path / "posture.toml"
    config.write_text(f'database_url = "postgresql+asyncpg://posture:{SECRET}@127.0.0.1:x/db"\n')
    env = posture_env("sqlite+aiosqlite:///unused.db") | {"POSTURE_CONFIG_FILE": str(config)}
    del env["POSTURE_DATABASE_URL"]
    result = InProcessPosture(env, tmp_path)("agency", "list")
    assert result.code == 2 and SECRET not in result.stderr and str(config) in result.stderr


def test_reprs_of_settings_and_broker_hide_passwords(tmp_path: Path) -> None:
    password_file = tmp_path / "mqtt-password"
    password_file.write_text(SECRET + "\n")
    settings = Settings(
        database_url=f"postgresql+asyncpg://posture:{SECRET}@db.internal/posture",
        mqtt_url=f"mqtt://posture:{SECRET}@127.0.0.1:1883",
    )
    broker = BrokerConfig.from_url(settings.mqtt_url or "", password_file=password_file)
    assert broker.password == SECRET and settings.database_url.count(SECRET) == 1  # kept, for use
    for shown in (repr(settings), str(settings), repr(broker), broker.display):
        assert SECRET not in shown


async def test_tokens_never_reach_the_log(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        status, issued = await api.call("POST", "/api/v1/tokens", api.tokens.admin, {"role": "analyst"})
        assert status == 201
        for token in (issued["token"], api.tokens.agency_a, "guessed-" + SECRET):
            await api.call("GET", "/api/v1/endpoints", token)
        await api.call("POST", "/api/v1/tokens/rotate", api.tokens.agency_b)
        await api.call("DELETE", f"/api/v1/tokens/{issued['id']}", api.tokens.admin)
        for _ in range(11):
            await api.call("GET", "/api/v1/findings", "guessed-" + SECRET)  # up to the 429
    text = caplog.text
    for token in (issued["token"], api.tokens.agency_a, api.tokens.agency_b, api.tokens.admin, SECRET):
        assert token not in text
