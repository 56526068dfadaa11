"""FastAPI dependencies, as ``Annotated`` aliases: settings, app database, lens, who is calling.

Machines authenticate with an API key, sent as ``Authorization: Bearer <key>``, as the
HTTP Basic *user name* with an empty password (the Segment write-key convention), or as
``X-API-Key``. People authenticate with a signed session cookie set by
``POST /v1/auth/login``; their role stands in for scopes (``read``: any role, ``ingest``:
admin/analyst, ``admin``: admin). A cookie-authenticated write must carry the session's
CSRF token in ``X-CSRF-Token``; HTML forms use :func:`csrf_token` / :func:`verify_csrf`.

    @router.post("/v1/track")
    async def track(principal: Annotated[Principal, Depends(require_scope("ingest"))]): ...

    @router.get("/dashboard")
    def dashboard(user: Annotated[User, Depends(require_role("admin", "analyst"))]): ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request, Response
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from journeylens.analyses.filters import Filters
from journeylens.errors import PermissionDeniedError
from journeylens.lens import JourneyLens
from journeylens.lens_pool import lens_pool
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.auth import (
    PERMISSIONS,
    ROLE_SCOPES,
    SCOPES,
    check_role,
    role_allows,
)
from journeylens.operations.keys import authenticate_key, peek_verified_key
from journeylens.operations.models import ApiKey, User
from journeylens.settings import Settings
from journeylens.settings import get_settings as _default_settings

SESSION_COOKIE = "journeylens_session"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE_SECONDS = 14 * 24 * 3600
CSRF_MAX_AGE_SECONDS = 12 * 3600
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="journeylens"'}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ANONYMOUS = "anonymous"
# Signs cookies when settings.secret_key is empty: sessions then end when the process does.
_PROCESS_SECRET = secrets.token_urlsafe(32)
_state_lock = threading.Lock()


# --- settings, app database, lens ---------------------------------------------------------
def get_settings(request: Request) -> Settings:
    """The app's settings (``app.state.settings``), else those from the environment."""
    settings = getattr(request.app.state, "settings", None)
    return settings if isinstance(settings, Settings) else _default_settings()


def _app_db_now(request: Request) -> AppDatabase:
    return app_database(request.app.state, get_settings(request))


async def get_app_db(request: Request) -> AppDatabase:
    """One :class:`AppDatabase` per app, opened (and migrated) on first use."""
    db = getattr(request.app.state, "app_db", None)
    return db if isinstance(db, AppDatabase) else await run_in_threadpool(_app_db_now, request)


def get_db_session(db: Annotated[AppDatabase, Depends(get_app_db)]) -> Iterator[Session]:
    """A unit of work around the route: committed before the response is sent."""
    with db.session() as session:
        yield session


def get_app_lens(request: Request) -> JourneyLens:
    """The app's lens: ``app.state.lens`` when set, else the warehouse and journey named in the
    settings (opened once). Use :func:`get_lens` in request handlers."""
    return app_lens(request.app.state, get_settings(request))


def app_lens(state: Any, settings: Settings) -> JourneyLens:
    """``state.lens``, opened from ``settings`` on first use (also used outside requests)."""
    with _state_lock:
        if getattr(state, "lens", None) is None:
            import journeylens

            state.lens = journeylens.open(settings.warehouse, settings.journey, settings=settings)
    lens: JourneyLens = state.lens
    return lens


def app_database(state: Any, settings: Settings) -> AppDatabase:
    """``state.app_db``, opened (and migrated) from ``settings`` on first use."""
    with _state_lock:
        if getattr(state, "app_db", None) is None:
            state.app_db = AppDatabase(settings.app_database_url)
    db: AppDatabase = state.app_db
    return db


def get_lens(request: Request) -> JourneyLens:
    """This thread's lens over the app lens's warehouse.

    One DuckDB connection must not run queries from two threads at once, so each request
    thread gets its own lens over a cursor of the app lens's connection.
    """
    return lens_pool(request.app.state, get_app_lens(request)).get()


