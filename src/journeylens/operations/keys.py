"""API keys: create (the raw key is shown once), authenticate fast, revoke, list.

A key looks like ``jl_<prefix>_<secret>``: ``prefix`` is 8 hex characters, shown in lists
and used to find the row; only the SHA-256 of the whole key is stored. Keys are long
random tokens, so a fast hash is enough (a slow password hash would slow down the
collector, which authenticates every request).

Verified keys are kept in an in-process cache for :data:`CACHE_TTL_SECONDS` (one second),
so a busy collector reads the key's row at most once a second. Revoking a key drops it from
this process's cache at once; every other process (a server, when the CLI revokes) stops
accepting it within the TTL (ADR 0017).

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     key, raw = create_key(s, "web collector", ["ingest"])
>>> with db.session() as s:
...     authenticate_key(s, raw).scope_list, authenticate_key(s, raw + "x")
(('ingest',), None)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations.audit import record
from journeylens.operations.auth import check_scopes
from journeylens.operations.models import ApiKey, utcnow

KEY_PREFIX_CHARS = 8
CACHE_TTL_SECONDS = 1.0
LAST_USED_RESOLUTION_SECONDS = 60.0
_CACHE_MAX_ENTRIES = 10_000
_KEY_FORMAT = re.compile(r"^jl_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")


def hash_key(raw_key: str) -> str:
    """Hex SHA-256 of the whole raw key (what the database stores)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


def key_prefix(raw_key: str) -> str | None:
    """The prefix of a well-formed key, or ``None`` for anything else."""
    match = _KEY_FORMAT.match(raw_key.strip())
    return match.group(1) if match else None


def create_key(session: Session, name: str, scopes: list[str] | tuple[str, ...], *,
               created_by: str = "system") -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never retrievable again."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ParameterError("An API key needs a name of 1 to 100 characters.", code="invalid_key_name")
    granted = check_scopes(scopes)
    prefix = _unused_prefix(session)
    raw_key = f"jl_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(name=name, prefix=prefix, key_hash=hash_key(raw_key), scopes=",".join(granted),
                 created_by=created_by, created_at=utcnow())
    session.add(key)
    session.flush()
    record(session, actor=created_by, action="key.create", target=prefix,
           details={"name": name, "scopes": list(granted)})
    return key, raw_key


def _unused_prefix(session: Session) -> str:
    for _ in range(10):
        prefix = secrets.token_hex(KEY_PREFIX_CHARS // 2)
        if session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is None:
            return prefix
    raise RuntimeError("could not draw an unused API key prefix")  # pragma: no cover - 2**32 space


def authenticate_key(session: Session, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, or ``None``.

    Returns a detached snapshot of the row (read its attributes; changes are not saved).
    ``last_used_at`` is written through ``session`` at most once a minute per key, so the
    caller's unit of work must commit (``AppDatabase.session()`` does).
    """
    prefix = key_prefix(raw_key)
    if prefix is None:
        return None
    digest = hash_key(raw_key.strip())
    engine = _engine_of(session)
    now = time.monotonic()
    entry = _CACHE.get(engine, digest, now)
    if entry is None:
        row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
            return None
        entry = _CACHE.put(engine, digest, _snapshot(row), now)
    if now - entry.touched_at >= LAST_USED_RESOLUTION_SECONDS:
        entry.touched_at = now
        session.execute(update(ApiKey).where(ApiKey.id == entry.key.id).values(last_used_at=utcnow()))
    return entry.key


def peek_verified_key(engine: Engine, raw_key: str) -> ApiKey | None:
    """The cached snapshot for ``raw_key`` when no database work is due, else ``None``.

    Lets an async caller (the collector) skip a worker thread on the hot path; on ``None``
    call :func:`authenticate_key`, which also decides whether the key is valid at all.
    """
    now = time.monotonic()
    entry = _CACHE.get(engine, hash_key(raw_key.strip()), now)
    if entry is None or now - entry.touched_at >= LAST_USED_RESOLUTION_SECONDS:
        return None
    return entry.key


def revoke_key(session: Session, prefix: str, *, actor: str = "system") -> ApiKey:
    """Revoke the key with ``prefix`` (idempotent); it stops working at once in this process."""
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix.strip()))
    if key is None:
        raise NotFoundError(f"No API key with prefix {prefix!r}.", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        record(session, actor=actor, action="key.revoke", target=key.prefix)
    _CACHE.forget(_engine_of(session), key.id)
    return key


def list_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKey]:
    """Keys, newest first."""
    query = select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def clear_key_cache() -> None:
    """Forget every verified key (tests, or after revoking keys from another process)."""
    _CACHE.clear()


def _snapshot(row: ApiKey) -> ApiKey:
    columns = ("id", "name", "prefix", "key_hash", "scopes", "created_by", "created_at",
               "last_used_at", "revoked_at")
    return ApiKey(**{column: getattr(row, column) for column in columns})


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


@dataclass
class _Entry:
    key: ApiKey
    expires_at: float
    touched_at: float = float("-inf")


class _VerifiedKeys:
    """Verified keys per database engine, by key hash, each valid for a TTL."""

    def __init__(self, ttl_seconds: float):
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[str, _Entry]] = weakref.WeakKeyDictionary()

    def get(self, engine: Engine, digest: str, now: float) -> _Entry | None:
        with self._lock:
            entry = self._by_engine.get(engine, {}).get(digest)
        return entry if entry is not None and entry.expires_at > now else None

    def put(self, engine: Engine, digest: str, key: ApiKey, now: float) -> _Entry:
        with self._lock:
            entries = self._by_engine.setdefault(engine, {})
            if len(entries) >= _CACHE_MAX_ENTRIES:
                entries.clear()
            previous = entries.get(digest)  # re-verified: last_used_at stays at its own pace
            entry = entries[digest] = _Entry(key, now + self.ttl_seconds,
                                             previous.touched_at if previous is not None else float("-inf"))
        return entry

    def forget(self, engine: Engine, key_id: int) -> None:
        with self._lock:
            entries = self._by_engine.get(engine, {})
            for digest in [d for d, e in entries.items() if e.key.id == key_id]:
                del entries[digest]

    def clear(self) -> None:
        with self._lock:
            self._by_engine.clear()


_CACHE = _VerifiedKeys(CACHE_TTL_SECONDS)
