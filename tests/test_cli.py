"""The `posture` command as an operator uses it: real subprocess, real database file."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.store.schema import head_revision
from tests.api.dns_server import Zone, dns_server
from tests.conftest import InProcessPosture, Posture, posture_env


@pytest.fixture
def registered(posture: Posture) -> Posture:
    assert posture("db", "upgrade").code == 0
    assert posture("agency", "add", "stadt-a", "--name", "Stadt A").code == 0
    assert posture("scope", "add", "stadt-a", "127.0.0.0/8").code == 0
    assert posture("scope", "add", "stadt-a", "stadt-a.example").code == 0
    return posture


def test_admin_commands_round_trip(registered: Posture) -> None:
    added = registered("endpoint", "add", "stadt-a", "127.0.0.2:8443", "--interval", "10m", "--label", "team=it")
    assert added.code == 0, added.stderr
    assert added.stdout.strip() == "endpoint 1 registered: 127.0.0.2:8443 (reachability, tls, ports, patch)"
    listing = registered("endpoint", "list")
    assert "127.0.0.2:8443" in listing.stdout and "stadt-a" in listing.stdout
    assert "stadt-a  Stadt A  1" in registered("agency", "list").stdout
    assert "domain  stadt-a.example" in registered("scope", "list", "stadt-a").stdout
    assert registered("endpoint", "remove", "1").code == 0
    assert "127.0.0.2" not in registered("endpoint", "list").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["stadt-a", "a b:80"], "host: only letters"),
        (["stadt-a", "host;reboot.stadt-a.example:80"], "host: only letters"),
        (["stadt-a", "--", "-oX.stadt-a.example:80"], "host: must not start with '-'"),
        (["stadt-a", "x" * 254 + ":80"], "host: longer than 253"),
        (["stadt-a", "xn--zz.stadt-a.example:80"], "host: not a valid (IDNA) host name"),
        (["stadt-a", "127.0.0.2:0"], "port: 0 is out of range (allowed: 1-65535)"),
        (["stadt-a", "127.0.0.2:65536"], "port: 65536 is out of range"),
        (["stadt-a", "127.0.0.2:80", "--checks", "tsl"], "checks: unknown check tsl"),
        (["stadt-a", "127.0.0.2:80", "--interval", "2s"], "interval: '2s' is shorter than the minimum"),
        (["nobody", "127.0.0.2:80"], "agency: no agency 'nobody'"),
        (["stadt-a", "www.other-city.example:443"], "host: www.other-city.example is outside the scope"),
        (["stadt-a", "10.0.0.1:443"], "host: 10.0.0.1 is outside the scope"),
    ],
)
def test_bad_endpoints_exit_2_with_one_line_and_write_nothing(
    registered: Posture, args: list[str], message: str
) -> None:
    result = registered("endpoint", "add", *args)
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert registered("endpoint", "list").stdout.strip().splitlines() == ["ID  AGENCY  ENDPOINT  CHECKS"]


def test_duplicate_agency_is_a_conflict(registered: Posture) -> None:
    result = registered("agency", "add", "stadt-a", "--name", "again")
    assert (result.code, result.stderr.strip()) == (2, "posture: error: slug: agency 'stadt-a' exists already")


def test_token_is_alone_on_the_last_line(registered: Posture) -> None:
    result = registered("token", "create", "--role", "agency", "--agency", "stadt-a")
    assert result.code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 43 and " " not in token
    assert registered("token", "create", "--role", "agency").code == 2


def test_outdated_schema_says_to_upgrade(posture: Posture) -> None:
    result = posture("agency", "list")
    assert result.code == 2
    assert result.stderr.strip() == (
        f"posture: error: database schema is empty, this version needs {head_revision()}: run `posture db upgrade`"
    )


def test_corrupt_database_is_one_line(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite" * 100)
    result = InProcessPosture(posture_env(f"sqlite+aiosqlite:///{corrupt}"), tmp_path)("agency", "list")
    assert (result.code, result.stderr.strip()) == (2, "posture: error: database: file is not a database")


def test_unreachable_database_is_one_line(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    result = InProcessPosture(posture_env(url), tmp_path)("agency", "list")
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "database" in result.stderr


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    yield server.getsockname()[1]
    server.close()


def test_scan_json_against_a_local_listener(posture_subprocess: Posture, listener: int) -> None:
    result = posture_subprocess("scan", f"127.0.0.1:{listener}", "--json", "--checks", "reachability")
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["target"] == {"host": "127.0.0.1", "port": listener, "kind": "endpoint"}
    [reach] = doc["results"]
    assert set(reach) >= {"check", "status", "duration_s", "observations", "details", "error"}
    assert (reach["check"], reach["status"], reach["error"]) == ("reachability", "ok", None)
    assert reach["details"]["connect_ms"] >= 0


def test_scan_of_a_closed_port_is_unreachable(posture: Posture) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    result = posture("scan", f"127.0.0.1:{port}", "--json", "--checks", "reachability")
    [reach] = json.loads(result.stdout)["results"]
    assert (reach["status"] == "unreachable" and "refused" in reach["error"].lower()) or "failed" in reach["error"]
    assert result.code == 1


def test_scan_table_output_and_usage_errors(posture: Posture, listener: int) -> None:
    table = posture("scan", f"127.0.0.1:{listener}", "--checks", "reachability")
    assert "reachability" in table.stdout and "ok" in table.stdout
    assert posture("scan", "127.0.0.1:99999").code == 2
    assert posture("scan", "127.0.0.1", "--checks", "nope").code == 2
    assert posture("bogus").code == 2


def test_scan_defaults_to_port_443(posture: Posture) -> None:
    doc = json.loads(posture("scan", "127.0.0.9", "--json", "--checks", "reachability").stdout)
    assert doc["target"]["port"] == 443


def test_scan_ports_by_hand_with_a_port_spec(posture: Posture, listener: int) -> None:
    result = posture("scan", f"127.0.0.1:{listener}", "--checks", "ports", "--ports", str(listener), "--json")
    [ports] = json.loads(result.stdout)["results"]
    assert ports["status"] == "ok", ports["error"]
    assert [p["port"] for p in ports["details"]["open_ports"]] == [listener]


def test_bad_port_specs_are_usage_errors(registered: Posture) -> None:
    scan = registered("scan", "127.0.0.1:22", "--checks", "ports", "--ports", "22-x")
    assert scan.code == 2 and scan.stderr.startswith("posture: error: ports:")
    add = registered("endpoint", "add", "stadt-a", "127.0.0.2:22", "--ports", "top:0")
    assert add.code == 2 and "ports" in add.stderr
    assert registered("endpoint", "list").stdout.strip().splitlines() == ["ID  AGENCY  ENDPOINT  CHECKS"]


def test_endpoint_port_settings_are_stored(registered: Posture) -> None:
    added = registered("endpoint", "add", "stadt-a", "127.0.0.2:443", "--ports", "22,443", "--expect-ports", "443")
    assert added.code == 0, added.stderr


def test_the_cli_checks_the_addresses_a_name_resolves_to_as_the_api_does(registered: Posture) -> None:
    """One registration rule for every interface: the name and each address it resolves to now (10.1.2.3 is DNS
    data only, nothing connects to it)."""
    zone = Zone({"www.stadt-a.example": {"A": ["127.0.0.7"]}, "intern.stadt-a.example": {"A": ["10.1.2.3"]}})
    with dns_server(zone) as address:
        registered.env["POSTURE_DNS_SERVERS"] = json.dumps([address])
        refused = registered("endpoint", "add", "stadt-a", "intern.stadt-a.example:443")
        missing = registered("endpoint", "add", "stadt-a", "nix.stadt-a.example:443")
        added = registered("endpoint", "add", "stadt-a", "www.stadt-a.example:443", "--checks", "tls")
    assert refused.code == 2 and refused.stderr.count("\n") == 1
    assert "host: intern.stadt-a.example: resolves to non-public address 10.1.2.3" in refused.stderr
    assert missing.code == 2 and "host: nix.stadt-a.example does not resolve" in missing.stderr
    assert added.code == 0 and added.stdout.strip() == "endpoint 1 registered: www.stadt-a.example:443 (tls)"
