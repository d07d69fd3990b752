"""The Certificate Transparency source: read a log from a cursor, return the wanted names it logged.

Two read APIs: RFC 6962 (`/ct/v1/get-sth`, `/ct/v1/get-entries`) and the static CT API (c2sp.org/static-ct-api:
`/checkpoint`, `/tile/data/<N>[.p/<W>]`). The cursor says where the next read starts; a log that shrank or that
answers garbage raises `CtLogError` and the caller keeps its previous cursor (docs/discovery.md).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

from monitor.discovery.ct_parse import (
    MAX_SKIP_REASONS,
    TILE_WIDTH,
    CtEntry,
    CtLogError,
    ParsedBatch,
    RawEntry,
    Wanted,
    data_tile_path,
    frame_data_tile,
    frame_get_entries,
    get_entries_items,
    parse_certificates,
)
from monitor.discovery.ct_tree_head import TreeHead, log_key, parse_checkpoint, parse_sth
from monitor.discovery.models import Sighting
from monitor.errors import InvalidInput

__all__ = ["CtCursor", "CtLog", "CtLogError", "CtRead", "read_log"]

LogKind = Literal["rfc6962", "static"]
LOG_KINDS: tuple[LogKind, ...] = ("rfc6962", "static")
STATIC_PREFIX = "static:"

DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a get-entries answer of 1,000 entries with chains, a data tile
MAX_TREE_HEAD_BYTES = 64 * 1024  # get-sth and checkpoint are a few hundred bytes
DEFAULT_TIMEOUT_S = 30.0
# Certificates are parsed on the event loop this many at a time (~20 µs each), yielding between slices: the loop
# is never held for more than about a millisecond, and this is faster than an executor thread, which competes
# with the loop for the GIL anyway (measured: bench/discovery_ct.py, docs/discovery.md).
PARSE_SLICE = 32
FRAME_SLICE = 256  # get-entries items framed (base64, TLS lengths) at a time: about 1 ms
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class CtLog:
    """A CT log to read. `url`: for "rfc6962" the log's base URL (…/ct/v1/… is appended), for "static" its
    monitoring prefix (…/checkpoint and …/tile/… are appended). `key`: the log's public key (base64 DER, the
    `key` of the CT log lists); when given, every tree head's signature must verify with it."""

    url: str
    kind: LogKind = "rfc6962"
    name: str | None = None
    key: str | None = None

    @classmethod
    def parse(cls, spec: str) -> CtLog:
        """A log as configured (`POSTURE_CT_LOGS`): `https://…` (RFC 6962) or `static:https://…` (static-ct-api)."""
        if spec.startswith(STATIC_PREFIX):
            return cls(spec.removeprefix(STATIC_PREFIX), "static")
        return cls(spec)

    def __post_init__(self) -> None:
        if not self.url.startswith(("https://", "http://")) or any(c.isspace() for c in self.url):
            raise InvalidInput("ct log url", f"{self.url!r} is not an http(s) URL")
        if self.kind not in LOG_KINDS:
            raise InvalidInput("ct log kind", f"{self.kind!r} (allowed: {', '.join(LOG_KINDS)})")
        if self.key is not None:
            log_key(self.key)  # InvalidInput when it is no public key
        object.__setattr__(self, "url", self.url.rstrip("/"))


