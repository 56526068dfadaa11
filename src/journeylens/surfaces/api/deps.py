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
from journeylens.operations import sessions
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
from journeylens.surfaces import policy
from journeylens.surfaces.api import hardening

SESSION_COOKIE = "journeylens_session"
#: Before sign-in, the sign-in form's CSRF token is bound to this cookie's random value.
PRESESSION_COOKIE = "journeylens_presession"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE_SECONDS = sessions.ABSOLUTE_SECONDS
CSRF_MAX_AGE_SECONDS = 12 * 3600
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="journeylens"'}
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOKEN_CHARS = 43  # secrets.token_urlsafe(32)
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


def get_lens(request: Request) -> Iterator[JourneyLens]:
    """A lens of this request's own over the app lens's warehouse.

    One DuckDB cursor must not run queries from two threads at once, and an async route's
    work runs in whatever worker thread is free: so each request checks out a lens (its own
    cursor) for its whole life, never shared with a request running at the same time.
    """
    with lens_pool(request.app.state, get_app_lens(request)).checkout() as lens:
        yield lens


SettingsDep = Annotated[Settings, Depends(get_settings)]
AppDbDep = Annotated[AppDatabase, Depends(get_app_db)]
DbSessionDep = Annotated[Session, Depends(get_db_session, scope="function")]
LensDep = Annotated[JourneyLens, Depends(get_lens, scope="function")]
#: A row id in the URL (ticket, user, annotation, schedule): see surfaces/api/hardening.py.
RowId = hardening.RowId


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

    def may(self, permission: str) -> bool:
        """Whether the caller holds ``permission`` by the access table's rules (role or key scopes)."""
        if self.user is not None:
            return policy.allows(permission, role=self.user.role)
        return policy.allows(permission, scopes=self.scopes)


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


def _session_token(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    return raw if raw and len(raw) == _TOKEN_CHARS and raw.isascii() else None


def _load_user(db: AppDatabase, token: str) -> User | None:
    with db.session() as session:
        return sessions.resolve(session, token)


async def _user_from_cookie(request: Request) -> User | None:
    token = _session_token(request)
    if token is None:
        return None
    if not hasattr(request.state, "jl_user"):
        db = await get_app_db(request)
        request.state.jl_user = await run_in_threadpool(_load_user, db, token)
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
def client_address(request: Request) -> str:
    """The caller's address as the server sees it (a proxy's, behind one)."""
    return request.client.host if request.client is not None else ""


def _start_session(db: AppDatabase, user: User) -> str:
    with db.session() as session:
        return sessions.start(session, user)


async def sign_in(request: Request, response: Response, user: User) -> str:
    """Open a server-side session for ``user`` and set its cookie; returns its CSRF token."""
    settings = get_settings(request)
    token = await run_in_threadpool(_start_session, await get_app_db(request), user)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_MAX_AGE_SECONDS, path="/",
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    response.delete_cookie(PRESESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=settings.secure_cookies)
    return _serializer(settings, "csrf").dumps(_csrf_nonce(token))


def _end_session(db: AppDatabase, token: str) -> None:
    with db.session() as session:
        sessions.end(session, token)


async def sign_out(request: Request, response: Response) -> None:
    """End the session on the server (the cookie stops working everywhere) and delete it."""
    token = _session_token(request)
    if token is not None:
        await run_in_threadpool(_end_session, await get_app_db(request), token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=get_settings(request).secure_cookies)


def _csrf_nonce(session_token: str) -> str:
    return hashlib.sha256(f"csrf:{session_token}".encode()).hexdigest()[:32]


def _bound_nonce(request: Request) -> str | None:
    """What a CSRF token must carry: derived from the session, else the pre-session cookie."""
    token = _session_token(request)
    if token is not None:
        return _csrf_nonce(token)
    presession = request.cookies.get(PRESESSION_COOKIE)
    if presession and len(presession) == _TOKEN_CHARS:
        return _csrf_nonce(presession)
    return None


def csrf_token(request: Request) -> str:
    """A CSRF token for a form or ``X-CSRF-Token``, bound to this client: to its session when
    signed in, else to a random pre-session cookie that :func:`secured_response` sets."""
    nonce = _bound_nonce(request)
    if nonce is None:
        fresh = getattr(request.state, "jl_presession", None) or secrets.token_urlsafe(32)
        request.state.jl_presession = fresh
        nonce = _csrf_nonce(fresh)
    return _serializer(get_settings(request), "csrf").dumps(nonce)


def set_presession_cookie(request: Request, response: Response) -> None:
    """Set the pre-session cookie a fresh CSRF token was bound to (sign-in page)."""
    fresh = getattr(request.state, "jl_presession", None)
    if fresh is not None and _session_token(request) is None:
        response.set_cookie(PRESESSION_COOKIE, fresh, max_age=CSRF_MAX_AGE_SECONDS, path="/", httponly=True,
                            samesite="strict", secure=get_settings(request).secure_cookies)


def verify_csrf(request: Request, token: str | None) -> None:
    """Refuse (403, code ``csrf_failed``) unless ``token`` was issued for this client."""
    expected = _bound_nonce(request)
    try:
        nonce = _serializer(get_settings(request), "csrf").loads(token or "", max_age=CSRF_MAX_AGE_SECONDS)
    except BadData:
        nonce = None
    if expected is None or not isinstance(nonce, str) or not secrets.compare_digest(nonce, expected):
        raise PermissionDeniedError(
            f"Missing or wrong CSRF token: send the token from GET /v1/auth/me in {CSRF_HEADER} "
            "(or the form's csrf_token field).", code="csrf_failed")


async def authorize(request: Request, principal: PrincipalDep) -> None:
    """Apply :data:`journeylens.surfaces.policy.ROUTE_RULES` to every request (an app-wide
    dependency): 401 without credentials, 403 without the permission, 403 for a route that
    has no rule, and a CSRF check for a signed-in user's writes."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    rule = policy.rule_for(request.method, path)
    if rule == policy.PUBLIC:
        return
    if rule is None:
        raise PermissionDeniedError(f"{request.method} {path} has no access rule; add it to "
                                    "journeylens.surfaces.policy.ROUTE_RULES.", code="no_access_rule")
    if principal is None:
        raise unauthorized("Sign in, or send an API key (Authorization: Bearer <key>, HTTP Basic user <key>, "
                           "or X-API-Key).")
    role = principal.user.role if principal.user is not None else None
    if not policy.allows(rule, role=role, scopes=principal.scopes if role is None else (), path=path or ""):
        raise PermissionDeniedError(f"The {principal.kind} {principal.actor!r} may not do this: it needs {rule!r}.",
                                    details={"needed": rule})
    if principal.kind == "user" and request.method not in _SAFE_METHODS:
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            field = (await request.form()).get("csrf_token")
            token = field if isinstance(field, str) else None
        verify_csrf(request, token)


def common_filters(start: str | None = None, end: str | None = None, cohort: str | None = None,
                   channel: str | None = None, stage: str | None = None,
                   touchpoint: str | None = None) -> Filters:
    """The common analysis filters as query parameters (lists comma-separated), as in the CLI."""
    return Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                touchpoint=touchpoint)


FiltersDep = Annotated[Filters, Depends(common_filters)]
