"""/metrics from a real daemon, checked by promtool and scraped by a real Prometheus that evaluates every
dashboard panel and every alerting rule: no dead panels."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from dashboards.build import DASHBOARDS
from dashboards.kit import expressions, substitute
from tests.conftest import POSTURE, Posture, free_port, posture_env
from tests.dns_lab import DEFAULT_RECORDS, DnsLab, Zone, dns_lab
from tests.mqtt_broker import Broker, start_broker
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
AGENCY = "lk-metrics"


def http_get(url: str, timeout: float = 5, token: str | None = None) -> bytes:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as response:
        return bytes(response.read())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A daemon scanning a local web server (reachability + ports), a TLS server and two domains (dnssec and mail: one
    signed, whose MX is an SMTP server with STARTTLS on loopback, one not, in a DNSSEC lab on loopback), its broker,
    and Prometheus scraping it."""
    signed = Zone("signed", records=(*DEFAULT_RECORDS[:3], "mail A 127.0.0.22", '@ TXT "v=spf1 mx -all"'))
    with dns_lab([signed, Zone("plain", signed=False)]) as lab:
        yield from _stack(tmp_path_factory, lab)


def _stack(tmp_path_factory: pytest.TempPathFactory, lab: DnsLab) -> Iterator[dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("metrics")
    broker: Broker = start_broker(workdir / "broker")
    # a web server and an unauthenticated Redis (a critical exposure) on 127.0.0.21, in their own process
    # and a TLS server with a certificate from a CA nobody trusts; the signed domain's MX on 127.0.0.22:25
    serve = (
        "import asyncio, ssl, trustme\n"
        "from tests.checks.ports_listeners import http, listening, redis, website\n"
        "from tests.servers import smtpd\n"
        "async def main():\n"
        "    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
        "    trustme.CA().issue_cert('127.0.0.21', 'mail.signed.dnssec.test').configure_cert(context)\n"
        "    tls = await asyncio.start_server(website, '127.0.0.21', 8443, ssl=context)\n"
        "    async with tls, listening([('127.0.0.21', 8080, http), ('127.0.0.21', 6379, redis)]):\n"
        "        with smtpd('127.0.0.22', context):\n"
        "            await asyncio.Event().wait()\n"
        "asyncio.run(main())\n"
    )
    web = subprocess.Popen([sys.executable, "-c", serve], cwd=ROOT, stderr=subprocess.DEVNULL)
    database = f"sqlite+aiosqlite:///{workdir}/posture.db"
    posture = Posture(posture_env(database), workdir)
    for args in (
        ["db", "upgrade"],
        ["vulndb", "update", "--seed"],
        ["agency", "add", AGENCY, "--name", "Landkreis Metrik"],
        ["scope", "add", AGENCY, "127.0.0.0/8"],
        ["endpoint", "add", AGENCY, "127.0.0.21:8080", "--interval", "5s", "--checks", "reachability,ports,patch",
         "--ports", "8080,6379", "--expect-ports", "443"],
        ["endpoint", "add", AGENCY, "127.0.0.21:8443", "--interval", "5s", "--checks", "tls,web"],
        ["scope", "add", AGENCY, "dnssec.test"],
        ["domain", "add", AGENCY, lab.domain("signed"), "--interval", "5s"],
        ["domain", "add", AGENCY, lab.domain("plain"), "--interval", "5s"],
    ):  # fmt: skip
        assert posture(*args).code == 0
    tokens = {
        role: posture("token", "create", "--role", role, *(["--agency", AGENCY] if role == "agency" else []))
        .stdout.strip()
        .splitlines()[-1]
        for role in ("metrics", "analyst", "admin", "agency")
    }
    token_file = workdir / "prometheus-token"
    token_file.write_text(tokens["metrics"] + "\n")
    http_port = free_port()
    resolver = json.dumps([f"{lab.resolver[0]}:{lab.resolver[1]}"])
    env = posture_env(
        database, POSTURE_MQTT_URL=broker.url, POSTURE_METRICS_REFRESH_S="1", POSTURE_DNS_SERVERS=resolver
    )
    env["POSTURE_HTTP_ADDR"] = f"127.0.0.1:{http_port}"
    daemon = subprocess.Popen([*POSTURE, "run"], env=env, cwd=workdir, stderr=subprocess.DEVNULL)
    prometheus_port = free_port()
    config = workdir / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "posture-monitor",
                        "authorization": {"credentials_file": str(token_file)},
                        "static_configs": [{"targets": [f"127.0.0.1:{http_port}"]}],
                    }
                ],
            }
        )
    )
    prometheus = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir}/tsdb",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stderr=subprocess.DEVNULL,
    )
    metrics_url = f"http://127.0.0.1:{http_port}/metrics"
    try:
        wait_for(
            lambda: b"posture_port_open{" in http_get(metrics_url, token=tokens["metrics"]),
            90,
            "a ports result in /metrics",
        )
        wait_for(
            lambda: b"posture_findings_open{" in http_get(metrics_url, token=tokens["metrics"]),
            30,
            "an open finding in /metrics",
        )
        wait_for(
            lambda: b"posture_reachability_connect_seconds{" in http_get(metrics_url, token=tokens["metrics"]),
            30,
            "reachability",
        )
        wait_for(
            lambda: b"posture_tls_grade_info{" in http_get(metrics_url, token=tokens["metrics"]), 60, "a TLS result"
        )
        wait_for(
            lambda: b"posture_vulnerabilities{" in http_get(metrics_url, token=tokens["metrics"]), 60, "a patch result"
        )
        # discovery: the TLS server's certificate names mail.signed.dnssec.test, inside the agency's scope
        discover = Posture(posture_env(database, POSTURE_DNS_SERVERS=resolver), workdir)
        assert discover("discover", AGENCY, "--sources", "certs").code == 0
        wait_for(
            lambda: b"posture_discovered_assets{" in http_get(metrics_url, token=tokens["metrics"]), 30, "a candidate"
        )
        wait_for(
            lambda: (
                b"posture_dnssec_signature_expiry_timestamp_seconds{" in http_get(metrics_url, token=tokens["metrics"])
            ),
            30,
            "a dnssec result",
        )
        yield {"metrics_url": metrics_url, "prometheus": f"http://127.0.0.1:{prometheus_port}", "tokens": tokens}
    finally:
        for process in (prometheus, daemon, web):
            process.send_signal(signal.SIGTERM)
        for process in (prometheus, daemon, web):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        broker.stop()


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    body = json.loads(http_get(url))
    assert body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


