"""People: create, authenticate, change role, deactivate, list.

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")
>>> with db.session() as s:
...     _ = create_user(s, "Ana@Example.com", "a long passphrase", role="analyst")
>>> with db.session() as s:
...     authenticate(s, "ana@example.com", "a long passphrase").role
'analyst'
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError, NotFoundError, ParameterError
from journeylens.operations import sessions
from journeylens.operations.audit import record
from journeylens.operations.auth import (
    MIN_PASSWORD_CHARS,
    check_role,
    dummy_password_hash,
    hash_password,
    password_needs_rehash,
    verify_password,
)
from journeylens.operations.models import User, utcnow

# Deliberately simple: one @, no spaces, a dot in the domain. Delivery proves the rest.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AlreadyExistsError(JourneyLensError):
    """A record with the same unique key exists already."""

    code = "already_exists"
    http_status = 409


def normalize_email(email: str) -> str:
    """Trim and lower-case ``email``; raise :class:`ParameterError` when it is not one."""
    cleaned = email.strip().lower()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise ParameterError(f"{email!r} is not an email address (expected name@domain.tld).",
                             code="invalid_email")
    return cleaned


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ParameterError(f"The password is too short: use at least {MIN_PASSWORD_CHARS} characters.",
                             code="weak_password", details={"min_chars": MIN_PASSWORD_CHARS})
    return password


def create_user(session: Session, email: str, password: str, *, role: str = "viewer",
                name: str = "", actor: str = "system") -> User:
    """Create an active user; the email is unique (case-insensitive)."""
    email = normalize_email(email)
    check_role(role)
    check_password(password)
    if find_user(session, email) is not None:
        raise AlreadyExistsError(f"A user with email {email!r} exists already.", details={"email": email})
    user = User(email=email, name=name.strip(), password_hash=hash_password(password), role=role,
                active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    record(session, actor=actor, action="user.create", target=email, details={"role": role})
    return user


def find_user(session: Session, email: str) -> User | None:
    """The user with ``email`` (any case), active or not, or ``None``."""
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, email_or_id: str | int) -> User:
    """The user with this email or id; :class:`NotFoundError` when there is none."""
    user = (session.get(User, email_or_id) if isinstance(email_or_id, int)
            else find_user(session, email_or_id))
    if user is None:
        raise NotFoundError(f"No user {email_or_id!r}.", code="user_not_found")
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or ``None``.

    A password is checked even when the user does not exist, so that the answer takes
    about as long either way. A successful sign-in records ``last_login_at``.
    """
    user = find_user(session, email)
    if user is None or not user.active:
        verify_password(dummy_password_hash(), password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    record(session, actor=user.email, action="user.login", target=user.email)
    return user


def set_role(session: Session, email_or_id: str | int, role: str, *, actor: str = "system") -> User:
    """Give a user another role; refuses to demote the last active admin."""
    user = get_user(session, email_or_id)
    check_role(role)
    if user.role == "admin" and role != "admin":
        _refuse_last_admin(session, user)
    record(session, actor=actor, action="user.set_role", target=user.email,
           details={"from": user.role, "to": role})
    user.role = role
    return user


def set_password(session: Session, email_or_id: str | int, password: str, *, actor: str = "system") -> User:
    user = get_user(session, email_or_id)
    user.password_hash = hash_password(check_password(password))
    ended = sessions.end_all(session, user.id, "password changed")
    record(session, actor=actor, action="user.set_password", target=user.email, details={"sessions_ended": ended})
    return user


def deactivate(session: Session, email_or_id: str | int, *, actor: str = "system") -> User:
    """Stop a user from signing in (their open sessions stop working too)."""
    user = get_user(session, email_or_id)
    if user.role == "admin" and user.active:
        _refuse_last_admin(session, user)
    user.active = False
    ended = sessions.end_all(session, user.id, "deactivated")
    record(session, actor=actor, action="user.deactivate", target=user.email, details={"sessions_ended": ended})
    return user


def activate(session: Session, email_or_id: str | int, *, actor: str = "system") -> User:
    """Let a deactivated user sign in again."""
    user = get_user(session, email_or_id)
    if not user.active:
        user.active = True
        record(session, actor=actor, action="user.activate", target=user.email)
    return user


def list_users(session: Session, *, include_inactive: bool = True) -> list[User]:
    """Users ordered by email."""
    query = select(User).order_by(User.email)
    if not include_inactive:
        query = query.where(User.active.is_(True))
    return list(session.scalars(query))


def _refuse_last_admin(session: Session, user: User) -> None:
    admins = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != user.id))
    if not admins:
        raise ParameterError(f"{user.email} is the last active admin; make another admin first.",
                             code="last_admin")
