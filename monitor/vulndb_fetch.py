"""Download the public feeds into a directory laid out like the bundled seed (kev/, nvd/, eol/).

Responses are streamed to disk, never held in memory whole; the directory is then parsed by the same code as
`posture vulndb update --from DIR`, so a download and an air-gapped copy take one path into the store.

NVD: API 2.0 (`/rest/json/cves/2.0`), incrementally by `lastModStartDate`/`lastModEndDate` (at most 120 days per
request window, as the API demands), `resultsPerPage` 2000, an optional API key from `NVD_API_KEY` (sent as the
`apiKey` header), and NVD's published rate limits: 5 requests per rolling 30 s without a key, 50 with one.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

KEV_URL = "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
NVD_URL = "https://services.nvd.nist.gov/rest/json/cves/2.0"
EOL_URL = "https://endoflife.date/api/{product}.json"
EOL_PRODUCTS = (
    "apache-activemq",
    "apache-http-server",
    "confluence",
    "debian",
    "dovecot",
    "exim",
    "fortios",
    "gitlab",
    "jenkins",
    "msexchange",
    "nginx",
    "openssl",
    "php",
    "postfix",
    "proftpd",
    "roundcube",
    "tomcat",
    "ubuntu",
    "windows-server",
)
NVD_WINDOW = timedelta(days=120)
NVD_PAGE = 2000
_CHUNK = 1 << 16


class DownloadError(ValueError):
    """A feed could not be fetched completely; nothing of the update is stored."""


@dataclass(frozen=True, slots=True)
class FeedUrls:
    kev: str = KEV_URL
    nvd: str = NVD_URL
    eol: str = EOL_URL  # with {product}
    eol_products: tuple[str, ...] = EOL_PRODUCTS


class RateLimit:
    """At most `requests` starts in any rolling `window_s` seconds."""

    def __init__(self, requests: int, window_s: float) -> None:
        self.requests, self.window_s = requests, window_s
        self._starts: deque[float] = deque()

    async def wait(self) -> None:
        now = time.monotonic()
        while self._starts and now - self._starts[0] >= self.window_s:
            self._starts.popleft()
        if len(self._starts) >= self.requests:
            await asyncio.sleep(self.window_s - (now - self._starts[0]))
            self._starts.popleft()
        self._starts.append(time.monotonic())


async def download(
    dest: Path,
    urls: FeedUrls = FeedUrls(),
    nvd_since: datetime | None = None,
    now: datetime | None = None,
    api_key: str | None = None,
    rate: RateLimit | None = None,
    timeout_s: float = 120.0,
) -> Path:
    """Fetch KEV, the NVD changes since `nvd_since` (default: the last 120 days) and EOL data into `dest`."""
    api_key = api_key if api_key is not None else os.environ.get("NVD_API_KEY") or None
    rate = rate or RateLimit(50 if api_key else 5, 30.0)
    now = now or datetime.now(UTC)
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_read=60)
    async with aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "posture-monitor vulndb"}) as session:
        await _to_file(session, urls.kev, dest / "kev" / "known_exploited_vulnerabilities.json")
        await _nvd(session, urls.nvd, dest / "nvd", nvd_since or now - NVD_WINDOW, now, api_key, rate)
        for product in urls.eol_products:
            await _to_file(session, urls.eol.format(product=product), dest / "eol" / f"{product}.json")
    return dest


async def _nvd(
    session: aiohttp.ClientSession,
    url: str,
    folder: Path,
    since: datetime,
    until: datetime,
    api_key: str | None,
    rate: RateLimit,
) -> None:
    headers = {"apiKey": api_key} if api_key else {}
    page = 0
    start = since
    while start < until:
        end = min(start + NVD_WINDOW, until)
        index = 0
        while True:
            params = {
                "lastModStartDate": _nvd_time(start),
                "lastModEndDate": _nvd_time(end),
                "startIndex": str(index),
                "resultsPerPage": str(NVD_PAGE),
            }
            await rate.wait()
            path = folder / f"page-{page:05d}.json"
            await _to_file(session, url, path, params=params, headers=headers)
            page += 1
            total, per_page = _page_counts(path)
            index += per_page
            if per_page == 0 or index >= total:
                break
        start = end


def _page_counts(path: Path) -> tuple[int, int]:
    """totalResults and resultsPerPage from the head of an API page (written before the vulnerabilities)."""
    with path.open("rb") as stream:
        head = stream.read(2048).decode("utf-8", errors="replace")  # only ASCII digits are read from it
    counts: dict[str, int] = {}
    for key in ("totalResults", "resultsPerPage"):
        found = re.search(rf'"{key}"\s*:\s*(\d+)', head)
        if found is None:
            raise DownloadError(f"{path.name}: NVD answer without a numeric {key} (not an API 2.0 page)")
        counts[key] = int(found.group(1))
    return counts["totalResults"], counts["resultsPerPage"]


async def _to_file(
    session: aiohttp.ClientSession,
    url: str,
    path: Path,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        async with session.get(url, params=params, headers=headers) as response:
            if response.status != 200:
                raise DownloadError(f"{url}: HTTP {response.status}")
            expected = response.content_length
            written = 0
            with path.open("wb") as out:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    out.write(chunk)
                    written += len(chunk)
            if expected is not None and written != expected:
                raise DownloadError(f"{url}: truncated ({written} of {expected} bytes)")
    except (aiohttp.ClientError, TimeoutError) as err:
        raise DownloadError(f"{url}: {type(err).__name__}: {err}") from None


def _nvd_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def newest_nvd_change(version: str | None) -> datetime | None:
    """The stored NVD source's version (newest `lastModified`) as the start of the next incremental download."""
    if not version:
        return None
    try:
        moment = datetime.fromisoformat(version)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