def test_a_real_scrape_passes_promtool(stack: dict[str, Any]) -> None:
    body = http_get(stack["metrics_url"], token=stack["tokens"]["metrics"])
    checked = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    text = body.decode()
    for name in (
        "posture_endpoint_info",
        "posture_check_success",
        "posture_check_last_run_timestamp_seconds",
        "posture_check_duration_seconds_bucket",
        "posture_check_runs_total",
        "posture_scheduler_due_backlog",
        "posture_alert_outbox_pending",
        "posture_mqtt_connected",
        "posture_findings_open",
        "posture_port_open",
        "posture_reachability_connect_seconds",
        "posture_tls_cert_not_after_timestamp_seconds",
        "posture_tls_cert_verify_ok",
        "posture_tls_protocol_enabled",
        "posture_tls_grade_score",
        "posture_tls_compliant",
        "posture_vulnerabilities",
        "posture_kev_vulnerabilities",
        "posture_vulndb_last_update_timestamp_seconds",
        "posture_dnssec_secure",
        "posture_dnssec_signature_expiry_timestamp_seconds",
        "posture_discovered_assets",
    ):
        assert re.search(rf"^{name}[{{ ]", text, re.M), name
    samples = [sample for family in text_string_to_metric_families(text) for sample in family.samples]
    ports = {s.labels["port"]: s.labels for s in samples if s.name == "posture_port_open"}
    assert ports["8080"]["endpoint"] == "127.0.0.21:8080" and ports["8080"]["agency"] == AGENCY
    # the exposure class and its severity, so that the dashboards count only risky exposures
    assert (ports["6379"]["exposure"], ports["6379"]["risk"]) == ("redis", "critical")
    # the web UI's endpoint id, for the dashboards' links to /ui/endpoints/{id}
    ids = [s.labels["endpoint_id"] for s in samples if s.name == "posture_endpoint_info"]
    assert len(ids) == 4 and all(i.isdigit() for i in ids)  # two endpoints, two domains
    kinds = {s.labels["endpoint"]: s.labels["kind"] for s in samples if s.name == "posture_endpoint_info"}
    assert (kinds["signed.dnssec.test"], kinds["127.0.0.21:8443"]) == ("domain", "endpoint")
    # trustme's server sends its leaf alone, and its CA is in no store: the issuer is missing
    verify = f'posture_tls_cert_verify_ok{{agency="{AGENCY}",endpoint="127.0.0.21:8443",reason="incomplete_chain"}} 0.0'
    assert verify in text


