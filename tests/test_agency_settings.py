"""Agency check settings: merged global → agency → endpoint, validated when written, set by the CLI.

The API side is in tests/api/test_agency_settings.py; the TLS check using them through the scheduler in
tests/checks/test_tls_agency.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import trustme

from checks import REGISTRY
from checks.tls import TlsConfig
from monitor.errors import InvalidInput
from monitor.usecases.check_settings import endpoint_config, patch_check_settings, stored_check_settings
from tests.conftest import Posture

CONFIGS = {name: check.config_model() for name, check in REGISTRY.items()}


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    path = tmp_path / "land-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def not_pem(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a certificate\n")
    return path


def test_each_key_comes_from_the_most_specific_level(ca_file: Path) -> None:
    base = TlsConfig(timeout_s=60, http_headers=False)
    agency = {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"], "timeout_s": 30}
    merged = endpoint_config(base, {"timeout_s": 10}, agency=agency)
    assert isinstance(merged, TlsConfig)
    assert (merged.timeout_s, merged.ca_file, merged.profiles) == (10, ca_file, ("mozilla_intermediate",))
    assert merged.http_headers is False  # untouched below: the global value


def test_a_merge_patch_sets_keys_and_null_inherits_again() -> None:
    current = {"tls": {"ca_file": "/etc/ca.pem", "profiles": ["bsi_tr_02102_2"]}, "ports": {"ports": "top:100"}}
    patched = patch_check_settings(current, {"tls": {"profiles": None, "timeout_s": 30}, "ports": None})
    assert patched == {"tls": {"ca_file": "/etc/ca.pem", "timeout_s": 30}}
    assert current["tls"]["profiles"] == ["bsi_tr_02102_2"]  # the input is not changed
    assert patch_check_settings(patched, {"tls": {"ca_file": None, "timeout_s": None}}) == {}


def test_valid_settings_are_stored_in_their_json_form(ca_file: Path) -> None:
    stored = stored_check_settings(CONFIGS, {"tls": {"ca_file": str(ca_file), "profiles": ("mozilla_intermediate",)}})
    assert stored == {"tls": {"ca_file": str(ca_file), "profiles": ["mozilla_intermediate"]}}
    assert json.loads(json.dumps(stored)) == stored


@pytest.mark.parametrize(
    ("settings", "field", "message"),
    [
        ({"tsl": {}}, "tsl", "unknown check"),
        ({"tls": {"ca_fil": "/x"}}, "tls.ca_fil", "unknown setting"),
        ({"tls": {"profiles": ["bsi"]}}, "tls.profiles.0", "'bsi_tr_02102_2' or 'mozilla_intermediate'"),
        ({"tls": {"timeout_s": -1}}, "tls.timeout_s", "greater than 0"),
        ({"tls": {"ca_file": "ca.pem"}}, "tls.ca_file", "must be an absolute path on the scanner host"),
        ({"tls": {"ca_file": "/nonexistent/ca.pem"}}, "tls.ca_file", "no such file"),
        ({"tls": {"ca_file": "{not_pem}"}}, "tls.ca_file", "no PEM certificate in it"),
        ({"tls": {"ca_file": "/" + "x" * 5000}}, "tls.ca_file", "File name too long"),
        ({"tls": 3}, "tls", "must be a table of settings"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, object], field: str, message: str, not_pem: Path) -> None:
    settings = json.loads(json.dumps(settings).replace("{not_pem}", str(not_pem)))
    with pytest.raises(InvalidInput) as caught:
        stored_check_settings(CONFIGS, settings)
    assert caught.value.field == field
    assert message in caught.value.reason and "\n" not in str(caught.value)


@pytest.mark.parametrize("value", [None, [], {}, 5, -1.5, "x", True, [[]], {"a": {}}])
def test_any_json_value_for_any_key_is_accepted_or_one_invalid_input(value: object) -> None:
    """The API takes arbitrary JSON here: nothing may escape as another exception (a 500)."""
    for name, config in CONFIGS.items():
        for key in type(config).model_fields:
            try:
                stored_check_settings(CONFIGS, {name: {key: value}})
            except InvalidInput as err:
                assert err.field.startswith(f"{name}.")


@pytest.fixture
def registered(posture: Posture) -> Posture:
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "land-a", "--name", "Land A").code == 0
    assert posture("scope", "add", "land-a", "127.0.0.0/8").code == 0
    return posture


def audit_actions(posture: Posture) -> list[str]:
    database = posture.env["POSTURE_DATABASE_URL"].removeprefix("sqlite+aiosqlite:///")
    with sqlite3.connect(database) as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def test_cli_sets_shows_and_unsets_agency_settings(registered: Posture, ca_file: Path) -> None:
    shown = registered("agency", "settings", "land-a")
    assert (shown.code, shown.stdout.splitlines()) == (
        0,
        ['alert_language = "de"', "agency land-a: no check settings of its own (global ones apply)"],
    )
    result = registered(
        "agency", "settings", "land-a", "--ca-file", str(ca_file), "--profile", "mozilla_intermediate",
        "--set", "tls.full_scan_every_s=86400",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stdout.splitlines() == [  # one agency PKI for every check that judges certificates
        'alert_language = "de"',
        f'mail.ca_file = "{ca_file}"',
        f'tls.ca_file = "{ca_file}"',
        "tls.full_scan_every_s = 86400.0",
        'tls.profiles = ["mozilla_intermediate"]',
    ]
    assert registered("agency", "settings", "land-a").stdout == result.stdout
    unset = registered("agency", "settings", "land-a", "--unset", "tls.profiles", "--unset", "tls.full_scan_every_s")
    assert unset.stdout.splitlines() == [
        'alert_language = "de"',
        f'mail.ca_file = "{ca_file}"',
        f'tls.ca_file = "{ca_file}"',
    ]
    cleared = registered("agency", "settings", "land-a", "--unset", "tls", "--unset", "mail")
    assert "agency land-a: no check settings" in cleared.stdout
    assert audit_actions(registered).count("agency.settings") == 3


def test_cli_sets_the_alert_language(registered: Posture) -> None:
    english = registered("agency", "settings", "land-a", "--alert-language", "en")
    assert english.code == 0, english.stderr
    assert english.stdout.splitlines()[0] == 'alert_language = "en"'
    assert registered("agency", "settings", "land-a").stdout.splitlines()[0] == 'alert_language = "en"'
    assert audit_actions(registered).count("agency.alert_language") == 1
    assert audit_actions(registered).count("agency.settings") == 0  # the check settings were not touched
    refused = registered("agency", "settings", "land-a", "--alert-language", "fr")
    assert refused.code == 2 and "invalid choice: 'fr'" in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ca-file", "absent.pem"], "ca-file: absent.pem: no such file"),
        (["--ca-file", "notes.txt"], "tls.ca_file: {cwd}/notes.txt: no PEM certificate in it"),
        (["--profile", "bsi"], "tls.profiles.0: Input should be"),
        (["--set", "tls.timeout_s=0"], "tls.timeout_s: Input should be greater than 0"),
        (["--set", "tls.ca_file=relative.pem"], "tls.ca_file: relative.pem: must be an absolute path"),
        (["--set", "tls"], "set: 'tls' is not CHECK.KEY=VALUE"),
        (["--set", "nmap.ports=22"], "nmap: unknown check"),
    ],
)
def test_cli_refuses_bad_settings_with_one_line_and_writes_nothing(
    registered: Posture, args: list[str], message: str
) -> None:
    (registered.cwd / "notes.txt").write_text("not a certificate\n")
    before = audit_actions(registered)
    result = registered("agency", "settings", "land-a", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message.format(cwd=registered.cwd.resolve()) in lines[0], result.stderr
    assert audit_actions(registered) == before
    assert "agency land-a: no check settings" in registered("agency", "settings", "land-a").stdout


def test_cli_unknown_agency_is_one_line(registered: Posture) -> None:
    result = registered("agency", "settings", "nobody", "--profile", "mozilla_intermediate")
    assert result.code == 2 and "agency: no agency 'nobody'" in result.stderr


def test_endpoint_registration_checks_the_tls_settings_on_this_host(registered: Posture, not_pem: Path) -> None:
    result = registered("endpoint", "add", "land-a", "127.0.0.2:443", "--checks", "tls", "--ca-file", str(not_pem))
    assert result.code == 2 and f"tls.ca_file: {not_pem}: no PEM certificate in it" in result.stderr
    added = registered("endpoint", "add", "land-a", "127.0.0.2:443", "--checks", "tls", "--profile", "bsi_tr_02102_2")
    assert added.code == 0, added.stderr