SettingsDep = Annotated[Settings, Depends(get_settings)]
AppDbDep = Annotated[AppDatabase, Depends(get_app_db)]
DbSessionDep = Annotated[Session, Depends(get_db_session, scope="function")]
LensDep = Annotated[JourneyLens, Depends(get_lens)]


# --- who is calling -----------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """The caller: an API key or a signed-in user, with the scopes it holds."""

    kind: Literal["key", "user", "local"]
    scopes: frozenset[str]
    key: ApiKey | None = None
    user: User | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names the caller: the user's email or ``key:<prefix>``."""
        if self.user is not None:
            return self.user.email
        if self.kind == "local":
            return "cli:local"
        return f"key:{self.key.prefix}" if self.key is not None else "unknown"

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def unauthorized(message: str) -> HTTPException:
    """A 401 in the one error shape (code ``unauthorized``) with a ``WWW-Authenticate`` challenge."""
    return HTTPException(status_code=401, detail=message, headers=WWW_AUTHENTICATE)


def api_key_from_request(request: Request) -> str | None:
    """The API key the request carries (Bearer, Basic user name or X-API-Key), else ``None``.

    A malformed ``Authorization`` header yields ``""`` so that it is refused, not ignored.
    """
    header = request.headers.get("authorization")
    if header:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            return credentials.strip()
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return ""
            user, _, password = decoded.partition(":")
            return user or password  # Segment sends the write key as the user name
        return ""
    return request.headers.get("x-api-key")


def _serializer(settings: Settings, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key or _PROCESS_SECRET, salt=f"journeylens.{purpose}")


def _password_stamp(user: User) -> str:
    # Changing the password ends every other session of the user.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _session_payload(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        payload = _serializer(get_settings(request), "session").loads(raw, max_age=SESSION_MAX_AGE_SECONDS)
    except BadData:
        return None
    ok = isinstance(payload, dict) and isinstance(payload.get("uid"), int) and isinstance(payload.get("n"), str)
    return payload if ok else None


def _load_user(db: AppDatabase, payload: dict[str, Any]) -> User | None:
    with db.session() as session:
        user = session.get(User, payload["uid"])
        if user is None or not user.active or payload.get("pw") != _password_stamp(user):
            return None
        return user


async def _user_from_cookie(request: Request) -> User | None:
    payload = _session_payload(request)
    if payload is None:
        return None
    if not hasattr(request.state, "jl_user"):
        db = await get_app_db(request)
        request.state.jl_user = await run_in_threadpool(_load_user, db, payload)
    user: User | None = request.state.jl_user
    return user


def _authenticate_key_now(db: AppDatabase, raw_key: str) -> ApiKey | None:
    with db.session() as session:
        return authenticate_key(session, raw_key)


async def _key_principal(request: Request, raw_key: str) -> Principal:
    db = await get_app_db(request)
    key = peek_verified_key(db.engine, raw_key) if raw_key else None
    if key is None and raw_key:
        key = await run_in_threadpool(_authenticate_key_now, db, raw_key)
    if key is None:
        raise unauthorized("The API key is missing, malformed, unknown or revoked.")
    granted = frozenset(SCOPES) if key.has_scope("admin") else frozenset(key.scope_list)
    return Principal(kind="key", scopes=granted, key=key)


async def get_principal(request: Request) -> Principal | None:
    """The caller, or ``None`` when the request carries no credentials at all.

    Credentials that are present but wrong are refused (401), never treated as anonymous.
    """
    raw_key = api_key_from_request(request)
    local_token = getattr(request.app.state, "local_token", None)
    if raw_key and isinstance(local_token, str) and secrets.compare_digest(raw_key, local_token):
        # The token of the server's marker file: CLI commands run beside the server (read only).
        return Principal(kind="local", scopes=frozenset({"read"}))
    if raw_key is not None:
        return await _key_principal(request, raw_key)
    user = await _user_from_cookie(request)
    if user is None:
        return None
    return Principal(kind="user", scopes=ROLE_SCOPES.get(user.role, frozenset()), user=user)


async def get_current_user(request: Request) -> User | None:
    """The signed-in web user (session cookie), or ``None``."""
    return await _user_from_cookie(request)


