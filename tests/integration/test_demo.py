"""`posture demo` (what `make run` starts) shows the whole product: a sign-in for the web UI that works, alerts
delivered by its own Mosquitto with links to this daemon, and a clean stop on Ctrl-C."""

from __future__ import annotations

import contextlib
import html
import http.cookiejar
import os
import queue
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from markupsafe import escape

from monitor.catalogue import spec_for
from tests.conftest import POSTURE, free_port, posture_env

SIGN_IN = re.compile(r"^web UI: (http://\S+/ui/login) ")
BROKER = re.compile(r"^alerts: published to the demo's own broker mqtt://127\.0\.0\.1:(\d+);")
DELIVERED = re.compile(
    r"^\d\d:\d\d:\d\d  ALERT  finding\.opened +\[\w+\] (\S+) (\S+): (.+)  (http://\S+/findings/\d+)$"
)


def lines_of(stream: IO[str]) -> queue.Queue[str]:
    found: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for line in stream:
            found.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return found


def sign_in(login_url: str, token: str) -> urllib.request.OpenerDirector:
    """The browser's way: the sign-in page (its CSRF cookie and field), then the form with the token."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(login_url, timeout=10) as page:
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.read().decode())
    assert csrf is not None
    form = urllib.parse.urlencode({"csrf": csrf.group(1), "token": token}).encode()
    with browser.open(login_url, data=form, timeout=10) as signed_in:
        assert signed_in.status == 200 and signed_in.url.endswith("/ui/endpoints"), signed_in.url
        assert "127.0.0.3" in signed_in.read().decode()  # the demo agency's endpoints
    return browser


@dataclass
class Demo:
    process: subprocess.Popen[str]
    output: queue.Queue[str]
    http_port: int
    env: dict[str, str]
    stderr: IO[str]


def start_demo(tmp_path: Path) -> Demo:
    """`posture demo` on tmp_path/posture.db and a free HTTP port; stderr into tmp_path/stderr.txt."""
    http_port = free_port()
    env = posture_env(f"sqlite+aiosqlite:///{tmp_path}/posture.db")
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
    stderr = (tmp_path / "stderr.txt").open("w")
    # its own process group, like a shell's foreground job: Ctrl-C is SIGINT to the whole group
    process = subprocess.Popen(
        [*POSTURE, "demo"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr, text=True,
        start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    return Demo(process, lines_of(process.stdout), http_port, env, stderr)


def test_the_demo_prints_a_working_sign_in_and_delivered_alerts_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    started = start_demo(tmp_path)
    demo, output, http_port, stderr = started.process, started.output, started.http_port, started.stderr
    assert demo.stdout is not None
    seen: list[str] = []
    login_url: str | None = None
    token: str | None = None
    broker_port: int | None = None
    delivered: list[re.Match[str]] = []
    try:
        deadline = time.monotonic() + 90
        while not (login_url and token and broker_port and delivered) and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                line = output.get(timeout=1)
                seen.append(line)
                if login_url and token is None:  # the line after the URL
                    token = line.strip()
                if found := SIGN_IN.match(line):
                    login_url = found.group(1)
                if found := BROKER.match(line):
                    broker_port = int(found.group(1))
                if found := DELIVERED.match(line):
                    delivered.append(found)
            assert demo.poll() is None, "\n".join(seen)
        assert login_url == f"http://127.0.0.1:{http_port}/ui/login", "\n".join(seen)
        assert token and re.fullmatch(r"[A-Za-z0-9_-]{40,}", token), "the token, alone on the line after the URL"
        assert delivered, "no delivered alert within 90 s:\n" + "\n".join(seen)
        # the alert's link follows POSTURE_HTTP_ADDR, and leads a signed-in user to the finding
        browser = sign_in(login_url, token)
        endpoint, key, title, link = delivered[0].groups()
        assert link.startswith(f"http://127.0.0.1:{http_port}/findings/")
        spec = spec_for(key)
        assert spec is not None and title == spec.texts("de").title  # the demo agency's alerts are in German
        with browser.open(link, timeout=10) as finding:
            page = html.unescape(finding.read().decode())
        assert finding.status == 200 and f">{endpoint}</a>" in page
        assert f"<h1>{escape(title)}</h1>" in page  # the page speaks the alert's language (German by default)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGINT)
        code = demo.wait(timeout=40)
        stderr.close()
        demo.stdout.close()
    log = (tmp_path / "stderr.txt").read_text()
    assert code == 0, log
    assert "Traceback" not in log and " ERROR " not in log, log
    assert "POSTURE_MQTT_URL is not set" not in log and "POSTURE_UI_BASE_URL" not in log
    assert broker_port is not None
    with contextlib.suppress(ConnectionRefusedError), socket.create_connection(("127.0.0.1", broker_port), 1):
        raise AssertionError("the demo's broker outlived the demo")
    with contextlib.closing(sqlite3.connect(tmp_path / "posture.db")) as conn:
        [(revoked,)] = conn.execute("SELECT revoked_at FROM api_token WHERE label = 'demo sign-in'").fetchall()
    assert revoked is not None, "the demo's sign-in token outlives the demo"