@dataclass(frozen=True, slots=True)
class CtCursor:
    """Where the next read of a log starts (`next_index`), and the log's tree size and root hash (base64) at
    the last read: a later smaller tree, or another root for the same size, is a log that shrank or forked
    (CtLogError)."""

    log_url: str
    next_index: int
    tree_size: int
    root_hash: str = ""

    @classmethod
    def start(cls, log: CtLog, index: int = 0) -> CtCursor:
        """A cursor that reads `log` from entry `index` (0: the whole log) instead of from its current end."""
        return cls(log.url, index, 0)

    def as_dict(self) -> dict[str, Any]:
        """The cursor as a JSON object (what the database keeps; `from_json` reads it back)."""
        return {
            "log_url": self.log_url,
            "next_index": self.next_index,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict())

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> CtCursor:
        try:
            document = json.loads(data) if isinstance(data, str) else data
        except ValueError:
            raise InvalidInput("ct cursor", "not JSON") from None
        if not isinstance(document, Mapping):
            raise InvalidInput("ct cursor", "not a JSON object")
        url, next_index, tree_size = document.get("log_url"), document.get("next_index"), document.get("tree_size")
        if not isinstance(url, str) or not url:
            raise InvalidInput("ct cursor.log_url", "must be a non-empty string")
        for name, value in (("next_index", next_index), ("tree_size", tree_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"ct cursor.{name}", "must be a non-negative integer")
        root_hash = document.get("root_hash", "")
        if not isinstance(root_hash, str):
            raise InvalidInput("ct cursor.root_hash", "must be a base64 string")
        assert isinstance(next_index, int) and isinstance(tree_size, int)
        return cls(url, next_index, tree_size, root_hash)


@dataclass(frozen=True, slots=True)
class CtRead:
    sightings: tuple[Sighting, ...]  # one per wanted name per entry (source "ct", port None)
    cursor: CtCursor  # store it once the sightings are stored
    entries_read: int  # entries the cursor advanced over (skipped ones included)
    entries_skipped: int  # entries whose certificate did not decode
    skip_reasons: tuple[str, ...]  # the first few, for the log line
    tree_size: int  # the log's size now; cursor.next_index < tree_size: more to read (max_entries was reached)

    @property
    def caught_up(self) -> bool:
        return self.cursor.next_index >= self.tree_size


async def read_log(
    session: aiohttp.ClientSession,
    log: CtLog,
    cursor: CtCursor | None,
    wanted: Wanted,
    *,
    max_entries: int,
    batch: int,
    backlog: int = 0,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> CtRead:
    """Read up to `max_entries` entries of `log` from `cursor` (None: from the log's current size minus
    `backlog`; `CtCursor.start(log)`: from entry 0), asking `batch` entries per get-entries request (static
    logs: `batch // 256` data tiles at a time). `wanted(host)` picks the names to return (called on the loop
    for every valid name: a fast predicate). Raises CtLogError for a log that shrank, is
    unreachable or answers garbage: nothing of this read is returned, and the caller keeps its cursor."""
    if max_entries < 0 or batch < 1 or backlog < 0:
        raise ValueError(f"max_entries {max_entries}, batch {batch}, backlog {backlog}")
    if cursor is not None and cursor.log_url != log.url:
        raise ValueError(f"the cursor of {cursor.log_url} cannot read {log.url}")
    http = _Http(session, max_response_bytes, timeout_s)
    reader: _Reader = _Rfc6962(http, log) if log.kind == "rfc6962" else _Static(http, log)
    head = await reader.tree_head()
    tree_size, root_hash = head.size, base64.b64encode(head.root_hash).decode()
    if cursor is None:
        start = max(0, tree_size - backlog)
    elif tree_size < cursor.tree_size:
        raise CtLogError(f"{log.url}: the tree shrank from {cursor.tree_size} to {tree_size} entries")
    elif tree_size == cursor.tree_size and cursor.root_hash and root_hash != cursor.root_hash:
        raise CtLogError(f"{log.url}: the tree of {tree_size} entries has another root hash than at the last read")
    elif cursor.next_index > tree_size:
        raise CtLogError(f"{log.url}: the cursor is at entry {cursor.next_index}, the tree has {tree_size}")
    else:
        start = cursor.next_index
    end = min(tree_size, start + max_entries)
    sightings: list[Sighting] = []
    skipped = 0
    reasons: list[str] = []
    index = start
    while index < end:
        parsed_batches = await reader.read(index, end, batch, wanted)
        advanced = sum(parsed.count for parsed in parsed_batches)
        for parsed in parsed_batches:
            sightings.extend(_sightings(log, parsed.entries))
            skipped += parsed.skipped
            reasons.extend(parsed.skip_reasons[: max(0, MAX_SKIP_REASONS - len(reasons))])
        if advanced == 0:
            break  # the log answered no entries where its tree head promised some: read on next time
        index += advanced
    return CtRead(
        tuple(sightings),
        CtCursor(log.url, index, tree_size, root_hash),
        index - start,
        skipped,
        tuple(reasons),
        tree_size,
    )


def _sightings(log: CtLog, entries: list[CtEntry]) -> list[Sighting]:
    found = []
    for entry in entries:
        evidence: dict[str, Any] = {
            "log": log.url,
            "index": entry.index,
            "precert": entry.precert,
            "serial": entry.serial,
            "issuer_cn": entry.issuer_cn,
            "not_before": entry.not_before,
            "not_after": entry.not_after,
        }
        if log.name:
            evidence["log_name"] = log.name
        for name in entry.names:
            found.append(Sighting(name.host, None, "ct", {**evidence, "wildcard": name.wildcard}))
    return found


async def _parse(framed: list[RawEntry], wanted: Wanted) -> ParsedBatch:
    batch = parse_certificates(framed[:PARSE_SLICE], wanted)
    for first in range(PARSE_SLICE, len(framed), PARSE_SLICE):
        await asyncio.sleep(0)
        more = parse_certificates(framed[first : first + PARSE_SLICE], wanted)
        batch.entries.extend(more.entries)
        batch.count += more.count
        batch.skipped += more.skipped
        batch.skip_reasons.extend(more.skip_reasons[: max(0, MAX_SKIP_REASONS - len(batch.skip_reasons))])
    return batch


class _HttpStatus(CtLogError):
    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


class _Http:
    def __init__(self, session: aiohttp.ClientSession, max_bytes: int, timeout_s: float) -> None:
        self.session = session
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def get(self, url: str, max_bytes: int | None = None, params: Mapping[str, str] | None = None) -> bytes:
        """The body of a 200 answer, at most `max_bytes` (after content decoding), within the time limit."""
        cap = min(max_bytes or self.max_bytes, self.max_bytes)
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.session.get(
                    url, params=params, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=self.timeout_s)
                ) as response:
                    if response.status != 200:
                        raise _HttpStatus(f"{url}: HTTP {response.status}", response.status)
                    if response.content_length is not None and response.content_length > cap:
                        raise CtLogError(f"{url}: answer of {response.content_length} bytes exceeds {cap}")
                    chunks: list[bytes] = []
                    size = 0
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        size += len(chunk)
                        if size > cap:
                            raise CtLogError(f"{url}: answer larger than {cap} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
        except TimeoutError:
            raise CtLogError(f"{url}: no complete answer within {self.timeout_s:g} s") from None
        except aiohttp.ClientError as err:
            raise CtLogError(f"{url}: {type(err).__name__}: {err}") from None


class _Reader:
    async def tree_head(self) -> TreeHead:
        raise NotImplementedError

    async def read(self, index: int, end: int, batch: int, wanted: Wanted) -> list[ParsedBatch]:
        """Entries from `index` (before `end`), in order; a log may answer fewer than asked."""
        raise NotImplementedError


class _Rfc6962(_Reader):
    def __init__(self, http: _Http, log: CtLog) -> None:
        self.http = http
        self.base = f"{log.url}/ct/v1"
        self.key = log.key

    async def tree_head(self) -> TreeHead:
        body = await self.http.get(f"{self.base}/get-sth", MAX_TREE_HEAD_BYTES)
        return parse_sth(body, f"{self.base}/get-sth", self.key)

    async def read(self, index: int, end: int, batch: int, wanted: Wanted) -> list[ParsedBatch]:
        last = min(end, index + batch) - 1
        body = await self.http.get(f"{self.base}/get-entries", params={"start": str(index), "end": str(last)})
        items = get_entries_items(body)[: last - index + 1]  # more than asked for: left for the next request
        framed: list[RawEntry] = []
        for first in range(0, len(items), FRAME_SLICE):
            if first:
                await asyncio.sleep(0)
            framed.extend(frame_get_entries(items[first : first + FRAME_SLICE], index + first))
        return [await _parse(framed, wanted)]


class _Static(_Reader):
    def __init__(self, http: _Http, log: CtLog) -> None:
        self.http = http
        self.base = log.url
        self.key = log.key
        self.size = 0

    async def tree_head(self) -> TreeHead:
        body = await self.http.get(f"{self.base}/checkpoint", MAX_TREE_HEAD_BYTES)
        head = parse_checkpoint(body, f"{self.base}/checkpoint", self.key)
        self.size = head.size
        return head

    async def read(self, index: int, end: int, batch: int, wanted: Wanted) -> list[ParsedBatch]:
        first_tile = index // TILE_WIDTH
        last_tile = (end - 1) // TILE_WIDTH
        tiles = range(first_tile, min(last_tile, first_tile + max(1, batch // TILE_WIDTH) - 1) + 1)
        reads = [asyncio.ensure_future(self._tile(tile, index, end, wanted)) for tile in tiles]
        try:
            return list(await asyncio.gather(*reads))
        except BaseException:
            for pending in reads:
                pending.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            raise

    async def _tile(self, tile: int, index: int, end: int, wanted: Wanted) -> ParsedBatch:
        tile_start = tile * TILE_WIDTH
        width = min(TILE_WIDTH, self.size - tile_start)  # the checkpoint's size decides full or partial
        try:
            body = await self.http.get(f"{self.base}/{data_tile_path(tile, width)}")
        except _HttpStatus as err:
            if err.status != 404 or width == TILE_WIDTH:
                raise
            # a log may delete a partial tile once the full one exists (static-ct-api, "Partial Tiles")
            body = await self.http.get(f"{self.base}/{data_tile_path(tile, TILE_WIDTH)}")
        start = max(0, index - tile_start)
        stop = min(width, end - tile_start)
        return await _parse(frame_data_tile(body, tile, width, start, stop), wanted)
