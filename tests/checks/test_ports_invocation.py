"""What exactly the check hands to nmap, and how it merges the two phases: a recording stand-in for nmap.

The stand-in prints canned XML and sends no packet, so documentation addresses (192.0.2.0/24, 2001:db8::/32) are safe
to use here.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from checks.base import CheckContext
from checks.ports import OpenPort, PortsCheck, PortsConfig
from monitor.models import CheckStatus, Target
from monitor.runner import execute

HEAD = '<?xml version="1.0"?><nmaprun scanner="nmap" version="7.93">'
TAIL = '<runstats><finished time="1" timestr="x" elapsed="0.01" exit="success"/><hosts up="1" down="0" total="1"/>'
TAIL += "</runstats></nmaprun>"


def host_xml(address: str, kind: str, ports: str, extra: str = "") -> str:
    return (
        f'<host{extra}><status state="up" reason="user-set"/><address addr="{address}" addrtype="{kind}"/>'
        f"<ports>{ports}</ports></host>"
    )


def install_nmap(directory: Path, address: str, *, version_timed_out: bool = False) -> Path:
    """A fake nmap: phase 1 finds 22 open, phase 2 fingerprints it (or times out); argv goes to calls.txt."""
    kind = "ipv6" if ":" in address else "ipv4"
    open_22 = '<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/>'
    phase1 = HEAD + '<scaninfo type="connect" protocol="tcp" services="22,80"/>'
    phase1 += host_xml(address, kind, open_22 + '<service name="ssh" method="table" conf="3"/></port>') + TAIL
    if version_timed_out:
        phase2 = HEAD + f'<host timedout="true"><address addr="{address}" addrtype="{kind}"/></host>' + TAIL
    else:
        service = '<service name="ssh" product="OpenSSH" version="9.6" method="probed" conf="10">'
        service += "<cpe>cpe:/a:openbsd:openssh:9.6</cpe></service></port>"
        phase2 = HEAD + host_xml(address, kind, open_22 + service) + TAIL
    calls = directory / "calls.txt"
    script = directory / "nmap"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s ' \"$@\" >> '{calls}'; echo >> '{calls}'\n"
        'case " $* " in *" -sV "*) cat <<\'EOF\'\n' + phase2 + "\nEOF\n;;\n"
        "*) cat <<'EOF'\n" + phase1 + "\nEOF\n;;\nesac\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return calls


@pytest.fixture
def fake_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    return tmp_path


async def test_argument_lists_of_both_phases(fake_path: Path) -> None:
    calls = install_nmap(fake_path, "192.0.2.7")
    cfg = PortsConfig(ports="top:100", timing=2, max_rate=50, max_parallelism=8, host_timeout_s=30)
    result = await execute(PortsCheck(), Target("192.0.2.7", 443), cfg, CheckContext())

    assert result.status is CheckStatus.OK
    phase1, phase2 = (line.split() for line in calls.read_text().splitlines())
    common = ["-sT", "-Pn", "-n", "--open", "--noninteractive", "-T2", "-oX", "-", "--max-rate", "50"]
    common += ["--max-parallelism", "8"]
    assert phase1 == [*common, "--top-ports", "100", "--host-timeout", "30000ms", "--", "192.0.2.7"]
    assert phase2 == [*common, "-sV", "--version-light", "-p", "22", "--host-timeout", "60000ms", "--", "192.0.2.7"]
    assert result.details.scanned == "22,80"
    assert result.details.version_scan == "done"
    assert result.details.open_ports == (
        OpenPort(port=22, service="ssh", product="OpenSSH", version="9.6", method="probed", confidence=10,
                 cpes=("cpe:/a:openbsd:openssh:9.6",)),
    )  # fmt: skip


async def test_ipv6_address_gets_the_ipv6_flag_and_stays_last(fake_path: Path) -> None:
    calls = install_nmap(fake_path, "2001:db8::7")
    cfg = PortsConfig(ports="22,80", version_intensity=5, max_rate=None)
    result = await execute(PortsCheck(), Target("2001:db8:0:0::7", 22), cfg, CheckContext())

    assert result.status is CheckStatus.OK
    assert result.details.address == "2001:db8::7"
    phase1, phase2 = (line.split() for line in calls.read_text().splitlines())
    assert "-6" in phase1 and "--max-rate" not in phase1
    assert phase1[-2:] == ["--", "2001:db8::7"]
    assert phase2[phase2.index("-sV") + 1 : phase2.index("-sV") + 3] == ["--version-intensity", "5"]


async def test_a_name_reaches_nmap_only_as_its_address(fake_path: Path) -> None:
    calls = install_nmap(fake_path, "127.0.0.1")
    result = await execute(PortsCheck(), Target("localhost", 22), PortsConfig(ports="22"), CheckContext())
    first = calls.read_text().splitlines()[0].split()
    assert first[-2] == "--"
    assert first[-1] in {"127.0.0.1", "::1"}
    assert "localhost" not in calls.read_text()
    assert result.status is CheckStatus.OK


async def test_version_pass_timing_out_keeps_the_open_ports_without_fingerprints(fake_path: Path) -> None:
    install_nmap(fake_path, "192.0.2.8", version_timed_out=True)
    result = await execute(PortsCheck(), Target("192.0.2.8", 22), PortsConfig(ports="22,80"), CheckContext())
    assert result.status is CheckStatus.OK
    assert result.details.version_scan == "timed_out"
    assert [(p.port, p.service, p.method, p.product) for p in result.details.open_ports] == [(22, "ssh", "table", "")]
    assert [o.key for o in result.observations] == ["ports.exposed.ssh"]


async def test_details_survive_a_json_round_trip(fake_path: Path) -> None:
    install_nmap(fake_path, "192.0.2.9")
    result = await execute(PortsCheck(), Target("192.0.2.9", 22), PortsConfig(ports="22"), CheckContext())
    stored = result.details.model_dump_json()
    assert type(result.details).model_validate_json(stored) == result.details


async def test_nmap_giving_up_on_the_host_is_unreachable(fake_path: Path) -> None:
    script = fake_path / "nmap"
    timed_out = '<host timedout="true"><address addr="192.0.2.10" addrtype="ipv4"/></host>'
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{HEAD}{timed_out}{TAIL}\nEOF\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    result = await execute(PortsCheck(), Target("192.0.2.10", 22), PortsConfig(ports="22"), CheckContext())
    assert result.status is CheckStatus.UNREACHABLE
    assert result.error == "nmap gave up on 192.0.2.10 after host_timeout_s=90 s"
