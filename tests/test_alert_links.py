"""Links in alerts lead to this daemon's UI: by default they follow POSTURE_HTTP_ADDR; a POSTURE_UI_BASE_URL that
is not the daemon's own address (right behind a reverse proxy, a mistake otherwise) gets one warning at start."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from monitor.app import Daemon, recorder_from, work_queue
from monitor.settings import Settings, SettingsError, load_settings
from monitor.store.engine import make_engine
from monitor.store.store import Store
from tests.conftest import free_port
from tests.faults.harness import seed
from tests.waiting import until


@pytest.mark.parametrize(
    ("http_addr", "expected"),
    [
        ("127.0.0.1:9123", "http://127.0.0.1:9123"),
        ("[::1]:9000", "http://[::1]:9000"),
        ("0.0.0.0:8080", f"http://{socket.gethostname()}:8080"),
    ],
)
def test_the_default_link_base_follows_the_http_address(http_addr: str, expected: str) -> None:
    settings = Settings(http_addr=http_addr)
    assert settings.ui_base == expected
    assert settings.ui_base_mismatch() is None


async def test_the_alert_router_links_to_the_daemons_own_port(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        settings = Settings(database_url=sqlite_url, http_addr="127.0.0.1:9444")
        assert (
            recorder_from(work_queue(Store(engine), settings), settings).router.ui_base_url == "http://127.0.0.1:9444"
        )
        proxied = Settings(database_url=sqlite_url, ui_base_url="https://posture.cert.example/")
        assert (
            recorder_from(work_queue(Store(engine), proxied), proxied).router.ui_base_url
            == "https://posture.cert.example"
        )
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("http_addr", "ui_base_url"),
    [
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("127.0.0.1:8080", "http://localhost:8080/"),  # both loopback
        ("0.0.0.0:443", "https://posture.cert.example"),  # every address; https by default on 443
        ("[::1]:8080", "http://[::1]:8080/ui"),
    ],
)
def test_a_base_url_at_the_daemons_own_address_is_not_warned_about(http_addr: str, ui_base_url: str) -> None:
    assert Settings(http_addr=http_addr, ui_base_url=ui_base_url).ui_base_mismatch() is None


@pytest.mark.parametrize(
    ("http_addr", "ui_base_url"),
    [
        ("127.0.0.1:9000", "http://127.0.0.1:8080"),  # the old hard-coded default, another port
        ("127.0.0.1:8080", "https://posture.cert.example"),  # behind a proxy: fine, but said once
        ("192.0.2.10:8080", "http://192.0.2.11:8080"),
    ],
)
def test_a_base_url_elsewhere_is_named_in_one_line(http_addr: str, ui_base_url: str) -> None:
    warning = Settings(http_addr=http_addr, ui_base_url=ui_base_url).ui_base_mismatch()
    assert warning is not None and "\n" not in warning
    assert ui_base_url in warning and http_addr in warning


@pytest.mark.parametrize(
    "value", ["ftp://posture.example", "posture.example", "https://", "http://h:99999", "http://h/?a"]
)
def test_a_bad_base_url_is_one_line_naming_the_setting(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("POSTURE_UI_BASE_URL", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    [problem] = caught.value.problems
    assert problem.startswith("ui_base_url: ")


async def run_briefly(settings: Settings) -> None:
    daemon = Daemon(settings)
    task = asyncio.create_task(daemon.run(handle_signals=False))
    try:
        await until(lambda: daemon.http_port is not None, 20, "the daemon listening")
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)


async def test_the_daemon_warns_once_at_start_when_links_lead_elsewhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/posture.db"
    await seed(url, [], interval_s=60)
    port = free_port()
    own = Settings(database_url=url, http_addr=f"127.0.0.1:{port}", grace_period_s=0)
    with caplog.at_level(logging.WARNING, logger="monitor.app"):
        await run_briefly(own)
        assert not [r for r in caplog.records if "POSTURE_UI_BASE_URL" in r.getMessage()]
        await run_briefly(own.model_copy(update={"ui_base_url": "http://127.0.0.1:8080"}))
    [warning] = [r for r in caplog.records if "POSTURE_UI_BASE_URL" in r.getMessage()]
    assert warning.levelno == logging.WARNING and f"http://127.0.0.1:{port}" in warning.getMessage()
