"""``journeylens user …`` and ``journeylens key …``: people and API keys in the app database.

    journeylens user add ana@example.com --role admin      # prompts for the password
    journeylens user list --json
    journeylens key create "web collector" --scope ingest   # prints the raw key once
    journeylens key list
    journeylens key revoke 1a2b3c4d

The app database is ``--app-db URL`` or ``JOURNEYLENS_APP_DATABASE_URL`` (default
``sqlite:///journeylens.db``); it is migrated to the current schema when opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import typer
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError
from journeylens.operations import keys, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.auth import ROLES, SCOPES
from journeylens.operations.schemas import KeyCreated, KeyList, KeyPublic, UserList, UserPublic
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx

T = TypeVar("T")
ACTOR = "cli"

user_app = typer.Typer(help="People who sign in to the dashboard and HTTP API.", no_args_is_help=True)
key_app = typer.Typer(help="API keys for the collector, SDKs and scripts.", no_args_is_help=True)

AppDbOption = Annotated[str | None, typer.Option(
    "--app-db", envvar="JOURNEYLENS_APP_DATABASE_URL",
    help="App database URL (sqlite:///PATH or postgresql+psycopg://…); default from settings.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the HTTP API's JSON shape.")]


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(key_app, name="key")


@contextmanager
def _unit_of_work(ctx: typer.Context, app_db: str | None) -> Iterator[Session]:
    database = AppDatabase(app_db or get_ctx(ctx).settings.app_database_url)
    try:
        with database.session() as session:
            yield session
    finally:
        database.dispose()


def _run(ctx: typer.Context, app_db: str | None, as_json: bool, work: Callable[[Session], T]) -> T:
    """Run ``work`` in one committed unit of work; errors end the command with the one error shape."""
    try:
        with _unit_of_work(ctx, app_db) as session:
            return work(session)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        raise  # unreachable: fail() exits


def _user_rows(public: list[UserPublic]) -> list[dict[str, object]]:
    return [u.model_dump(include={"id", "email", "name", "role", "active", "last_login_at"}) for u in public]



def _emit_user(user: UserPublic, as_json: bool, message: str) -> None:
    """The user as JSON with --json, else one line for a person."""
    if as_json:
        emit_json(user.model_dump(mode="json"))
    else:
        console.print(message)

@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="Email address (the sign-in name).")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")] = "viewer",
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    password: Annotated[str | None, typer.Option(
        "--password", help="At least 10 characters; prompted for (hidden) when left out.")] = None,
    app_db: AppDbOption = None,
    as_json: JsonOption = False,
    exist_ok: Annotated[bool, typer.Option(
        "--exist-ok", help="Succeed without changing anything when the user exists already.")] = False,
) -> None:
    """Create a user (start with the first admin)."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    def work(session: Session) -> tuple[UserPublic, bool]:
        existing = users.find_user(session, email) if exist_ok else None
        if existing is not None:
            return UserPublic.of(existing), False
        return UserPublic.of(users.create_user(session, email, password, role=role, name=name, actor=ACTOR)), True

    user, created = _run(ctx, app_db, as_json, work)
    if as_json:
        emit_json(user.model_dump(mode="json"))
    elif created:
        console.print(f"Created {user.role} [bold]{user.email}[/bold] (id {user.id}).")
    else:
        console.print(f"{user.email} exists already ({user.role}); left unchanged.")


@user_app.command("list")
def user_list(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """List users."""
    listing = _run(ctx, app_db, as_json,
                   lambda s: UserList(users=[UserPublic.of(u) for u in users.list_users(s)]))
    if as_json:
        emit_json(listing.model_dump(mode="json"))
    else:
        emit_table(_user_rows(listing.users), title="Users")


@user_app.command("set-role")
def user_set_role(ctx: typer.Context, email: str, role: str, app_db: AppDbOption = None,
                  as_json: JsonOption = False) -> None:
    """Give a user another role."""
    user = _run(ctx, app_db, as_json, lambda s: UserPublic.of(users.set_role(s, email, role, actor=ACTOR)))
    _emit_user(user, as_json, f"{user.email} is now {user.role}.")


@user_app.command("deactivate")
def user_deactivate(ctx: typer.Context, email: str, app_db: AppDbOption = None,
                    as_json: JsonOption = False) -> None:
    """Stop a user from signing in (their sessions end too)."""
    user = _run(ctx, app_db, as_json, lambda s: UserPublic.of(users.deactivate(s, email, actor=ACTOR)))
    _emit_user(user, as_json, f"{user.email} is deactivated.")


@user_app.command("activate")
def user_activate(ctx: typer.Context, email: str, app_db: AppDbOption = None,
                  as_json: JsonOption = False) -> None:
    """Let a deactivated user sign in again."""
    user = _run(ctx, app_db, as_json, lambda s: UserPublic.of(users.activate(s, email, actor=ACTOR)))
    _emit_user(user, as_json, f"{user.email} is active.")


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'web collector'.")],
    scope: Annotated[list[str], typer.Option(
        "--scope", help=f"Repeat for several: {', '.join(SCOPES)}.")] = ["ingest"],  # noqa: B006
    app_db: AppDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    def work(session: Session) -> KeyCreated:
        key, raw_key = keys.create_key(session, name, scope, created_by=ACTOR)
        return KeyCreated(**KeyPublic.of(key).model_dump(), key=raw_key)

    created = _run(ctx, app_db, as_json, work)
    if as_json:
        emit_json(created.model_dump(mode="json"))
        return
    console.print(f"Created key [bold]{created.name}[/bold] (prefix {created.prefix}, "
                  f"scopes {', '.join(created.scopes)}). Store it now; it is not shown again:")
    console.print(created.key, soft_wrap=True, highlight=False)


@key_app.command("list")
def key_list(
    ctx: typer.Context,
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    app_db: AppDbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List API keys (prefixes only; secrets are never shown again)."""
    listing = _run(ctx, app_db, as_json, lambda s: KeyList(
        keys=[KeyPublic.of(k) for k in keys.list_keys(s, include_revoked=include_revoked)]))
    if as_json:
        emit_json(listing.model_dump(mode="json"))
    else:
        emit_table([k.model_dump(exclude={"id"}) for k in listing.keys], title="API keys")


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, prefix: str, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Revoke the key with PREFIX (as shown by `journeylens key list`)."""
    key = _run(ctx, app_db, as_json, lambda s: KeyPublic.of(keys.revoke_key(s, prefix, actor=ACTOR)))
    if as_json:
        emit_json(key.model_dump(mode="json"))
    else:
        console.print(f"Revoked key {key.prefix} ({key.name}).")
