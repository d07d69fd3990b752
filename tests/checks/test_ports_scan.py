"""The ports check against real nmap and real listeners on 127.0.0.x (Given listeners / When scanned / Then …)."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the listener helpers next to this file (tests/ is no package)

import ports_listeners as fake

from checks.base import CheckContext
from checks.ports import NMAP_MISSING, OpenPort, PortsCheck, PortsConfig, PortsDetails, scan_batch
from monitor.models import CheckStatus, Severity, Target
from monitor.runner import execute

CHECK = PortsCheck()
SCANNED = "22,2375,6379,8080"


def keys(result: object) -> list[tuple[str, Severity]]:
    return [(o.key, o.severity) for o in getattr(result, "observations", ())]


def nmap_children() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name() == "nmap":
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


async def test_exposures_severities_and_fingerprints_of_fake_services() -> None:
    # Given Redis, SSH, an nginx-like web server and a Docker API, each on its own loopback address
    services = [
        ("127.0.0.5", 6379, fake.redis),
        ("127.0.0.6", 22, fake.ssh),
        ("127.0.0.7", 8080, fake.http),
        ("127.0.0.12", 2375, fake.docker),
    ]
    cfg = PortsConfig(ports=SCANNED, expected_ports="22")
    async with fake.listening(services):
        # When each is scanned by the check, through the runner
        results = await asyncio.gather(*(execute(CHECK, Target(h, 443), cfg, CheckContext()) for h, _, _ in services))
    redis, ssh, web, docker = results
    assert [r.status for r in results] == [CheckStatus.OK] * 4

    # Then the keys and severities follow the service class, and the baseline flags everything but 22
    unexpected = ("ports.unexpected", Severity.MEDIUM)
    assert keys(redis) == [("ports.exposed.redis", Severity.CRITICAL), unexpected]
    assert keys(ssh) == [("ports.exposed.ssh", Severity.LOW)]
    assert keys(web) == [("ports.exposed.http", Severity.INFO), unexpected]
    assert keys(docker) == [("ports.exposed.docker_api", Severity.CRITICAL), unexpected]

    # And the details carry nmap's complete fingerprint, every CPE included
    assert redis.details.open_ports == (
        OpenPort(port=6379, service="redis", product="Redis key-value store", version=fake.REDIS_VERSION,
                 method="probed", confidence=10, cpes=(f"cpe:/a:redislabs:redis:{fake.REDIS_VERSION}",)),
    )  # fmt: skip
    assert ssh.details.open_ports == (
        OpenPort(port=22, service="ssh", product="OpenSSH", version="8.9p1 Ubuntu 3ubuntu0.6",
                 extrainfo="Ubuntu Linux; protocol 2.0", method="probed", confidence=10,
                 cpes=("cpe:/a:openbsd:openssh:8.9p1", "cpe:/o:linux:linux_kernel")),
    )  # fmt: skip
    assert web.details.open_ports == (
        OpenPort(port=8080, service="http", product="nginx", version=fake.NGINX_VERSION, method="probed",
                 confidence=10, cpes=(f"cpe:/a:igor_sysoev:nginx:{fake.NGINX_VERSION}",)),
    )  # fmt: skip
    assert docker.details.open_ports[0].product == "Docker remote API"
    assert docker.details.open_ports[0].cpes == (f"cpe:/a:docker:docker:{fake.DOCKER_VERSION}",)
    assert redis.details.scanned == SCANNED
    assert redis.details.address == "127.0.0.5"
    assert redis.details.version_scan == "done"
    assert redis.observations[0].detail["ports"] == [
        {"port": 6379, "protocol": "tcp", "service": "redis", "product": "Redis key-value store",
         "version": fake.REDIS_VERSION},
    ]  # fmt: skip


async def test_a_port_opened_between_two_scans_is_reported_as_new() -> None:
    cfg = PortsConfig(ports="2222-2223", version_detection=False)
    target = Target("127.0.0.8", 2222)
    async with fake.listening([("127.0.0.8", 2222, fake.ssh)]) as listeners:
        # Given a first scan with nothing to compare against: no drift finding
        first = await execute(CHECK, target, cfg, CheckContext())
        assert first.status is CheckStatus.OK
        assert "ports.new_open" not in [k for k, _ in keys(first)]
        assert [p.port for p in first.details.open_ports] == [2222]

        # When a second port opens and the endpoint is scanned again with the previous details
        await listeners.add("127.0.0.8", 2223, fake.ssh)
        second = await execute(CHECK, target, cfg, CheckContext(peer_details={"ports": first.details}))
        # (the stored JSON form of the previous details works the same)
        stored = CheckContext(peer_details={"ports": first.details.model_dump(mode="json")})
        third = await execute(CHECK, target, cfg, stored)

    # Then only the new port is reported, as a low-severity drift signal
    drift = [o for o in second.observations if o.key == "ports.new_open"]
    assert [(o.severity, [p["port"] for p in o.detail["ports"]]) for o in drift] == [(Severity.LOW, [2223])]
    assert drift[0].detail["previously_open"] == ["2222/tcp"]
    assert [o.key for o in third.observations if o.key == "ports.new_open"] == ["ports.new_open"]


async def test_deadline_kills_nmap_and_leaves_no_process_behind() -> None:
    # Given a listener that never answers, so version detection waits for its probes
    seen: set[int] = set()

    async def watch() -> None:
        while True:
            seen.update(p.pid for p in nmap_children())
            await asyncio.sleep(0.05)

    cfg = PortsConfig(ports="7777")
    async with fake.listening([("127.0.0.9", 7777, fake.silent)]):
        watcher = asyncio.create_task(watch())
        # When the run's deadline passes in the middle of the scan
        result = await execute(CHECK, Target("127.0.0.9", 7777), cfg, CheckContext(), timeout_s=2.0)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)

    # Then the run timed out, nmap had been running, and no nmap process is left (not even a zombie)
    assert result.status is CheckStatus.TIMED_OUT
    assert seen, "nmap never ran"
    assert not any(psutil.pid_exists(pid) for pid in seen)
    assert nmap_children() == []


async def test_host_with_nothing_open_is_ok_without_findings() -> None:
    result = await execute(CHECK, Target("127.0.0.11", 80), PortsConfig(ports="1-200"), CheckContext())
    assert result.status is CheckStatus.OK
    assert result.details.open_ports == ()
    assert result.details.version_scan == "skipped"
    assert result.observations == ()


@pytest.mark.parametrize("host", ["-oN/tmp/pwned", "-iL/etc/passwd", "--script=x"])
async def test_a_host_that_reads_as_an_nmap_option_is_refused(host: str) -> None:
    result = await execute(CHECK, Target(host, 22), PortsConfig(ports="22"), CheckContext())
    assert result.status is CheckStatus.MISCONFIGURED
    assert result.error is not None
    assert "nmap option" in result.error
    assert nmap_children() == []


async def test_batch_splits_one_nmap_run_back_per_target() -> None:
    targets = [Target("127.0.0.13", 22), Target("127.0.0.14", 6379), Target("127.0.0.15", 80), Target("-x", 1)]
    services = [("127.0.0.13", 22, fake.ssh), ("127.0.0.14", 6379, fake.redis)]
    async with fake.listening(services):
        outcome = await scan_batch(targets, PortsConfig(ports="22,6379"), CheckContext())
    ssh, redis, nothing, refused = (outcome[t] for t in targets)
    assert isinstance(ssh, PortsDetails)
    assert isinstance(redis, PortsDetails)
    assert isinstance(nothing, PortsDetails)
    assert [(p.port, p.service, p.product) for p in ssh.open_ports] == [(22, "ssh", "OpenSSH")]
    assert [(p.port, p.product) for p in redis.open_ports] == [(6379, "Redis key-value store")]
    assert nothing.open_ports == ()
    assert type(refused).__name__ == "CheckMisconfigured"


async def test_missing_nmap_is_misconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = await execute(CHECK, Target("127.0.0.16", 22), PortsConfig(ports="22"), CheckContext())
    assert result.status is CheckStatus.MISCONFIGURED
    assert result.error == NMAP_MISSING


def _fake_nmap(directory: Path, script: str) -> None:
    path = directory / "nmap"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("echo 'this is not XML'", "NmapFailed: unreadable nmap XML output"),
        ("echo '<nmaprun><host>'", "NmapFailed: unreadable nmap XML output"),
        ("echo '<nmaprun version=\"7.93\"></nmaprun>'", "NmapFailed: incomplete nmap XML output"),
        ("kill -9 $$", "NmapFailed: nmap killed by signal 9"),
        ("echo 'QUITTING!' >&2; exit 1", "NmapFailed: nmap exited with status 1: QUITTING!"),
    ],
)
async def test_broken_nmap_output_is_a_crash_with_a_short_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, reason: str
) -> None:
    _fake_nmap(tmp_path, script)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}/usr/bin:/bin")
    result = await execute(CHECK, Target("127.0.0.16", 22), PortsConfig(ports="22"), CheckContext())
    assert result.status is CheckStatus.CRASHED
    assert result.error is not None
    assert result.error.startswith(reason)
