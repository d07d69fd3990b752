"""The CT source against a real CT log on loopback (tests/ct_log.py): RFC 6962 and static tiles, cursors,
short answers, shrinking and garbage-serving logs, hostile names, size and time limits."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from monitor.discovery.ct import CtCursor, CtLog, CtLogError, CtRead, read_log
from monitor.discovery.ct_parse import RawEntry, data_tile_path, host_name, parse_certificates
from monitor.errors import InvalidInput
from tests.ct_log import CtCa, CtLogServer, LogEntry, running_log

KINDS = ("rfc6962", "static")


def in_scope(host: str) -> bool:
    return host == "agency.de" or host.endswith(".agency.de")


@pytest.fixture(scope="module")
def ca() -> CtCa:
    return CtCa()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def numbered(ca: CtCa, count: int, first: int = 0) -> list[LogEntry]:
    """Entries alternating certificate and precertificate; every third names a host in scope."""
    entries = []
    for n in range(first, first + count):
        domain = "agency.de" if n % 3 == 0 else "elsewhere.example"
        entries.append(ca.entry([f"host{n}.{domain}"], precert=n % 2 == 1))
    return entries


async def read(
    session: aiohttp.ClientSession,
    server: CtLogServer,
    kind: str,
    cursor: CtCursor | None,
    *,
    max_entries: int = 100_000,
    batch: int = 256,
    **kwargs: object,
) -> CtRead:
    log = CtLog(server.url, kind)  # type: ignore[arg-type]
    return await read_log(session, log, cursor, in_scope, max_entries=max_entries, batch=batch, **kwargs)  # type: ignore[arg-type]


def start(server: CtLogServer, kind: str) -> CtCursor:
    return CtCursor.start(CtLog(server.url, kind))  # type: ignore[arg-type]


def summary(result: CtRead) -> list[tuple[str, int, bool, bool]]:
    return [(s.host, s.evidence["index"], s.evidence["precert"], s.evidence["wildcard"]) for s in result.sightings]


@pytest.mark.parametrize("kind", KINDS)
async def test_names_from_certificates_and_precertificates(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    entries = [
        ca.entry(["www.agency.de", "Mail.Agency.DE."]),
        ca.entry(["vpn.agency.de"], precert=True),
        ca.entry(["*.intern.agency.de"]),
        ca.entry(["*.both.agency.de", "both.agency.de"], precert=True),
        ca.entry([], cn="legacy.agency.de"),  # no SAN: the subject CN counts
        ca.entry(["san.agency.de"], cn="cn-is-ignored.agency.de"),
        ca.entry(["other.example", "agency.de.other.example"]),  # not wanted
        ca.entry([], cn="Agency Web Server"),  # a CN that is no host name
    ]
    async with running_log(CtLogServer(entries)) as server:
        result = await read(session, server, kind, start(server, kind))
    assert summary(result) == [
        ("www.agency.de", 0, False, False),
        ("mail.agency.de", 0, False, False),
        ("vpn.agency.de", 1, True, False),
        ("intern.agency.de", 2, False, True),
        ("both.agency.de", 3, True, False),
        ("legacy.agency.de", 4, False, False),
        ("san.agency.de", 5, False, False),
    ]
    assert (result.entries_read, result.entries_skipped, result.cursor.next_index) == (8, 0, 8)
    first = result.sightings[0]
    assert (first.source, first.port) == ("ct", None)
    assert first.evidence["log"] == server.url
    assert first.evidence["issuer_cn"] == "Posture CT Test CA"
    assert first.evidence["not_before"].startswith("2026-11-01T00:00") and first.evidence["not_after"] > "2027-01-"
    assert int(first.evidence["serial"], 16) > 0


async def test_both_apis_give_the_same_sightings(session: aiohttp.ClientSession, ca: CtCa) -> None:
    entries = numbered(ca, 600)  # two full data tiles and a partial one of 88
    async with running_log(CtLogServer(entries)) as server:
        by_rfc = await read(session, server, "rfc6962", start(server, "rfc6962"), batch=100)
        by_tiles = await read(session, server, "static", start(server, "static"), batch=512)
        assert any(".p/88" in path for path in server.requests)
    assert len(by_rfc.sightings) == 200
    assert [(s.host, dict(s.evidence)) for s in by_rfc.sightings] == [
        (s.host, {**s.evidence, "log": server.url}) for s in by_tiles.sightings
    ]
    assert by_rfc.cursor.next_index == by_tiles.cursor.next_index == 600
    assert by_rfc.caught_up and by_tiles.caught_up


@pytest.mark.parametrize("kind", KINDS)
async def test_the_cursor_resumes_across_a_restart(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    async with running_log(CtLogServer(numbered(ca, 100))) as server:
        first = await read(session, server, kind, start(server, kind))
        assert (first.entries_read, first.cursor.next_index, first.cursor.tree_size) == (100, 100, 100)
        stored = first.cursor.to_json()
        server.extend(numbered(ca, 50, first=100))
        second = await read(session, server, kind, CtCursor.from_json(stored))
    assert second.entries_read == 50
    assert {s.evidence["index"] for s in second.sightings} == {n for n in range(100, 150) if n % 3 == 0}
    assert (second.cursor.next_index, second.cursor.tree_size) == (150, 150)


async def test_a_log_answering_fewer_entries_than_asked_is_read_on(session: aiohttp.ClientSession, ca: CtCa) -> None:
    async with running_log(CtLogServer(numbered(ca, 100), max_per_request=7)) as server:
        result = await read(session, server, "rfc6962", start(server, "rfc6962"), batch=50)
    starts = [path.split("start=")[1].split("&")[0] for path in server.requests if "get-entries" in path]
    assert starts == [str(n) for n in range(0, 100, 7)]
    assert result.entries_read == 100
    assert [s.evidence["index"] for s in result.sightings] == list(range(0, 100, 3))


async def test_entries_beyond_those_asked_for_are_left_for_the_next_read(
    session: aiohttp.ClientSession, ca: CtCa
) -> None:
    async with running_log(CtLogServer(numbered(ca, 100), surplus=5)) as server:
        first = await read(session, server, "rfc6962", start(server, "rfc6962"), max_entries=30, batch=10)
    assert (first.entries_read, first.cursor.next_index) == (30, 30)
    assert [s.evidence["index"] for s in first.sightings] == list(range(0, 30, 3))


async def test_a_garbage_tile_among_concurrent_tile_reads_fails_the_read_cleanly(
    session: aiohttp.ClientSession, ca: CtCa
) -> None:
    async with running_log(CtLogServer(numbered(ca, 700))) as server:
        server.garbage = "tile-short"
        with pytest.raises(CtLogError, match="data tile"):
            await read(session, server, "static", start(server, "static"), batch=1024)
        server.garbage = None
        result = await read(session, server, "static", start(server, "static"), batch=1024)
    assert result.entries_read == 700


@pytest.mark.parametrize("kind", KINDS)
async def test_max_entries_bounds_one_read(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    async with running_log(CtLogServer(numbered(ca, 300))) as server:
        first = await read(session, server, kind, start(server, kind), max_entries=270)
        second = await read(session, server, kind, first.cursor, max_entries=270)
    assert (first.entries_read, first.caught_up, first.cursor.next_index) == (270, False, 270)
    assert (second.entries_read, second.caught_up) == (30, True)
    indexes = [s.evidence["index"] for s in (*first.sightings, *second.sightings)]
    assert indexes == list(range(0, 300, 3))


@pytest.mark.parametrize("kind", KINDS)
async def test_a_new_cursor_starts_at_the_end_minus_the_backlog(
    session: aiohttp.ClientSession, ca: CtCa, kind: str
) -> None:
    async with running_log(CtLogServer(numbered(ca, 30))) as server:
        now_on = await read(session, server, kind, None)
        backlog = await read(session, server, kind, None, backlog=10)
    assert (now_on.entries_read, now_on.cursor.next_index, now_on.sightings) == (0, 30, ())
    assert backlog.entries_read == 10
    assert [s.evidence["index"] for s in backlog.sightings] == [21, 24, 27]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_shrinking_log_is_an_error_and_the_cursor_stays(
    session: aiohttp.ClientSession, ca: CtCa, kind: str
) -> None:
    async with running_log(CtLogServer(numbered(ca, 40))) as server:
        cursor = (await read(session, server, kind, start(server, kind))).cursor
        server.shrink(30)
        with pytest.raises(CtLogError, match="shrank from 40 to 30"):
            await read(session, server, kind, cursor)
        server.extend(numbered(ca, 15, first=30))  # the kept cursor reads on once the log is sane again
        after = await read(session, server, kind, cursor)
    assert (after.entries_read, after.cursor.next_index) == (5, 45)


GARBAGE = [
    ("rfc6962", "sth-json", "get-sth: the answer is not JSON"),
    ("rfc6962", "sth-size", "tree_size is not a non-negative integer"),
    ("rfc6962", "entries-json", "get-entries: the answer is not JSON"),
    ("rfc6962", "leaf-length", "length .* exceeds the data|truncated"),
    ("rfc6962", "entry-type", "unknown entry_type 7"),
    ("static", "checkpoint", "not a signed checkpoint note"),
    ("static", "tile-short", "data tile 0: .*(truncated|exceeds|entries, expected)"),
]


@pytest.mark.parametrize(("kind", "garbage", "reason"), GARBAGE, ids=[g[1] for g in GARBAGE])
async def test_garbage_is_an_error_with_a_one_line_reason(
    session: aiohttp.ClientSession, ca: CtCa, kind: str, garbage: str, reason: str
) -> None:
    async with running_log(CtLogServer(numbered(ca, 20))) as server:
        server.garbage = garbage  # type: ignore[assignment]
        with pytest.raises(CtLogError, match=reason) as raised:
            await read(session, server, kind, start(server, kind))
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("kind", KINDS)
async def test_an_undecodable_certificate_is_skipped_and_counted(
    session: aiohttp.ClientSession, ca: CtCa, kind: str
) -> None:
    entries = [ca.entry(["a.agency.de"]), ca.undecodable(), ca.entry(["b.agency.de"], precert=True)]
    async with running_log(CtLogServer(entries)) as server:
        result = await read(session, server, kind, start(server, kind))
    assert [s.host for s in result.sightings] == ["a.agency.de", "b.agency.de"]
    assert (result.entries_read, result.entries_skipped, result.cursor.next_index) == (3, 1, 3)
    assert result.skip_reasons[0].startswith("entry 1: certificate does not decode: ValueError")


@pytest.mark.parametrize("kind", KINDS)
async def test_hostile_names_are_not_host_names(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    hostile = [
        "<script>alert(1)</script>.agency.de",
        "a\x00b.agency.de",
        "bad\r\nname.agency.de",
        "1.2.3.4",
        "*.*.agency.de",
        "x.*.agency.de",
        "-dash.agency.de",
        "agency.de/../admin",
        "ok.agency.de",
        "xn--bcher-kva.agency.de",
    ]
    async with running_log(CtLogServer([ca.entry(hostile)])) as server:
        result = await read(session, server, kind, start(server, kind))
    assert [s.host for s in result.sightings] == ["ok.agency.de", "xn--bcher-kva.agency.de"]
    assert (result.entries_read, result.entries_skipped) == (1, 0)


@pytest.mark.parametrize("kind", KINDS)
async def test_answers_are_size_capped(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    # the data tiles are gzip-compressed: the cap holds for the decoded size
    async with running_log(CtLogServer(numbered(ca, 300))) as server:
        with pytest.raises(CtLogError, match=r"larger than 20000 bytes|exceeds 20000"):
            await read(session, server, kind, start(server, kind), max_response_bytes=20_000)
        fits = await read(session, server, kind, start(server, kind), max_response_bytes=2_000_000)
    assert fits.entries_read == 300


@pytest.mark.parametrize("kind", KINDS)
async def test_answers_are_time_bounded(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    async with running_log(CtLogServer(numbered(ca, 10), stall_s=30)) as server:
        began = time.monotonic()
        with pytest.raises(CtLogError, match=r"no complete answer within 0\.5 s"):
            await read(session, server, kind, start(server, kind), timeout_s=0.5)
        assert time.monotonic() - began < 5


async def test_a_deleted_partial_tile_is_read_from_the_full_tile(session: aiohttp.ClientSession, ca: CtCa) -> None:
    # the checkpoint said 300 (tile 1 partial, width 44); the log has grown to 600 and dropped its partials
    server = CtLogServer(numbered(ca, 600), stale_checkpoint_size=300, partials_gone=True)
    async with running_log(server):
        result = await read(session, server, "static", start(server, "static"))
    assert "/tile/data/001.p/44" in server.requests and "/tile/data/001" in server.requests
    assert (result.entries_read, result.cursor.next_index, result.cursor.tree_size) == (300, 300, 300)
    assert [s.evidence["index"] for s in result.sightings] == list(range(0, 300, 3))


@pytest.mark.parametrize("kind", KINDS)
async def test_tree_heads_verify_with_the_configured_log_key(
    session: aiohttp.ClientSession, ca: CtCa, kind: str
) -> None:
    async with running_log(CtLogServer(numbered(ca, 20))) as server, running_log(CtLogServer()) as stranger:
        log = CtLog(server.url, kind, key=server.key_b64)  # type: ignore[arg-type]
        result = await read_log(session, log, CtCursor.start(log), in_scope, max_entries=100, batch=256)
        assert result.entries_read == 20
        impostor = CtLog(server.url, kind, key=stranger.key_b64)  # type: ignore[arg-type]
        with pytest.raises(CtLogError, match=r"does not verify|no signature by the configured log key"):
            await read_log(session, impostor, None, in_scope, max_entries=100, batch=256)
        server.garbage = "signature"
        with pytest.raises(CtLogError, match=r"signature does not verify with the configured log key"):
            await read_log(session, log, None, in_scope, max_entries=100, batch=256)


@pytest.mark.parametrize("kind", KINDS)
async def test_another_root_at_the_same_size_is_an_error(session: aiohttp.ClientSession, ca: CtCa, kind: str) -> None:
    async with running_log(CtLogServer(numbered(ca, 40))) as server:
        cursor = (await read(session, server, kind, start(server, kind))).cursor
        server.shrink(39)
        server.append(ca.entry(["rewritten.agency.de"]))
        with pytest.raises(CtLogError, match="another root hash"):
            await read(session, server, kind, cursor)


def test_a_damaged_certificate_is_skipped_never_raised(ca: CtCa) -> None:
    der = ca.certificate(["www.agency.de"]).public_bytes(serialization.Encoding.DER)
    chance = random.Random(24)
    outcomes = set()
    for n in range(2000):
        damaged = bytearray(der)
        for _ in range(1 + n % 4):
            damaged[chance.randrange(len(damaged))] = chance.randrange(256)
        batch = parse_certificates([RawEntry(n, bytes(damaged), False)], in_scope)
        assert batch.count == 1 and batch.skipped + len(batch.entries) <= 1
        outcomes.add("skipped" if batch.skipped else "parsed")
    assert outcomes == {"skipped", "parsed"}


def test_data_tile_paths_follow_the_spec() -> None:
    assert data_tile_path(0, 256) == "tile/data/000"
    assert data_tile_path(1234067, 256) == "tile/data/x001/x234/067"
    assert data_tile_path(1000, 17) == "tile/data/x001/000.p/17"
    assert data_tile_path(999, 255) == "tile/data/999.p/255"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("WWW.Agency.DE.", ("www.agency.de", False)),
        ("*.agency.de", ("agency.de", True)),
        ("xn--mnchen-3ya.de", ("xn--mnchen-3ya.de", False)),
        ("münchen.de", None),
        ("*", None),
        ("", None),
        ("a..b.de", None),
        ("under_score.agency.de", None),
        ("10.0.0.1", None),
        ("a" * 64 + ".de", None),
        (".".join(["a" * 63] * 4), None),  # 255 characters
    ],
)
def test_host_names(raw: str, expected: tuple[str, bool] | None) -> None:
    name = host_name(raw)
    assert (None if name is None else (name.host, name.wildcard)) == expected


@pytest.mark.parametrize(
    "stored",
    [
        "not json",
        "[]",
        '{"log_url": "", "next_index": 1, "tree_size": 1}',
        '{"log_url": "https://ct.example/log", "next_index": -1, "tree_size": 1}',
        '{"log_url": "https://ct.example/log", "next_index": true, "tree_size": 1}',
        '{"log_url": "https://ct.example/log", "next_index": 1}',
        '{"log_url": "https://ct.example/log", "next_index": 1, "tree_size": 1, "root_hash": 7}',
    ],
)
def test_a_bad_stored_cursor_names_the_field(stored: str) -> None:
    with pytest.raises(InvalidInput, match=r"^ct cursor"):
        CtCursor.from_json(stored)


async def test_a_cursor_reads_only_its_own_log(session: aiohttp.ClientSession) -> None:
    other = CtCursor("https://ct.example/other", 0, 0)
    with pytest.raises(ValueError, match="cannot read"):
        await read_log(session, CtLog("http://127.0.40.9:1"), other, in_scope, max_entries=1, batch=1)


def test_log_configuration_is_checked() -> None:
    with pytest.raises(InvalidInput, match="ct log key"):
        CtLog("https://ct.example/log", key="bm90IGEga2V5")
    with pytest.raises(InvalidInput, match="ct log url"):
        CtLog("ftp://ct.example/log")
    with pytest.raises(InvalidInput, match="ct log kind"):
        CtLog("https://ct.example/log", "rfc9162")  # type: ignore[arg-type]
    assert CtLog("https://ct.example/log/").url == "https://ct.example/log"
