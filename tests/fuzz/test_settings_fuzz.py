"""Fuzzing the settings: any TOML file and any POSTURE_* environment give Settings or SettingsError, one line per
problem naming the setting; never a traceback. Accepted values are usable (durations finite, ports in range)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from checks import REGISTRY
from monitor.durations import parse_duration
from monitor.errors import InvalidInput
from monitor.settings import ENV_PREFIX, Settings, SettingsError, check_configs, load_settings
from monitor.usecases.check_settings import endpoint_config
from tests.fuzz.budget import budget

KNOWN = sorted(Settings.model_fields)
CHECK_KEYS = sorted({key for check in REGISTRY.values() for key in check.config_model.model_fields} | {"bogus"})

durations = st.builds(
    lambda n, u: f"{n}{u}", st.integers(0, 10**25) | st.floats(0, 1e30).map(lambda f: f"{f:f}"), st.sampled_from("smhd")
)
scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    durations,
    st.sampled_from(["", "127.0.0.1:8080", "[::1]:99999", "mqtt://h:0", "mqtts://", "top:0", "22,80-79", "DEBUG"]),
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(CHECK_KEYS), inner, max_size=3)
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value).replace("inf", "inf")
            if math.isfinite(value)
            else {"inf": "inf", "-inf": "-inf"}.get(repr(value), "nan")
        )
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of BMP text is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def toml_files(draw: st.DrawFn) -> str:
    keys = draw(st.lists(st.sampled_from([*KNOWN, "concurency", "x"]), max_size=5, unique=True))
    lines = [f"{key} = {toml_value(draw(values))}" for key in keys if key != "checks"]
    for check in draw(st.lists(st.sampled_from([*sorted(REGISTRY), "nmapp"]), max_size=2, unique=True)):
        lines.append(f"[checks.{check}]")
        lines += [
            f"{k} = {toml_value(draw(values))}"
            for k in draw(st.lists(st.sampled_from(CHECK_KEYS), max_size=3, unique=True))
        ]
    return "\n".join(lines) + "\n"


def assert_one_line_per_problem(err: SettingsError) -> None:
    assert err.problems and str(err) == "\n".join(err.problems)
    for problem in err.problems:
        assert "\n" not in problem and "Traceback" not in problem
        name = problem.split(":", 1)[0]
        assert name and " " not in name.replace("config file ", ""), problem


def assert_usable(settings: Settings) -> None:
    for name in ("default_interval", "reopen_window", "reminder_critical", "deadline_high", "flap_window"):
        seconds = parse_duration(getattr(settings, name))
        assert math.isfinite(seconds)
        timedelta(seconds=seconds)  # the daemon's arithmetic must not overflow
    _, port = settings.http_host_port
    assert 0 <= port <= 65535
    check_configs(settings)


@budget()
@given(toml_files())
@example('default_interval = "99999999999999999999d"\n')
def test_any_settings_file_gives_settings_or_one_line_per_problem(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("settings") / "posture.toml"
    path.write_text(text)
    try:
        settings = load_settings(path)
    except SettingsError as err:
        assert_one_line_per_problem(err)
        return
    assert_usable(settings)


@budget()
@given(st.binary(max_size=200))
@example(b"a = '\xff'")
@example(b"[" * 5000)
def test_any_bytes_as_a_settings_file_give_settings_or_settings_error(
    tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("settings") / "posture.toml"
    path.write_bytes(raw)
    try:
        load_settings(path)
    except SettingsError as err:
        assert_one_line_per_problem(err)


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    for name in saved:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        for name in values:
            os.environ.pop(name, None)
        os.environ.update(saved)


env_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30),
    scalars.map(lambda v: json.dumps(v) if not isinstance(v, str) else v),
    values.map(json.dumps),
).map(lambda v: v.replace("\x00", ""))  # an environment cannot carry a NUL


@budget()
@given(
    st.dictionaries(
        st.sampled_from([*KNOWN, "databse_url"]).map(lambda k: ENV_PREFIX + k.upper()), env_text, max_size=4
    )
)
@example({"POSTURE_CHECKS": "{"})
@example({"POSTURE_DNS_SERVERS": "8.8.8.8"})
def test_any_environment_gives_settings_or_one_line_per_problem(env: dict[str, str]) -> None:
    with environment(env):
        try:
            settings = load_settings()
        except SettingsError as err:
            assert_one_line_per_problem(err)
            return
    assert_usable(settings)


@budget()
@given(st.sampled_from(sorted(REGISTRY)), st.dictionaries(st.sampled_from(CHECK_KEYS), values, max_size=3))
def test_endpoint_overrides_give_a_config_or_invalid_input(check: str, overrides: dict[str, Any]) -> None:
    base = REGISTRY[check].config_model()
    try:
        config = endpoint_config(base, overrides)
    except InvalidInput as err:
        assert err.field and "\n" not in err.reason
        return
    assert isinstance(config, type(base))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"POSTURE_CHECKS": "{"}, "POSTURE_CHECKS: not valid JSON"),
        (
            {"POSTURE_DEFAULT_INTERVAL": "9" * 30 + "d"},
            "default_interval: '" + "9" * 30 + "d' is longer than the maximum",
        ),
    ],
)
def test_found_by_fuzzing_environment_values(env: dict[str, str], message: str) -> None:
    with environment(env), pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems[0].startswith(message)


def test_found_by_fuzzing_a_settings_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "posture.toml"
    path.write_bytes(b"log_level = '\xff'\n")
    with pytest.raises(SettingsError, match=r"posture.toml: not UTF-8 text \(byte 13\)"):
        load_settings(path)
