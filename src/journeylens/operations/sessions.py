"""Server-side sign-in sessions: the cookie carries a random token, the app database the
session, so ending it (sign-out, deactivation, password change, an admin's revoke) takes
effect on the very next request in every process.

Only the SHA-256 of the token is stored. A session ends after :data:`ABSOLUTE_SECONDS`, or
after :data:`IDLE_SECONDS` without a request, whichever comes first (OWASP ASVS 3.3).

>>> from journeylens.operations.appdb import AppDatabase
>>> from journeylens.operations.users import create_user
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     token = start(s, create_user(s, "ana@example.com", "a long passphrase"))
>>> with db.session() as s:
...     resolve(s, token).email
'ana@example.com'
>>> with db.session() as s:
...     end(s, token)
True
>>> with db.session() as s:
...     resolve(s, token) is None
True
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from journeylens.operations.models import Base, User, utcnow

ABSOLUTE_SECONDS = 14 * 24 * 3600
IDLE_SECONDS = 24 * 3600
#: ``last_seen_at`` is written at most this often per session (not on every request).
SEEN_RESOLUTION_SECONDS = 60


class WebSession(Base):
    """One signed-in browser (or API client using the session cookie)."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_reason: Mapped[str] = mapped_column(String(32), default="")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(session: Session, user: User) -> str:
    """Open a session for ``user``; returns the raw token (the cookie value)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(seconds=ABSOLUTE_SECONDS)))
    session.flush()
    return token


def resolve(session: Session, token: str) -> User | None:
    """The active user of a live session with ``token``, else ``None`` (ended, expired, idle,
    or the user deactivated)."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if (now - row.last_seen_at).total_seconds() > IDLE_SECONDS:
        row.ended_at, row.ended_reason = now, "idle"
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if (now - row.last_seen_at).total_seconds() >= SEEN_RESOLUTION_SECONDS:
        row.last_seen_at = now
    return user


def end(session: Session, token: str, reason: str = "sign-out") -> bool:
    """End the session with ``token``; whether there was a live one."""
    result = session.execute(update(WebSession).where(WebSession.token_hash == token_hash(token),
                                                      WebSession.ended_at.is_(None))
                             .values(ended_at=utcnow(), ended_reason=reason))
    return bool(getattr(result, "rowcount", 0))


def end_all(session: Session, user_id: int, reason: str) -> int:
    """End every live session of a user (deactivation, password change); how many ended."""
    result = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
                             .values(ended_at=utcnow(), ended_reason=reason))
    return int(getattr(result, "rowcount", 0))


def live_sessions(session: Session, user_id: int) -> int:
    """How many sessions of the user are open (not ended; expiry not checked)."""
    return len(list(session.scalars(select(WebSession.id).where(WebSession.user_id == user_id,
                                                                WebSession.ended_at.is_(None)))))