def _metric_side(expr: str) -> str:
    """An alerting rule's expression without its threshold, so that a healthy system still returns series; for
    an absent() rule, the metric whose absence it watches."""
    watched = re.match(r"\s*absent\((\w+)\)", expr)
    if watched:
        return watched.group(1)
    return re.sub(r"\s*(==|>|<|>=|<=|!=)\s*[-0-9.e+*/ ]+$", "", expr.strip())


def test_every_dashboard_panel_and_every_rule_returns_data(stack: dict[str, Any]) -> None:
    prometheus = stack["prometheus"]
    wait_for(lambda: query(prometheus, "rate(posture_check_runs_total[1m])"), 60, "two scrapes in Prometheus")
    # a panel of the endpoint dashboard answers for an endpoint with its check: either of the two will do
    endpoints = ["127.0.0.21:8080", "127.0.0.21:8443"]
    variables = {"agency": AGENCY, "check": ".*", "severity": ".*"}
    panels = [
        [substitute(expr, **variables, endpoint=endpoint) for endpoint in endpoints]
        for board in DASHBOARDS.values()
        for name, expr in expressions(board)
        if ": annotation " not in name  # a change in findings: none while the test runs is no dead panel
    ]
    names = [name for board in DASHBOARDS.values() for name, _ in expressions(board) if ": annotation " not in name]
    rules = yaml.safe_load((ROOT / "dashboards/prometheus/rules.yml").read_text())
    checked = list(zip(names, panels, strict=True))
    checked += [
        (f"rule {rule['alert']}", [_metric_side(rule["expr"])]) for group in rules["groups"] for rule in group["rules"]
    ]
    # rates and quantiles need a few scrapes: give Prometheus up to a minute to have every answer
    deadline = time.monotonic() + 60
    while True:
        dead = [name for name, exprs in checked if not any(query(prometheus, expr) for expr in exprs)]
        if not dead or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert dead == []


async def test_rendering_never_stalls_the_event_loop(engine: Any) -> None:
    from monitor.exporter import MetricsEndpoint
    from monitor.heap import freeze_startup_heap
    from monitor.store.store import Store
    from tests.fake_checks import FAKE_REGISTRY
    from tests.test_scheduler import seed

    await seed(engine, [(f"127.0.{i // 250}.{i % 250 + 2}", 443) for i in range(2000)], ["noop"], 3600)
    endpoint = MetricsEndpoint(Store(engine), {name: cls() for name, cls in FAKE_REGISTRY.items()})
    worst = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    # As the daemon does once it serves (monitor/app.py): else a full collection over everything this test
    # session imported (150 ms and more) lands inside the measurement, and it is not the exporter's.
    freeze_startup_heap()
    task = asyncio.create_task(ticker())
    try:
        for _ in range(3):
            await endpoint.refresh()
    finally:
        stop.set()
        await task
        gc.unfreeze()
    assert endpoint.rendered is not None and endpoint.rendered.count(b"posture_endpoint_info{") == 2000
    assert worst < 0.1, f"the loop stalled for {worst * 1000:.0f} ms"


def test_metrics_are_read_only_with_a_metrics_analyst_or_admin_token(stack: dict[str, Any]) -> None:
    """/metrics holds every agency's weaknesses: no token, a wrong one or an agency's gets 401 and no data."""
    url, tokens = stack["metrics_url"], stack["tokens"]
    for role in ("metrics", "analyst", "admin"):
        assert b"posture_findings_open{" in http_get(url, token=tokens[role]), role
    for token in (None, tokens["agency"], "not-a-token"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            http_get(url, token=token)
        assert refused.value.code == 401, token
        assert refused.value.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"posture_" not in refused.value.read()
    # health stays open, for load balancers and orchestrators
    assert http_get(url.replace("/metrics", "/healthz"))


def test_prometheus_scrapes_with_its_credentials_file(stack: dict[str, Any]) -> None:
    targets = json.loads(http_get(f"{stack['prometheus']}/api/v1/targets"))["data"]["activeTargets"]
    wait_for(lambda: query(stack["prometheus"], 'up{job="posture-monitor"} == 1'), 30, "an authorised scrape")
    assert targets and all(target["scrapeUrl"].endswith("/metrics") for target in targets)
