"""Web check settings and typed facts. Every string a server sent is capped here: it is stored and shown as data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field

from checks.base import CheckConfig, CheckDetails, Facts

MAX_HEADERS = 100  # header lines kept per response
MAX_NAME = 128  # a header's or a cookie's name
MAX_VALUE = 4096  # a header's value
MAX_URL = 2048
MAX_SCRIPTS = 100
MAX_FIELDS = 100  # security.txt fields kept


def capped(limit: int) -> BeforeValidator:
    """Cut a string to `limit` characters (the rest is dropped, with a mark that it was)."""

    def cut(value: object) -> object:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 1] + "…"
        return value

    return BeforeValidator(cut)


Name = Annotated[str, capped(MAX_NAME)]
Value = Annotated[str, capped(MAX_VALUE)]
Url = Annotated[str, capped(MAX_URL)]


class WebConfig(CheckConfig):
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="deadline of one run (all its requests)")
    request_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="deadline of one request: connect, TLS, request, response"
    )
    max_redirects: int = Field(default=5, ge=0, le=20, description="same-host redirects followed per request")
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, le=4 * 1024 * 1024, description="bytes of a response body read at most"
    )
    ca_file: Path | None = Field(
        default=None,
        description="extra PEM trust anchors: the same trust anchors as the TLS check's ca_file (an internal PKI's "
        "root); whether the certificate verified is recorded, a certificate problem is the TLS check's finding",
    )
    security_txt_warning_days: int = Field(
        default=30, ge=1, le=365, description="days before security.txt's Expires at which web.security_txt.expiring"
    )
    session_cookie_markers: tuple[str, ...] = Field(
        default=("sess", "login", "auth", "token", "sid"),
        description="a cookie whose name contains one of these (any case) is session-like and needs HttpOnly",
    )


class HeaderFact(Facts):
    name: Name  # as the server spelt it
    value: Value


class CookieFact(Facts):
    """One Set-Cookie header without its value: the name and the attributes that matter."""

    name: Name
    secure: bool = False
    http_only: bool = False
    same_site: Annotated[str | None, capped(64)] = None  # the attribute's raw value ("" when bare); None: absent


class ResponseFacts(Facts):
    url: Url
    status: int
    headers: tuple[HeaderFact, ...] = Field(default=(), max_length=MAX_HEADERS)  # Set-Cookie is in `cookies`
    cookies: tuple[CookieFact, ...] = Field(default=(), max_length=MAX_HEADERS)
    head_truncated: bool = False  # more header lines or bytes than we read
    body_bytes: int = 0
    body_truncated: bool = False

    def header(self, name: str) -> list[str]:
        """Every value of header `name` (any case), in order."""
        wanted = name.lower()
        return [h.value for h in self.headers if h.name.lower() == wanted]

    def first(self, name: str) -> str | None:
        values = self.header(name)
        return values[0] if values else None


class Fetched(Facts):
    """One request with the same-host redirects it led to: every response, in order."""

    responses: tuple[ResponseFacts, ...] = ()
    stopped: Url | None = None  # a redirect not followed: the Location (another host, a bad URL, too many)
    error: Annotated[str | None, capped(500)] = None  # the request that failed, and why

    @property
    def final(self) -> ResponseFacts | None:
        return self.responses[-1] if self.responses else None


class ScriptFact(Facts):
    src: Url
    integrity: bool = False
    crossorigin: Annotated[str | None, capped(64)] = None


class SecurityTxtField(Facts):
    name: Name
    value: Value
    line: int


class SecurityTxtFacts(Facts):
    url: Url
    status: int | None = None
    content_type: Annotated[str | None, capped(256)] = None
    fields: tuple[SecurityTxtField, ...] = Field(default=(), max_length=MAX_FIELDS)
    malformed_lines: tuple[int, ...] = Field(default=(), max_length=MAX_FIELDS)
    signed: bool = False  # an OpenPGP cleartext signature around the fields
    error: Annotated[str | None, capped(500)] = None

    @property
    def found(self) -> bool:
        """A file was served: 200, and not an HTML page without any field (a "soft 404": many sites answer
        every path with their home page)."""
        media = (self.content_type or "").split(";", 1)[0].strip().lower()
        soft_404 = media in ("text/html", "application/xhtml+xml") and not self.fields
        return self.status == 200 and self.error is None and not soft_404


class ObservatoryTest(Facts):
    """One test of the MDN HTTP Observatory's algorithm on our facts (checks/web/observatory.py)."""

    name: str  # the Observatory's test name, e.g. "content-security-policy"
    result: str  # its expectation, e.g. "csp-not-implemented"
    modifier: int
    passed: bool


class WebDetails(CheckDetails):
    host: str
    address: str | None = None
    https: Fetched  # GET https://host/
    http: Fetched | None = None  # GET http://host/ on port 80; None: nothing listens there
    certificate_verified: bool | None = None  # with the TLS check's trust anchors; never a finding of this check
    certificate_reason: Annotated[str | None, capped(500)] = None
    html: bool = False  # the page is HTML (its meta tags and scripts were read)
    meta: tuple[HeaderFact, ...] = Field(default=(), max_length=MAX_HEADERS)  # <meta http-equiv> of the page
    scripts: tuple[ScriptFact, ...] = Field(default=(), max_length=MAX_SCRIPTS)
    inline_scripts: int = 0  # <script> elements without src
    security_txt: tuple[SecurityTxtFacts, ...] = ()  # /.well-known/security.txt, then /security.txt if needed
    # the verdict recorded next to the facts (rejudged): the Observatory-compatible score, grade and tests
    score: int | None = None
    grade: str | None = None
    tests: tuple[ObservatoryTest, ...] = ()

    @property
    def page(self) -> ResponseFacts | None:
        return self.https.final

    @property
    def server(self) -> str | None:
        """`Server` of the page, for the patch check's fingerprints."""
        return self.page.first("server") if self.page else None

    @property
    def powered_by(self) -> str | None:
        return self.page.first("x-powered-by") if self.page else None

    @property
    def security_txt_found(self) -> SecurityTxtFacts | None:
        return next((entry for entry in self.security_txt if entry.found), None)
