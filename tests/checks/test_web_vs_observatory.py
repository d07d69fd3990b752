"""Peer comparison: the MDN HTTP Observatory CLI and our check on the same nginx sites. Grade, score and each of its
tests must agree, except for the differences docs/web-vs-observatory.md explains (listed here, so that the document
and the behaviour cannot drift apart)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from checks.base import CheckContext
from checks.web import WebCheck, WebConfig, WebDetails
from monitor.models import Target
from tests.checks.web_sites import sites
from tests.observatory_peer import observatory
from tests.web_lab import GOOD_HEADERS, GOOD_PAGE, Site, WebLab, web_lab

FIRST = (127, 0, 1, 100)
META_CSP = '<meta http-equiv="Content-Security-Policy" content="default-src \'self\'">'


def peer_sites() -> list[Site]:
    """The test sites, and a few for the Observatory's tests that have no finding of ours."""
    return [
        *sites(),
        Site("sri_external", page='<html><script src="https://cdn.other.test/x.js"></script></html>'),
        Site("sri_same_origin", page='<html><script src="/app.js" integrity="sha384-abc"></script></html>'),
        Site("cookies_samesite", cookies=("id=1; Path=/; Secure; HttpOnly; SameSite=Lax",)),
        Site("cookies_csrf", cookies=("csrftoken=1; Path=/; Secure",)),
        Site("corp", headers={**GOOD_HEADERS, "Cross-Origin-Resource-Policy": "same-origin"}),
        Site("cors_public", headers={**GOOD_HEADERS, "Access-Control-Allow-Origin": "*"}),
        Site("hsts_short", headers={**GOOD_HEADERS, "Strict-Transport-Security": "max-age=300"}),
        Site(
            "csp_report_only",
            headers={
                **{k: v for k, v in GOOD_HEADERS.items() if k != "Content-Security-Policy"},
                "Content-Security-Policy-Report-Only": "default-src 'self'",
            },
        ),
        Site("meta_csp", headers={}, page=GOOD_PAGE.replace("<head>", f"<head>{META_CSP}")),
    ]


# (site, test) → why the results differ; the score and grade differ then too (see SCORE_DIFFERS)
DIFFERENCES: dict[tuple[str, str], str] = {
    # the Observatory follows the redirect to the other host; nothing answers there, so its port 80 "has no HTTP"
    ("redirect_off_host", "redirection"): "we do not follow a redirect to another host: it is off-host (-5)",
    # the Observatory reads CORS from an OPTIONS preflight, which nginx refuses for a static file (405, which it
    # drops); we read Access-Control-Allow-Origin from the GET of / (sent with an Origin): public access, also 0
    ("cors_public", "cross-origin-resource-sharing"): "ours from the GET, the Observatory's from a preflight",
}
SCORE_DIFFERS = {"redirect_off_host"}


@pytest.fixture(scope="module")
def lab() -> Iterator[WebLab]:
    with web_lab(peer_sites(), first=FIRST) as running:
        yield running


async def ours(lab: WebLab, name: str, trusted: bool = True) -> WebDetails:
    address = lab.address(name)
    check = WebCheck()
    cfg = WebConfig(ca_file=lab.ca_file if trusted else None)
    details = await check.run(Target(address, 443, address=address), cfg, CheckContext())
    return check.rejudged(details, cfg, CheckContext())


@pytest.mark.parametrize("name", [site.name for site in peer_sites()])
async def test_each_observatory_test_agrees_or_the_difference_is_documented(lab: WebLab, name: str) -> None:
    details = await ours(lab, name)
    peer = observatory(lab.address(name), lab.ca_file)
    mine = {test.name: test.result for test in details.tests}
    differing = {test for test in peer.tests if mine.get(test) != peer.tests[test]}
    assert differing == {test for site, test in DIFFERENCES if site == name}, (mine, peer.tests)
    if name not in SCORE_DIFFERS:
        assert (details.score, details.grade) == (peer.score, peer.grade), (mine, peer.tests)


async def test_an_untrusted_certificate_costs_the_same_in_both(lab: WebLab) -> None:
    details = await ours(lab, "good", trusted=False)
    peer = observatory(lab.address("good"), None)
    mine = {test.name: test.result for test in details.tests}
    assert mine == peer.tests
    assert (
        mine["strict-transport-security"] == "hsts-invalid-cert" and mine["redirection"] == "redirection-invalid-cert"
    )
    assert (details.score, details.grade) == (peer.score, peer.grade)
