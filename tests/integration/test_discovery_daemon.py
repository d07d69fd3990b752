"""The daemon runs discovery on its own: a Certificate Transparency log on loopback names a host inside an agency's
scope, and the on-call staff get an `asset.discovered` CloudEvent from the real broker; the agency finds it in its
inbox through the API."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.dns_server import Zone, dns_server
from tests.conftest import POSTURE, Posture, free_port, posture_env
from tests.ct_log import CtCa, CtLogServer, running_log
from tests.mqtt_broker import Broker, start_broker, subscribed

AGENCY = "lk-ct"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    broker = start_broker(tmp_path / "broker")
    yield broker
    broker.stop()


async def test_a_name_in_a_ct_log_is_alerted_and_waits_in_the_inbox(
    tmp_path: Path, sqlite_url: str, posture_subprocess: Posture, broker: Broker
) -> None:
    for args in (
        ["db", "upgrade"],
        ["agency", "add", AGENCY, "--name", "Landkreis CT"],
        ["scope", "add", AGENCY, "ct-a.example"],
        ["scope", "add", AGENCY, "127.0.64.0/24"],
    ):
        assert posture_subprocess(*args).code == 0
    token = (
        posture_subprocess("token", "create", "--role", "agency", "--agency", AGENCY).stdout.strip().splitlines()[-1]
    )
    ca = CtCa()
    zone = Zone({"vpn.ct-a.example": {"A": ["127.0.64.9"]}})
    with dns_server(zone) as resolver:
        async with running_log(
            CtLogServer([ca.entry(["vpn.ct-a.example", "www.elsewhere.example"])]), "127.0.64.1"
        ) as log:
            http = f"127.0.0.1:{free_port()}"
            env = posture_env(
                sqlite_url,
                POSTURE_MQTT_URL=broker.url,
                POSTURE_DNS_SERVERS=json.dumps([resolver]),
                POSTURE_CT_LOGS=json.dumps([log.url]),
                POSTURE_CT_BACKLOG="100",
                POSTURE_DISCOVERY_SOURCES='["ct"]',
                POSTURE_UI_BASE_URL="https://posture.example",
            )
            env["POSTURE_HTTP_ADDR"] = http
            async with subscribed(broker, f"posture/v1/alerts/{AGENCY}/#") as subscriber:
                daemon = subprocess.Popen([*POSTURE, "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
                try:
                    await subscriber.wait_for(
                        lambda s: any(p.get("type") == "org.posture-monitor.asset.discovered" for p in s.payloads()),
                        30,
                    )
                    request = urllib.request.Request(
                        f"http://{http}/api/v1/discoveries", headers={"Authorization": f"Bearer {token}"}
                    )
                    with urllib.request.urlopen(request, timeout=10) as reply:
                        inbox = json.load(reply)["items"]
                finally:
                    daemon.terminate()
                    _, stderr = daemon.communicate(timeout=20)
    event = next(p for p in subscriber.payloads() if p.get("type") == "org.posture-monitor.asset.discovered")
    assert event["data"]["host"] == "vpn.ct-a.example" and event["data"]["port"] is None
    assert event["subject"] == f"{AGENCY}/discoveries/{inbox[0]['id']}"
    assert event["data"]["title"] == "Neues System entdeckt: vpn.ct-a.example"
    assert event["data"]["link"] == f"https://posture.example/discoveries/{inbox[0]['id']}"
    assert [(item["host"], item["state"], item["sources"]) for item in inbox] == [
        ("vpn.ct-a.example", "candidate", ["ct"])
    ]
    assert daemon.returncode == 0, stderr
