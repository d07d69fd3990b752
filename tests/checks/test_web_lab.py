"""The web check against real nginx sites on loopback: a good site raises nothing above info, each other site the
one key it is about; redirects to other hosts are not followed, sizes are capped, cookie names stay data."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from checks.base import CheckContext
from checks.web import WebCheck, WebConfig, WebDetails
from monitor.evidence import evidence_items
from monitor.models import Observation, Severity, Target
from tests.checks.web_sites import EXPECTED, HOSTILE_COOKIE, OFF_HOST, sites
from tests.web_lab import GOOD_HEADERS, Site, WebLab, web_lab

ROOT = Path(__file__).resolve().parents[2]
PADDING = {f"X-Padding-{i}": "x" * 3000 for i in range(14)}  # 42 kB of headers: more than the head cap


@pytest.fixture(scope="module")
def lab() -> Iterator[WebLab]:
    extra = [
        Site("cross_host", extra="location = /moved { return 302 https://elsewhere.example.test/; }\n"),
        Site("huge", headers={**GOOD_HEADERS, **PADDING}, page="<p>" + "y" * 1_000_000 + "</p>"),
    ]
    with web_lab([*sites(), *extra]) as running:
        yield running


async def scan(
    lab: WebLab, name: str, cfg: WebConfig | None = None, path_host: str | None = None
) -> tuple[WebDetails, list[Observation]]:
    address = lab.address(name)
    check = WebCheck()
    config = cfg or WebConfig(ca_file=lab.ca_file)
    details = await check.run(Target(path_host or address, 443, address=address), config, CheckContext())
    return check.judged(details, config, CheckContext())


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_each_site_raises_exactly_its_key(lab: WebLab, name: str) -> None:
    details, found = await scan(lab, name)
    above_info = {o.key for o in found if o.severity > Severity.INFO}
    assert above_info == EXPECTED[name], [(o.key, dict(o.detail)) for o in found]
    assert details.certificate_verified is True


async def test_the_good_site_gets_the_top_grade_and_records_the_server(lab: WebLab) -> None:
    details, _ = await scan(lab, "good")
    assert details.grade == "A+" and details.score is not None and details.score >= 100
    assert details.server is not None and details.server.startswith("nginx")


async def test_no_port_80_is_fine_and_recorded_as_nothing_listening(lab: WebLab) -> None:
    details, _ = await scan(lab, "no_port_80")
    assert details.http is None
    assert {t.name: t.result for t in details.tests}["redirection"] == "redirection-not-needed-no-http"


async def test_a_redirect_to_https_on_another_host_is_not_followed_and_is_low(lab: WebLab) -> None:
    details, found = await scan(lab, "redirect_off_host")
    assert details.http is not None and details.http.stopped == OFF_HOST
    assert len(details.http.responses) == 1
    (finding,) = found
    assert finding.severity == Severity.LOW and finding.detail["location"] == OFF_HOST


async def test_a_redirect_of_the_page_to_another_host_is_recorded_not_followed(lab: WebLab) -> None:
    from checks.web.fetch import Endpoint, follow

    endpoint = Endpoint(host=lab.address("cross_host"), address=lab.address("cross_host"))
    fetched, _ = await follow(endpoint, "http", "/moved", timeout_s=5, max_body=1024, max_redirects=5)
    # port 80 redirects to https on the same host (followed), which redirects elsewhere (not followed)
    assert [r.status for r in fetched.responses] == [301, 302]
    assert fetched.stopped == "https://elsewhere.example.test/"


async def test_headers_and_bodies_are_capped(lab: WebLab) -> None:
    details, _ = await scan(lab, "huge", WebConfig(ca_file=lab.ca_file, max_body_bytes=64 * 1024))
    page = details.page
    assert page is not None and page.head_truncated
    assert page.body_truncated and page.body_bytes == 64 * 1024
    assert all(len(header.value) <= 4096 for header in page.headers)


async def test_cookie_names_are_kept_as_data_and_values_never(lab: WebLab) -> None:
    details, found = await scan(lab, "cookies_insecure")
    (finding,) = [o for o in found if o.key == "web.cookies.insecure"]
    names = {entry["cookie"]: entry["missing"] for entry in finding.detail["cookies"]}
    assert names == {"lang": "Secure", "SESSIONID": "HttpOnly", HOSTILE_COOKIE: "Secure"}
    assert "abc" not in details.model_dump_json()  # the session cookie's value
    (item,) = evidence_items(finding.detail, finding.key, "de")
    assert item.server  # shown as the server's words, which the templates escape


async def test_an_untrusted_certificate_is_recorded_and_the_headers_still_judged(lab: WebLab) -> None:
    details, found = await scan(lab, "csp_missing", WebConfig())  # the lab CA is not trusted here
    assert details.certificate_verified is False
    assert {o.key for o in found} == {"web.headers.csp_missing"}
    assert {t.name: t.result for t in details.tests}["strict-transport-security"] == "hsts-invalid-cert"


async def test_a_security_txt_soft_404_is_missing_not_invalid(lab: WebLab) -> None:
    site = Site("soft", security_txt=None)  # nginx answers every path with the home page
    with web_lab([site], first=(127, 0, 1, 90)) as other:
        _, found = await scan(other, "soft")
    assert {o.key for o in found} == {"web.security_txt.missing"}


def test_posture_scan_runs_the_web_check_with_the_ca_file(lab: WebLab) -> None:
    address = lab.address("csp_missing")
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "scan", f"{address}:443", "--checks", "web", "--json", "--ca-file",
         str(lab.ca_file)],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    document = json.loads(done.stdout)
    (result,) = document["results"]
    assert result["check"] == "web" and result["status"] == "ok", done.stderr
    assert [o["key"] for o in result["observations"]] == ["web.headers.csp_missing"]
    assert result["details"]["certificate_verified"] is True
