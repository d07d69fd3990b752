"""Settings are strict: a typo is an error at start, one line naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from monitor.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_sqlite_and_loopback_http() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.http_addr == "127.0.0.1:8080"
    assert settings.mqtt_url is None
    assert settings.per_host_concurrency == 1
    assert settings.default_interval_s == 3600


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "posture.toml"
    config.write_text('concurrency = 7\ndefault_interval = "15m"\n[checks.reachability]\ntimeout_s = 3\n')
    monkeypatch.setenv("POSTURE_CONCURRENCY", "9")
    settings = load_settings(config)
    assert settings.concurrency == 9
    assert settings.default_interval_s == 900
    assert settings.checks == {"reachability": {"timeout_s": 3}}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("concurency = 3\n", "concurency: unknown setting"),
        ('database_url = "mysql://x"\n', "database_url: must start with"),
        ('http_addr = "8080"\n', "http_addr: '8080' is not HOST:PORT"),
        ('mqtt_url = "http://broker"\n', "mqtt_url: must look like"),
        ('default_interval = "2s"\n', "shorter than the minimum of 5 s"),
        ('default_interval = "1 week"\n', "is not a duration"),
        ("per_host_concurrency = 0\n", "per_host_concurrency: Input should be greater than or equal to 1"),
        ("[checks.nmapp]\n", "checks.nmapp: unknown check"),
        ("[checks.reachability]\ntimeoutt = 3\n", "checks.reachability.timeoutt: unknown setting"),
        ("[checks.reachability]\ntimeout_s = -1\n", "checks.reachability.timeout_s: Input should be greater"),
        ("concurrency = \n", "config file"),
    ],
)
def test_invalid_files_name_the_setting(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(toml)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert len(caught.value.problems) == 1
    assert message in caught.value.problems[0]


def test_unknown_environment_variables_are_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTURE_DATABASE_ULR", "sqlite+aiosqlite:///x.db")
    with pytest.raises(SettingsError, match="POSTURE_DATABASE_ULR: unknown setting"):
        load_settings()


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTURE_CONCURRENCY", "many")
    monkeypatch.setenv("POSTURE_JITTER", "2")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert [p.split(":")[0] for p in caught.value.problems] == ["concurrency", "jitter"]


def test_missing_config_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_a_config_path_that_is_not_a_file_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    assert caught.value.problems == [f"config file {tmp_path}: not a regular file"]


def test_every_setting_is_documented() -> None:
    documented = (Path(__file__).parent.parent / "docs" / "config.md").read_text()
    from monitor.settings import Settings

    for name in Settings.model_fields:
        assert f"POSTURE_{name.upper()}" in documented, name


@pytest.mark.parametrize("spec", ["127.0.0.53", "127.0.0.53:5353", "::1", "[::1]:5353"])
def test_name_servers_are_ip_ip_port_or_bracketed_v6_port(spec: str) -> None:
    assert Settings(dns_servers=[spec]).dns_servers == [spec]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("resolver.local", "not an IP address"),
        ("127.0.0.1:0", "bad port"),
        ("[::1]x", "not IP"),
        ("::1:70000", "not an IP address"),
    ],
)
def test_a_bad_name_server_is_refused_with_the_reason(spec: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        Settings(dns_servers=[spec])
