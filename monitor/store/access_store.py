"""Who is calling: bearer tokens (hashed, revocable, last use recorded) and web UI sessions."""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from monitor.clock import SYSTEM_CLOCK, Clock
from monitor.errors import InvalidInput, NotFound
from monitor.store.audit import Actor, agency_id_of, write_audit
from monitor.store.availability import describe
from monitor.store.bulk import update_rows
from monitor.store.reads import reader
from monitor.store.registry import ROLES, Registry, hash_token
from monitor.store.tables import AGENCY, API_TOKEN, WEB_SESSION

log = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)  # one write a minute per token, not one per request
CACHE_SECONDS = 2.0  # how long another replica may still accept a token revoked elsewhere
USE_GATHER_S = 0.05
CACHE_SIZE = 10_000
SESSION_LIFETIME = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a token's role, and for agency staff their agency (every agency query filters by it)."""

    token_id: int
    role: str
    agency_id: int | None
    agency: str | None

    def actor(self, source: str) -> Actor:
        return Actor(name=f"token:{self.token_id}", source=source[:100])

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def reads_everything(self) -> bool:
        return self.role in ("admin", "analyst")


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    role: str
    agency: str | None
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    record: TokenRecord
    token: str  # shown once


@dataclass(frozen=True, slots=True)
class SessionInfo:
    principal: Principal
    csrf_token: str


def _token_query() -> Select[Any]:
    return select(
        API_TOKEN.c.id,
        API_TOKEN.c.token_hash,
        API_TOKEN.c.role,
        API_TOKEN.c.agency_id,
        API_TOKEN.c.label,
        API_TOKEN.c.created_at,
        API_TOKEN.c.last_used_at,
        API_TOKEN.c.revoked_at,
        AGENCY.c.slug,
    ).select_from(API_TOKEN.outerjoin(AGENCY, AGENCY.c.id == API_TOKEN.c.agency_id))


# Built once: authenticating is on every API call, and a prebuilt statement spares SQLAlchemy the building and
# the cache-key computation each time.
_BY_HASH = _token_query().where(API_TOKEN.c.token_hash == bindparam("digest"))


def _record(row: Any) -> TokenRecord:
    return TokenRecord(row.id, row.role, row.slug, row.label, row.created_at, row.last_used_at, row.revoked_at)


