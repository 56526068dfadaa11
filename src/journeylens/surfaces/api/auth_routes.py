"""Sign-in, and (admin only) users and API keys.

    POST   /v1/auth/login      {email, password} -> session cookie + SessionPublic
    POST   /v1/auth/logout
    GET    /v1/auth/me         who is calling (user or key), scopes, CSRF token
    GET    /v1/users           POST /v1/users       PATCH /v1/users/{user_id}
    GET    /v1/keys            POST /v1/keys        DELETE /v1/keys/{prefix}

Routes are thin: each calls one function of :mod:`journeylens.operations.users` or
:mod:`journeylens.operations.keys`; the CLI calls the same ones.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from journeylens.operations import keys, signin, users
from journeylens.operations.auth import ROLE_SCOPES
from journeylens.operations.schemas import (
    KeyCreate,
    KeyCreated,
    KeyList,
    KeyPublic,
    LoginRequest,
    SessionPublic,
    SignedOut,
    UserCreate,
    UserList,
    UserPublic,
    UserUpdate,
)
from journeylens.surfaces.api.deps import (
    AppDbDep,
    DbSessionDep,
    Principal,
    PrincipalDep,
    RowId,
    SettingsDep,
    client_address,
    csrf_token,
    require_scope,
    sign_in,
    sign_out,
    unauthorized,
)

router = APIRouter(prefix="/v1", tags=["auth"])
AdminDep = Annotated[Principal, Depends(require_scope("admin"))]


@router.post("/auth/login", responses={429: {"description": "Too many failed sign-ins (Retry-After)."}})
async def login(body: LoginRequest, request: Request, response: Response, db: AppDbDep,
                settings: SettingsDep) -> SessionPublic:
    """Check email and password (throttled per account and address); on success open a
    server-side session and set its cookie."""
    user = await run_in_threadpool(signin.sign_in, db, body.email, body.password, address=client_address(request))
    if user is None:
        raise unauthorized("The email or password is wrong, or the account is deactivated.")
    token = await sign_in(request, response, user)
    return SessionPublic(kind="user", scopes=sorted(ROLE_SCOPES[user.role]), user=UserPublic.of(user),
                         csrf_token=token)


@router.post("/auth/logout")
async def logout(request: Request, response: Response) -> SignedOut:
    """End this session on the server (a cookie caller sends X-CSRF-Token)."""
    await sign_out(request, response)
    return SignedOut(signed_out=True)


@router.get("/auth/me")
def me(request: Request, principal: PrincipalDep) -> SessionPublic:
    """The caller: a signed-in user (with a CSRF token for writes) or an API key."""
    if principal is None:
        raise unauthorized("Not signed in and no API key sent.")
    if principal.user is not None:
        return SessionPublic(kind="user", scopes=sorted(principal.scopes), user=UserPublic.of(principal.user),
                             csrf_token=csrf_token(request))
    key = KeyPublic.of(principal.key) if principal.key is not None else None
    return SessionPublic(kind="key", scopes=sorted(principal.scopes), key=key)


@router.get("/users")
def list_users(_: AdminDep, session: DbSessionDep) -> UserList:
    return UserList(users=[UserPublic.of(u) for u in users.list_users(session)])


@router.post("/users", status_code=201)
def create_user(body: UserCreate, principal: AdminDep, session: DbSessionDep) -> UserPublic:
    user = users.create_user(session, body.email, body.password, role=body.role, name=body.name,
                             actor=principal.actor)
    return UserPublic.of(user)


@router.patch("/users/{user_id}")
def update_user(user_id: RowId, body: UserUpdate, principal: AdminDep, session: DbSessionDep) -> UserPublic:
    user = users.get_user(session, user_id)
    if body.role is not None:
        users.set_role(session, user_id, body.role, actor=principal.actor)
    if body.password is not None:
        users.set_password(session, user_id, body.password, actor=principal.actor)
    if body.active is True:
        users.activate(session, user_id, actor=principal.actor)
    elif body.active is False:
        users.deactivate(session, user_id, actor=principal.actor)
    return UserPublic.of(user)


@router.get("/keys")
def list_keys(_: AdminDep, session: DbSessionDep, include_revoked: bool = False) -> KeyList:
    return KeyList(keys=[KeyPublic.of(k) for k in keys.list_keys(session, include_revoked=include_revoked)])


@router.post("/keys", status_code=201)
def create_key(body: KeyCreate, principal: AdminDep, session: DbSessionDep) -> KeyCreated:
    """Create a key; the response carries the raw key, which is never shown again."""
    key, raw_key = keys.create_key(session, body.name, body.scopes, created_by=principal.actor)
    return KeyCreated(**KeyPublic.of(key).model_dump(), key=raw_key)


@router.delete("/keys/{prefix}")
def revoke_key(prefix: str, principal: AdminDep, session: DbSessionDep) -> KeyPublic:
    return KeyPublic.of(keys.revoke_key(session, prefix, actor=principal.actor))
