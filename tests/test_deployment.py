"""The deployment files are consistent: compose mounts exist, names and ports line up, dashboards are current."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from dashboards.build import DASHBOARDS, render

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_mounted_file_exists_and_every_volume_is_declared() -> None:
    for name, service in COMPOSE["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()


def test_prometheus_scrapes_the_monitor_service_on_its_port() -> None:
    config = yaml.safe_load((ROOT / "dashboards/prometheus/prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    assert host in COMPOSE["services"]
    assert COMPOSE["services"][host]["environment"]["POSTURE_HTTP_ADDR"].endswith(f":{port}")
    mounted = [m.split(":")[1] for m in COMPOSE["services"]["prometheus"]["volumes"]]
    assert all(rule in mounted for rule in config["rule_files"])
    # /metrics needs a metrics token: Prometheus reads it from a mounted file, never from the committed config
    assert "credentials" not in job["authorization"]
    secret = job["authorization"]["credentials_file"].removeprefix("/run/secrets/")
    assert secret in COMPOSE["services"]["prometheus"]["secrets"] and secret in COMPOSE["secrets"]


def test_grafana_provisioning_matches_the_datasource_and_dashboard_paths() -> None:
    datasource = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/datasources/prometheus.yml").read_text())
    [source] = datasource["datasources"]
    host = source["url"].split("//")[1].split(":")[0]
    assert host in COMPOSE["services"]
    provider = yaml.safe_load((ROOT / "dashboards/grafana/provisioning/dashboards/posture.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    assert any(m.endswith(f":{path}:ro") for m in COMPOSE["services"]["grafana"]["volumes"])
    for board in DASHBOARDS.values():
        for panel in board["panels"]:
            if panel["type"] != "row":  # a row heading queries nothing
                assert panel["datasource"]["uid"] == source["uid"]


def test_no_secret_is_committed() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text and (ROOT / ".env.example").exists()
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_dashboards_are_built_from_their_description() -> None:
    uids = set()
    for name, board in DASHBOARDS.items():
        assert (ROOT / "dashboards/grafana/dashboards" / name).read_text() == render(board), "run dashboards/build.py"
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids))
        uids.add(board["uid"])
        json.loads(render(board))
    assert len(uids) == len(DASHBOARDS)


def test_prometheus_rules_pass_promtool() -> None:
    rules = ROOT / "dashboards/prometheus"
    subprocess.run(["promtool", "check", "rules", "rules.yml"], cwd=rules, check=True, capture_output=True)
    tested = subprocess.run(["promtool", "test", "rules", "rules_test.yml"], cwd=rules, capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr
