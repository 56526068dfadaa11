"""Signing in: throttled per account and per address, every failure in the audit trail.

:func:`sign_in` is the one way the API (``POST /v1/auth/login``) and the dashboard's form
check a password. Failed attempts are rows of the app database's ``sign_in_failures`` table
(a moving window): :data:`ACCOUNT_LIMIT` per email address and :data:`ADDRESS_LIMIT` per
client address within :data:`WINDOW_SECONDS`. Once either is used up, attempts are refused
*without checking the password* until the window moves on, with
:class:`TooManyAttemptsError` (HTTP 429, ``Retry-After``). A successful sign-in clears its
account's count. Because the counts live in the app database, every server process and
worker sharing it sees the same counts. See ``docs/adr/0055-sign-in-throttling-in-the-app-database.md``.

>>> db = AppDatabase("sqlite://")
>>> sign_in(db, "nobody@example.com", "wrong", address="10.0.0.1") is None
True
>>> failures(db, "account", "nobody@example.com")
1
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from journeylens.errors import JourneyLensError
from journeylens.operations import users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import record
from journeylens.operations.models import Base, User, utcnow

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW_SECONDS = 15 * 60


class SignInFailure(Base):
    """One failed sign-in, counted once for its account and once for its address."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_scope_key_at", "scope", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # "account" or "address"
    key: Mapped[str] = mapped_column(String(254))  # the normalised email, or the client address
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TooManyAttemptsError(JourneyLensError):
    """Too many failed sign-ins for this account or from this address."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, retry_after_seconds: int, scope: str):
        super().__init__(
            f"Too many failed sign-ins for this {scope}; try again in {retry_after_seconds} seconds.",
            details={"retry_after_seconds": retry_after_seconds, "scope": scope})
        self.retry_after_seconds = retry_after_seconds
        self.headers = {"Retry-After": str(retry_after_seconds)}


def _checks(email: str, address: str) -> list[tuple[int, str, str]]:
    return [(ACCOUNT_LIMIT, "account", email.strip().lower()[:254]), (ADDRESS_LIMIT, "address", address or "unknown")]


def _window_start(now: datetime) -> datetime:
    return now - timedelta(seconds=WINDOW_SECONDS)


def _refuse_if_throttled(session: Session, email: str, address: str) -> None:
    now = utcnow()
    for limit, scope, key in _checks(email, address):
        # the limit-th newest failure in the window: once it leaves the window, one attempt is free again
        oldest_counted = session.scalar(
            select(SignInFailure.at).where(SignInFailure.scope == scope, SignInFailure.key == key,
                                           SignInFailure.at > _window_start(now))
            .order_by(SignInFailure.at.desc()).offset(limit - 1).limit(1))
        if oldest_counted is not None:
            wait_seconds = (oldest_counted - _window_start(now)).total_seconds()
            raise TooManyAttemptsError(max(1, math.ceil(wait_seconds)), scope)


def _count_failure(session: Session, email: str, address: str) -> None:
    now = utcnow()
    session.execute(delete(SignInFailure).where(SignInFailure.at <= _window_start(now)))  # housekeeping
    session.add_all([SignInFailure(scope=scope, key=key, at=now) for _, scope, key in _checks(email, address)])


def failures(db: AppDatabase, scope: str, key: str) -> int:
    """Failed sign-ins counted now for ``scope`` (``account``/``address``) and ``key``."""
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(SignInFailure).where(
            SignInFailure.scope == scope, SignInFailure.key == key,
            SignInFailure.at > _window_start(utcnow()))) or 0)


def sign_in(db: AppDatabase, email: str, password: str, *, address: str = "") -> User | None:
    """The active user with these credentials, ``None`` for wrong ones (audited), or
    :class:`TooManyAttemptsError` while the account or address is throttled (audited too)."""
    try:
        with db.session() as session:
            _refuse_if_throttled(session, email, address)
    except TooManyAttemptsError as exc:
        _audit_failure(db, email, address, "throttled", exc.retry_after_seconds)
        raise
    with db.session() as session:
        user = users.authenticate(session, email, password)
    if user is None:
        with db.session() as session:
            _count_failure(session, email, address)
        _audit_failure(db, email, address, "wrong_credentials", None)
        return None
    with db.session() as session:
        session.execute(delete(SignInFailure).where(SignInFailure.scope == "account",
                                                    SignInFailure.key == _checks(email, address)[0][2]))
    return user


def _audit_failure(db: AppDatabase, email: str, address: str, why: str, retry_after: int | None) -> None:
    details: dict[str, object] = {"address": address, "why": why}
    if retry_after is not None:
        details["retry_after_seconds"] = retry_after
    with db.session() as session:
        record(session, actor=f"address:{address or 'unknown'}", action="user.login_failed",
               target=email.strip().lower()[:254], details=details)


def reset_throttling(db: AppDatabase) -> int:
    """Forget every count (an admin after a false alarm); the number of failures forgotten."""
    with db.session() as session:
        return int(session.execute(delete(SignInFailure)).rowcount or 0)  # type: ignore[attr-defined]