PrincipalDep = Annotated[Principal | None, Depends(get_principal)]
CurrentUserDep = Annotated[User | None, Depends(get_current_user)]


def require_scope(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting an API key with ``scope``, or a signed-in user whose role grants it."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        if principal is None:
            raise unauthorized(f"This endpoint needs the {scope!r} scope: send an API key "
                               "(Authorization: Bearer <key>, HTTP Basic user <key>, or X-API-Key) "
                               "or sign in.")
        if not principal.allows(scope):
            raise PermissionDeniedError(f"The {principal.kind} {principal.actor!r} lacks the {scope!r} scope.",
                                        details={"needed": scope, "granted": sorted(principal.scopes)})
        if principal.kind == "user" and request.method not in _SAFE_METHODS:
            verify_csrf(request, request.headers.get(CSRF_HEADER))
        return principal

    return dependency


def require_role(*roles: str) -> Callable[..., Awaitable[User]]:
    """A dependency admitting a signed-in user with one of ``roles`` (any role when none given)."""
    for role in roles:
        check_role(role)

    async def dependency(user: CurrentUserDep) -> User:
        if user is None:
            raise unauthorized("Sign in first.")
        if roles and user.role not in roles:
            raise PermissionDeniedError(f"Role {user.role!r} may not do this; needed: {', '.join(roles)}.",
                                        details={"needed": list(roles), "role": user.role})
        return user

    return dependency


def require_permission(permission: str) -> Callable[..., Awaitable[User]]:
    """A dependency admitting a signed-in user whose role holds ``permission`` (e.g. ``tickets``)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; allowed: {', '.join(PERMISSIONS)}")

    async def dependency(user: CurrentUserDep) -> User:
        if user is None:
            raise unauthorized("Sign in first.")
        if not role_allows(user.role, permission):
            raise PermissionDeniedError(f"Role {user.role!r} lacks the {permission!r} permission.",
                                        details={"needed": permission, "role": user.role})
        return user

    return dependency


# --- session cookies and CSRF ---------------------------------------------------------------
def sign_in(request: Request, response: Response, user: User) -> str:
    """Set the session cookie for ``user`` on ``response``; returns the session's CSRF token."""
    settings = get_settings(request)
    nonce = secrets.token_urlsafe(16)
    value = _serializer(settings, "session").dumps({"uid": user.id, "n": nonce, "pw": _password_stamp(user)})
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_MAX_AGE_SECONDS, path="/",
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    return _serializer(settings, "csrf").dumps(nonce)


def sign_out(request: Request, response: Response) -> None:
    """Delete the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=get_settings(request).secure_cookies)


def csrf_token(request: Request) -> str:
    """A CSRF token for a form or ``X-CSRF-Token``: bound to the session when signed in.

    Without a session (the sign-in form) the token only proves that it was issued by this
    server recently; the sign-in itself is protected by SameSite cookies.
    """
    payload = _session_payload(request)
    nonce = payload["n"] if payload is not None else _ANONYMOUS
    return _serializer(get_settings(request), "csrf").dumps(nonce)


def verify_csrf(request: Request, token: str | None) -> None:
    """Refuse (403, code ``csrf_failed``) unless ``token`` was issued for this session."""
    payload = _session_payload(request)
    expected = payload["n"] if payload is not None else _ANONYMOUS
    try:
        nonce = _serializer(get_settings(request), "csrf").loads(token or "", max_age=CSRF_MAX_AGE_SECONDS)
    except BadData:
        nonce = None
    if not isinstance(nonce, str) or not secrets.compare_digest(nonce, expected):
        raise PermissionDeniedError(
            f"Missing or wrong CSRF token: send the token from GET /v1/auth/me in {CSRF_HEADER} "
            "(or the form's csrf_token field).", code="csrf_failed")


def common_filters(start: str | None = None, end: str | None = None, cohort: str | None = None,
                   channel: str | None = None, stage: str | None = None,
                   touchpoint: str | None = None) -> Filters:
    """The common analysis filters as query parameters (lists comma-separated), as in the CLI."""
    return Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                touchpoint=touchpoint)


FiltersDep = Annotated[Filters, Depends(common_filters)]