class AccessStore:
    def __init__(self, engine: AsyncEngine, cache_s: float = CACHE_SECONDS, clock: Clock = SYSTEM_CLOCK) -> None:
        self.engine = engine
        self.clock = clock
        self.reads = reader(engine)
        self.registry = Registry(engine, clock)
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal]] = {}  # by token hash: (valid until, principal)
        self._unwritten_uses: dict[int, datetime] = {}  # by token id: a last use not yet written
        self._use_writer: asyncio.Task[None] | None = None

    def forget(self) -> None:
        """Drop cached principals (after a revocation here; other replicas drop theirs within cache_s)."""
        self._cache.clear()

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a live token, or None; records the last use (to the minute).

        A live token's principal is kept for `cache_s` seconds, which saves a query per API call; a
        revocation in this process takes effect at once, in other replicas within `cache_s`.
        """
        if not token or len(token) > 200:
            return None
        digest = hash_token(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > self.clock.monotonic():
            return cached[1]
        row = await self.reads.first(_BY_HASH, {"digest": digest})
        # The index finds the row; the comparison of what was found is constant-time all the same.
        if row is None or not hmac.compare_digest(row.token_hash, digest) or row.revoked_at is not None:
            return None
        now = self.clock.now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            self._note_use(row.id, now)
        principal = Principal(row.id, row.role, row.agency_id, row.slug)
        if self.cache_s > 0:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[digest] = (self.clock.monotonic() + self.cache_s, principal)
        return principal

    def _note_use(self, token_id: int, when: datetime) -> None:
        """Last uses are written in the background, all that are pending in one transaction, so that no request
        waits for a write: a burst of first uses (after a restart, a hundred agencies' scripts at once) is one
        or two writes instead of one per request, each queueing for SQLite's write lock."""
        self._unwritten_uses[token_id] = when
        if self._use_writer is None or self._use_writer.done():
            self._use_writer = asyncio.create_task(self._write_uses(), name="token-last-use")

    async def _write_uses(self) -> None:
        while self._unwritten_uses:
            # a burst's look-ups finish over some milliseconds (each is a read on a pool thread): gather them
            await asyncio.sleep(USE_GATHER_S)
            batch, self._unwritten_uses = self._unwritten_uses, {}
            try:
                async with self.engine.begin() as conn:
                    rows = [{"id": token_id, "last_used_at": when} for token_id, when in batch.items()]
                    await update_rows(conn, API_TOKEN, ["id"], rows)
            except (SQLAlchemyError, OSError) as err:
                # not kept: the stored last use stays old, so the token's next look-up notes it again
                log.warning("last use of %d tokens not recorded: %s", len(batch), describe(err, self.engine.url))
                return

    async def settle(self) -> None:
        """Wait until the last uses noted so far are written (at shutdown, and in tests)."""
        while self._use_writer is not None and not self._use_writer.done():
            await self._use_writer

    async def _insert_token(
        self, conn: AsyncConnection, role: str, agency_id: int | None, label: str | None
    ) -> tuple[int, str, datetime]:
        token = secrets.token_urlsafe(32)  # 32 random bytes
        now = self.clock.now()
        token_id = (
            await conn.execute(
                insert(API_TOKEN)
                .values(token_hash=hash_token(token), role=role, agency_id=agency_id, label=label, created_at=now)
                .returning(API_TOKEN.c.id)
            )
        ).scalar_one()
        return int(token_id), token, now

    async def create_token(self, role: str, agency: str | None, label: str | None, actor: Actor) -> IssuedToken:
        if role not in ROLES:
            raise InvalidInput("role", f"{role!r} is not one of {', '.join(ROLES)}")
        if (role == "agency") != (agency is not None):
            raise InvalidInput("agency", "an agency token needs an agency; admin, analyst and metrics tokens take none")
        async with self.engine.begin() as conn:
            agency_id = await agency_id_of(conn, agency) if agency else None
            token_id, token, now = await self._insert_token(conn, role, agency_id, label)
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                "token.create",
                f"token/{token_id}",
                {"role": role, "agency": agency, "label": label},
            )
        return IssuedToken(TokenRecord(token_id, role, agency, label, now, None, None), token)

    async def rotate(self, principal: Principal, actor: Actor) -> IssuedToken:
        """A new token with the caller's role and agency; the caller's own token is revoked at once."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(_token_query().where(API_TOKEN.c.id == principal.token_id))).first()
            if row is None or row.revoked_at is not None:
                raise NotFound("token", "this token was revoked meanwhile")
            token_id, token, now = await self._insert_token(conn, row.role, row.agency_id, row.label)
            await conn.execute(update(API_TOKEN).where(API_TOKEN.c.id == row.id).values(revoked_at=now))
            await write_audit(
                conn,
                self.clock.now(),
                actor,
                "token.rotate",
                f"token/{row.id}",
                {"new_token": token_id, "agency": row.slug},
            )
        self.forget()
        return IssuedToken(TokenRecord(token_id, row.role, row.slug, row.label, now, None, None), token)

    async def list_tokens(self, agency_id: int | None = None) -> list[TokenRecord]:
        query = _token_query().order_by(API_TOKEN.c.id)
        if agency_id is not None:
            query = query.where(API_TOKEN.c.agency_id == agency_id)
        return [_record(row) for row in await self.reads.all(query)]

    async def revoke(self, token_id: int, actor: Actor, agency_id: int | None = None) -> TokenRecord:
        """Revoke a token (idempotent); with `agency_id`, only that agency's tokens are visible."""
        condition = API_TOKEN.c.id == token_id
        if agency_id is not None:
            condition = and_(condition, API_TOKEN.c.agency_id == agency_id)
        async with self.engine.begin() as conn:
            row = (await conn.execute(_token_query().where(condition))).first()
            if row is None:
                raise NotFound("token", f"no token with id {token_id}")
            revoked = row.revoked_at or self.clock.now()
            if row.revoked_at is None:
                await conn.execute(update(API_TOKEN).where(API_TOKEN.c.id == token_id).values(revoked_at=revoked))
                await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.token_id == token_id))
                await write_audit(
                    conn, self.clock.now(), actor, "token.revoke", f"token/{token_id}", {"agency": row.slug}
                )
        self.forget()
        return TokenRecord(row.id, row.role, row.slug, row.label, row.created_at, row.last_used_at, revoked)

    # --- web UI sessions: the cookie holds a random value, the table only its hash -------------------------

    async def create_session(self, principal: Principal) -> tuple[str, str]:
        """(cookie value, CSRF token) of a new session for a signed-in token."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.engine.begin() as conn:
            await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.expires_at < now))
            await conn.execute(
                insert(WEB_SESSION).values(
                    session_hash=hash_token(cookie),
                    token_id=principal.token_id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
        return cookie, csrf

    async def session(self, cookie: str) -> SessionInfo | None:
        if not cookie or len(cookie) > 200:
            return None
        query = (
            select(WEB_SESSION.c.csrf_token, WEB_SESSION.c.expires_at, API_TOKEN.c.id, API_TOKEN.c.role)
            .add_columns(API_TOKEN.c.agency_id, API_TOKEN.c.revoked_at, AGENCY.c.slug)
            .select_from(
                WEB_SESSION.join(API_TOKEN, API_TOKEN.c.id == WEB_SESSION.c.token_id).outerjoin(
                    AGENCY, AGENCY.c.id == API_TOKEN.c.agency_id
                )
            )
            .where(WEB_SESSION.c.session_hash == hash_token(cookie))
        )
        row = await self.reads.first(query)
        if row is None or row.revoked_at is not None or row.expires_at <= self.clock.now():
            return None
        return SessionInfo(Principal(row.id, row.role, row.agency_id, row.slug), row.csrf_token)

    async def session_revoked(self, cookie: str) -> bool:
        """Whether a session cookie that no longer signs in belongs to a revoked token (rather than one that
        expired or is unknown): the sign-in page says which."""
        if not cookie or len(cookie) > 200:
            return False
        query = (
            select(API_TOKEN.c.revoked_at)
            .select_from(WEB_SESSION.join(API_TOKEN, API_TOKEN.c.id == WEB_SESSION.c.token_id))
            .where(WEB_SESSION.c.session_hash == hash_token(cookie))
        )
        row = await self.reads.first(query)
        return row is not None and row.revoked_at is not None

    async def end_session(self, cookie: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(WEB_SESSION).where(WEB_SESSION.c.session_hash == hash_token(cookie)))
