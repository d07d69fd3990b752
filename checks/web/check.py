"""The web check of an HTTPS endpoint: redirect from port 80, security headers, cookies, security.txt, and a
score and grade computed like the MDN HTTP Observatory's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from checks.base import Check, CheckContext, CheckSummary, MetricFamily, MetricSample, TargetUnreachable, is_ip_literal
from checks.shared.certs import check_ca_file
from checks.shared.served import judge_chain
from checks.web import observatory, security_txt, summary
from checks.web.evaluate import evaluate, untested_keys
from checks.web.fetch import Endpoint, FetchFailed, PageParser, Raw, follow, read_page
from checks.web.findings import FINDINGS
from checks.web.models import Fetched, SecurityTxtFacts, WebConfig, WebDetails
from monitor.models import Observation, Target

SCORE = "posture_web_score"
GRADE = "posture_web_grade_info"
SECURITY_TXT_EXPIRY = "posture_web_security_txt_expiry_timestamp_seconds"


class WebCheck(Check[WebConfig, WebDetails]):
    name: ClassVar[str] = "web"
    description: ClassVar[str] = (
        "web hygiene of an HTTPS site: redirect from port 80, security headers (CSP, framing, nosniff, referrer), "
        "cookies, security.txt, and an MDN HTTP Observatory-compatible score and grade"
    )
    asset_kind = "endpoint"
    default_ports: ClassVar[frozenset[int] | None] = frozenset({443})
    config_model = WebConfig
    details_model = WebDetails
    findings = FINDINGS
    metric_families = (
        MetricFamily(SCORE, "The MDN HTTP Observatory-compatible score of the site (0 and up; 100 and more: A+)"),
        MetricFamily(GRADE, "1, with the Observatory-compatible grade as a label", ("grade",)),
        MetricFamily(SECURITY_TXT_EXPIRY, "Expires of the site's security.txt"),
    )

    @classmethod
    def check_settings_on_host(cls, cfg: WebConfig) -> None:
        if cfg.ca_file is not None:
            check_ca_file(cfg.ca_file)

    async def run(self, target: Target, cfg: WebConfig, ctx: CheckContext) -> WebDetails:
        address = target.address or (target.host if is_ip_literal(target.host) else None)
        if address is None:  # the scheduler (or `posture scan`) resolves with the configured resolvers
            raise TargetUnreachable(f"{target.host} did not resolve to an address")
        endpoint = Endpoint(host=target.host.rstrip(".").lower(), address=address, https_port=target.port)
        loop = asyncio.get_running_loop()
        deadline = ctx.deadline if ctx.deadline is not None else loop.time() + cfg.timeout_s

        def budget() -> float:
            return max(0.1, min(cfg.request_timeout_s, deadline - loop.time()))

        try:
            https, raws = await follow(
                endpoint, "https", "/", timeout_s=budget(), max_body=cfg.max_body_bytes,
                max_redirects=cfg.max_redirects, origin=True,
            )  # fmt: skip
        except FetchFailed as failed:
            raise TargetUnreachable(failed.reason) from None
        http, security = await asyncio.gather(_plain(endpoint, cfg, budget()), _security_txt(endpoint, cfg, budget))
        chain = next((raw.peer_chain for raw in raws if raw.peer_chain), ())
        verdict = judge_chain(chain, endpoint.host, cfg.ca_file) if chain else None
        verified = None if verdict is None else bool(verdict["trusted"] and verdict["name_matches"])
        if verdict is not None and verified:
            verified = not verdict["expired"]
        reason = None if verdict is None or verified else str(verdict.get("trust_reason") or "")
        page = _page(raws)
        return WebDetails(
            host=endpoint.host,
            address=address,
            https=https,
            http=http,
            certificate_verified=verified,
            certificate_reason=reason or None,
            html=page is not None,
            meta=tuple(page.meta) if page else (),
            scripts=tuple(page.scripts) if page else (),
            inline_scripts=page.script_count - len(page.scripts) if page else 0,
            security_txt=security,
        )

    def rejudged(self, details: WebDetails, cfg: WebConfig, ctx: CheckContext) -> WebDetails:
        if not observatory.gradable(details):
            return details.model_copy(update={"tests": (), "score": None, "grade": None})
        tests = observatory.tests(details)
        score = observatory.score(tests)
        return details.model_copy(update={"tests": tests, "score": score, "grade": observatory.grade_for(score)})

    def evaluate(self, details: WebDetails, cfg: WebConfig, ctx: CheckContext) -> list[Observation]:
        return evaluate(details, cfg, ctx.now)

    def summary(self, details: WebDetails, language: str) -> CheckSummary | None:
        return summary.summary(details, language)

    def untested(self, details: WebDetails) -> tuple[str, ...]:
        return untested_keys(details)

    def metrics(self, details: WebDetails, now: datetime) -> Iterable[MetricSample]:
        if details.score is not None and details.grade is not None:
            yield MetricSample(SCORE, (), float(details.score))
            yield MetricSample(GRADE, (details.grade,), 1.0)
        found = details.security_txt_found
        if found is not None:
            expires = security_txt.judge(found).expires
            if expires is not None:
                yield MetricSample(SECURITY_TXT_EXPIRY, (), expires.timestamp())


async def _plain(endpoint: Endpoint, cfg: WebConfig, timeout_s: float) -> Fetched | None:
    """GET http://host/ on port 80 of the same address; None when nothing listens there."""
    try:
        fetched, _ = await follow(
            endpoint, "http", "/", timeout_s=timeout_s, max_body=cfg.max_body_bytes, max_redirects=cfg.max_redirects
        )
    except FetchFailed as failed:
        return None if failed.refused else Fetched(error=failed.reason)
    return fetched


async def _security_txt(
    endpoint: Endpoint, cfg: WebConfig, budget: Callable[[], float]
) -> tuple[SecurityTxtFacts, ...]:
    """/.well-known/security.txt, and /security.txt when the first is not there (RFC 9116 §3)."""
    tried: list[SecurityTxtFacts] = []
    for path in security_txt.PATHS:
        url = endpoint.url("https", path)
        try:
            fetched, raws = await follow(
                endpoint, "https", path, timeout_s=budget(), max_body=security_txt.MAX_BYTES,
                max_redirects=cfg.max_redirects,
            )  # fmt: skip
        except FetchFailed as failed:
            tried.append(SecurityTxtFacts(url=url, error=failed.reason))
            continue
        final = fetched.final
        if final is None or fetched.error:
            tried.append(SecurityTxtFacts(url=url, error=fetched.error or "no response"))
            continue
        if final.status != 200 or fetched.stopped is not None:
            tried.append(SecurityTxtFacts(url=final.url, status=final.status, content_type=final.first("content-type")))
            continue
        tried.append(security_txt.parse(final.url, final.status, final.first("content-type"), raws[-1].body))
        break
    return tuple(tried)


def _page(raws: list[Raw]) -> PageParser | None:
    """The final page's meta tags and scripts, when it is HTML (as the Observatory reads them)."""
    final = raws[-1]
    content_type = final.facts.first("content-type") or ""
    media, _, parameters = content_type.partition(";")
    if media.strip().lower() not in observatory.HTML_TYPES:
        return None
    pairs = (part.partition("=") for part in parameters.split(";"))
    charset = next((value.strip().strip('"') for key, _, value in pairs if key.strip().lower() == "charset"), None)
    return read_page(final.body, charset)
