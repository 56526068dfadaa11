"""Signing in: throttled per account and per address, every failure in the audit trail.

:func:`sign_in` is the one way the API (``POST /v1/auth/login``) and the dashboard's form
check a password. Failed attempts are counted with the ``limits`` library (moving window):
:data:`ACCOUNT_LIMIT` per email address and :data:`ADDRESS_LIMIT` per client address. Once
either is used up, attempts are refused *without checking the password* until the window
moves on, with :class:`TooManyAttemptsError` (HTTP 429, ``Retry-After``). A successful
sign-in clears its account's count. See ``docs/adr/0016-sign-in-throttling.md``.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache

from limits import RateLimitItem, parse, storage, strategies

from journeylens.errors import JourneyLensError
from journeylens.operations import users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import record
from journeylens.operations.models import User

ACCOUNT_LIMIT: RateLimitItem = parse("5 per 15 minutes")
ADDRESS_LIMIT: RateLimitItem = parse("20 per 15 minutes")
_lock = threading.Lock()


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


@lru_cache(maxsize=8)
def _limiter(storage_url: str) -> strategies.MovingWindowRateLimiter:
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_url))


def _checks(email: str, address: str) -> list[tuple[RateLimitItem, str, str]]:
    return [(ACCOUNT_LIMIT, "account", email.strip().lower()), (ADDRESS_LIMIT, "address", address or "unknown")]


def _refuse_if_throttled(limiter: strategies.MovingWindowRateLimiter, email: str, address: str) -> None:
    for item, scope, key in _checks(email, address):
        if not limiter.test(item, "signin", scope, key):
            reset = limiter.get_window_stats(item, "signin", scope, key).reset_time
            raise TooManyAttemptsError(max(1, math.ceil(reset - time.time())), scope)


def sign_in(db: AppDatabase, email: str, password: str, *, address: str = "",
            storage_url: str = "memory://") -> User | None:
    """The active user with these credentials, ``None`` for wrong ones (audited), or
    :class:`TooManyAttemptsError` while the account or address is throttled (audited too)."""
    limiter = _limiter(storage_url)
    try:
        with _lock:
            _refuse_if_throttled(limiter, email, address)
    except TooManyAttemptsError as exc:
        _audit_failure(db, email, address, "throttled", exc.retry_after_seconds)
        raise
    with db.session() as session:
        user = users.authenticate(session, email, password)
    if user is None:
        with _lock:
            for item, scope, key in _checks(email, address):
                limiter.hit(item, "signin", scope, key)
        _audit_failure(db, email, address, "wrong_credentials", None)
        return None
    limiter.clear(ACCOUNT_LIMIT, "signin", "account", email.strip().lower())
    return user


def _audit_failure(db: AppDatabase, email: str, address: str, why: str, retry_after: int | None) -> None:
    details: dict[str, object] = {"address": address, "why": why}
    if retry_after is not None:
        details["retry_after_seconds"] = retry_after
    with db.session() as session:
        record(session, actor=f"address:{address or 'unknown'}", action="user.login_failed",
               target=email.strip().lower()[:254], details=details)


def reset_throttling() -> None:
    """Forget every count (tests; an admin after a false alarm)."""
    for limiter in (_limiter(url) for url in ("memory://",)):
        limiter.storage.reset()
