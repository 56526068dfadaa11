"""The public shapes of users, keys and sessions: one schema family per resource.

The HTTP API returns these and the CLI's ``--json`` prints the same ``model_dump``, so a
user or key looks alike on every surface. Secrets never appear except in
:class:`KeyCreated`, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from journeylens.operations.models import ApiKey, User


class LoginRequest(BaseModel):
    email: str = Field(description="The user's email address (any case).")
    password: str


class UserCreate(BaseModel):
    email: str
    password: str = Field(description="At least 10 characters.")
    role: str = Field(default="viewer", description="admin, analyst, agent or viewer.")
    name: str = ""


class UserUpdate(BaseModel):
    """Fields to change; those left out stay as they are."""

    role: str | None = None
    active: bool | None = Field(default=None, description="false deactivates the user, true re-activates.")
    password: str | None = None


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    name: str
    role: str
    active: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserPublic:
        return cls.model_validate(user)


class UserList(BaseModel):
    users: list[UserPublic]


class KeyCreate(BaseModel):
    name: str = Field(description="What the key is for, e.g. 'web collector'.")
    scopes: list[str] = Field(description="Any of ingest, read, admin, tickets.", min_length=1)


class KeyPublic(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="First 8 characters after 'jl_', enough to recognise and revoke it.")
    scopes: list[str]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(id=key.id, name=key.name, prefix=key.prefix, scopes=list(key.scope_list),
                   created_by=key.created_by, created_at=key.created_at,
                   last_used_at=key.last_used_at, revoked_at=key.revoked_at)


class KeyCreated(KeyPublic):
    key: str = Field(description="The raw key. Shown this once; store it now.")


class KeyList(BaseModel):
    keys: list[KeyPublic]


class SessionPublic(BaseModel):
    """Who is calling: a signed-in user or an API key, with the scopes it holds."""

    kind: Literal["user", "key"]
    scopes: list[str]
    user: UserPublic | None = None
    key: KeyPublic | None = None
    csrf_token: str | None = Field(default=None, description="Send as X-CSRF-Token on cookie-authenticated writes.")


class SignedOut(BaseModel):
    """The answer to a sign-out: the session is ended on the server."""

    signed_out: bool
