"""Auth through HTTP: API keys (Bearer, Segment-style Basic, X-API-Key), session cookies,
CSRF and role checks, on a tiny app that uses the dependencies of ``surfaces/api/deps.py``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Form, Request
from fastapi.testclient import TestClient

from journeylens.operations import keys, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import User
from journeylens.settings import Settings
from journeylens.surfaces.api import auth_routes
from journeylens.surfaces.api.deps import (
    CSRF_HEADER,
    SESSION_COOKIE,
    CurrentUserDep,
    Principal,
    require_permission,
    require_role,
    require_scope,
    verify_csrf,
)
from journeylens.surfaces.api.errors import install_error_handlers

PASSWORD = "correct horse battery"
SECRET = "a-test-secret-that-is-long-enough"


def make_app(db: AppDatabase, *, secure_cookies: bool = False) -> FastAPI:
    app = FastAPI()
    app.state.settings = Settings(app_database_url=db.url, secret_key=SECRET, secure_cookies=secure_cookies)
    app.state.app_db = db
    install_error_handlers(app)
    app.include_router(auth_routes.router)

    @app.post("/ingest")
    async def ingest(who: Annotated[Principal, Depends(require_scope("ingest"))]) -> dict[str, str]:
        return {"actor": who.actor, "kind": who.kind}

    @app.get("/read")
    def read(who: Annotated[Principal, Depends(require_scope("read"))]) -> dict[str, str]:
        return {"actor": who.actor}

    @app.get("/callbacks")
    def callbacks(user: Annotated[User, Depends(require_role("agent", "admin"))]) -> dict[str, str]:
        return {"user": user.email}

    @app.get("/tickets")
    def tickets(user: Annotated[User, Depends(require_permission("tickets"))]) -> dict[str, str]:
        return {"user": user.email}

    @app.get("/whoami")
    def whoami(user: CurrentUserDep) -> dict[str, str | None]:
        return {"user": user.email if user else None}

    @app.post("/form")
    def form(request: Request, csrf_token: Annotated[str, Form()] = "") -> dict[str, bool]:
        verify_csrf(request, csrf_token)
        return {"ok": True}

    return app


@pytest.fixture
def client(app_db: AppDatabase) -> Iterator[TestClient]:
    with app_db.session() as session:
        for email, role in [("root@example.com", "admin"), ("ana@example.com", "analyst"),
                            ("ag@example.com", "agent"), ("vi@example.com", "viewer")]:
            users.create_user(session, email, PASSWORD, role=role)
    yield TestClient(make_app(app_db))


def _raw_key(db: AppDatabase, *scopes: str) -> str:
    with db.session() as session:
        return keys.create_key(session, "test", list(scopes))[1]


def _login(client: TestClient, email: str) -> str:
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def _assert_error(response, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


# --- API keys -----------------------------------------------------------------------------
def test_no_credentials_get_401_with_a_challenge(client: TestClient) -> None:
    response = client.post("/ingest")
    _assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_scopes_are_enforced_for_each_way_of_sending_a_key(client: TestClient, app_db: AppDatabase) -> None:
    ingest_key, read_key = _raw_key(app_db, "ingest"), _raw_key(app_db, "read")
    ways: list[Callable[[str], dict[str, Any]]] = [
        lambda k: {"headers": {"Authorization": f"Bearer {k}"}},
        lambda k: {"auth": (k, "")},  # Segment: write key as the Basic user name
        lambda k: {"headers": {"X-API-Key": k}}]
    for way in ways:
        ok = client.post("/ingest", **way(ingest_key))
        assert ok.status_code == 200 and ok.json()["kind"] == "key", ok.text
        _assert_error(client.post("/ingest", **way(read_key)), 403, "forbidden")
        assert client.get("/read", **way(read_key)).status_code == 200
        _assert_error(client.get("/read", **way(ingest_key)), 403, "forbidden")


def test_admin_keys_hold_every_scope(client: TestClient, app_db: AppDatabase) -> None:
    admin_key = _raw_key(app_db, "admin")
    assert client.post("/ingest", headers={"X-API-Key": admin_key}).status_code == 200
    assert client.get("/v1/users", headers={"X-API-Key": admin_key}).status_code == 200


@pytest.mark.parametrize("header", ["Bearer nope", "Basic !!!notbase64", "Token abc", "Bearer "])
def test_bad_credentials_are_refused_not_ignored(client: TestClient, header: str) -> None:
    _login(client, "ana@example.com")  # even with a valid session cookie alongside
    _assert_error(client.get("/read", headers={"Authorization": header}), 401, "unauthorized")


def test_keys_through_the_api_and_revocation(client: TestClient, app_db: AppDatabase) -> None:
    admin = {"Authorization": f"Bearer {_raw_key(app_db, 'admin')}"}
    created = client.post("/v1/keys", json={"name": "web collector", "scopes": ["ingest"]}, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"].startswith(f"jl_{body['prefix']}_") and body["scopes"] == ["ingest"]
    collector: dict[str, Any] = {"auth": (body["key"], "")}
    assert client.post("/ingest", **collector).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()["keys"]
    assert body["prefix"] in [k["prefix"] for k in listed] and all("key" not in k for k in listed)

    revoked = client.delete(f"/v1/keys/{body['prefix']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    _assert_error(client.post("/ingest", **collector), 401, "unauthorized")
    _assert_error(client.delete("/v1/keys/00000000", headers=admin), 404, "key_not_found")
    _assert_error(client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}, headers=admin),
                  422, "invalid_scope")


def test_me_describes_a_key(client: TestClient, app_db: AppDatabase) -> None:
    raw = _raw_key(app_db, "ingest")
    body = client.get("/v1/auth/me", headers={"X-API-Key": raw}).json()
    assert body["kind"] == "key" and body["scopes"] == ["ingest"] and body["user"] is None
    assert raw.startswith(f"jl_{body['key']['prefix']}_")


# --- session cookies ----------------------------------------------------------------------
def test_login_sets_a_hardened_cookie_and_me_works(client: TestClient) -> None:
    _assert_error(client.post("/v1/auth/login", json={"email": "ana@example.com", "password": "nope-nope-nope"}),
                  401, "unauthorized")
    response = client.post("/v1/auth/login", json={"email": "ANA@example.com", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    body = response.json()
    assert body["kind"] == "user" and body["user"]["email"] == "ana@example.com"
    assert body["scopes"] == ["ingest", "read"] and "password_hash" not in body["user"]
    me = client.get("/v1/auth/me").json()
    assert me["user"]["email"] == "ana@example.com" and me["csrf_token"]
    assert client.get("/whoami").json() == {"user": "ana@example.com"}


def test_secure_cookies_when_configured(app_db: AppDatabase) -> None:
    with app_db.session() as session:
        users.create_user(session, "ana@example.com", PASSWORD, role="analyst")
    secure = TestClient(make_app(app_db, secure_cookies=True), base_url="https://testserver")
    response = secure.post("/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert "Secure" in response.headers["set-cookie"]


def test_logout_ends_the_session(client: TestClient) -> None:
    _login(client, "ana@example.com")
    assert client.post("/v1/auth/logout").json() == {"signed_out": True}
    _assert_error(client.get("/v1/auth/me"), 401, "unauthorized")


def test_tampered_or_foreign_cookies_are_anonymous(client: TestClient, app_db: AppDatabase) -> None:
    _login(client, "vi@example.com")
    value = client.cookies[SESSION_COOKIE]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
    _assert_error(client.get("/read"), 401, "unauthorized")
    other = TestClient(make_app(AppDatabase("sqlite://")))  # sessions live in the app database
    other.cookies.set(SESSION_COOKIE, value)
    _assert_error(other.get("/read"), 401, "unauthorized")


def test_roles_stand_in_for_scopes(client: TestClient) -> None:
    token = _login(client, "vi@example.com")
    assert client.get("/read").json() == {"actor": "vi@example.com"}
    _assert_error(client.post("/ingest", headers={CSRF_HEADER: token}), 403, "forbidden")
    _assert_error(client.get("/v1/users"), 403, "forbidden")

    token = _login(client, "ana@example.com")
    assert client.post("/ingest", headers={CSRF_HEADER: token}).json()["kind"] == "user"


def test_cookie_writes_need_the_csrf_token(client: TestClient) -> None:
    viewer_token = _login(client, "vi@example.com")
    token = _login(client, "root@example.com")
    new_user = {"email": "new@example.com", "password": PASSWORD, "role": "agent"}
    _assert_error(client.post("/v1/users", json=new_user), 403, "csrf_failed")
    _assert_error(client.post("/v1/users", json=new_user, headers={CSRF_HEADER: "forged"}), 403, "csrf_failed")
    _assert_error(client.post("/v1/users", json=new_user, headers={CSRF_HEADER: viewer_token}),
                  403, "csrf_failed")  # a token of another session
    created = client.post("/v1/users", json=new_user, headers={CSRF_HEADER: token})
    assert created.status_code == 201 and created.json()["role"] == "agent"
    assert client.get("/v1/users").json()["users"][-1]["email"] == "vi@example.com"  # reads need no token


def test_form_csrf_helpers(client: TestClient) -> None:
    _assert_error(client.post("/form", data={"csrf_token": "forged"}), 403, "csrf_failed")
    token = _login(client, "ag@example.com")
    assert client.post("/form", data={"csrf_token": token}).json() == {"ok": True}
    _login(client, "vi@example.com")  # a new session: the old token no longer fits
    _assert_error(client.post("/form", data={"csrf_token": token}), 403, "csrf_failed")


def test_require_role_and_permission(client: TestClient) -> None:
    _assert_error(client.get("/callbacks"), 401, "unauthorized")
    for email, allowed in [("ag@example.com", True), ("root@example.com", True),
                           ("vi@example.com", False), ("ana@example.com", False)]:
        _login(client, email)
        assert (client.get("/callbacks").status_code == 200) is allowed, email
        assert (client.get("/tickets").status_code == 200) is allowed, email


def test_deactivation_and_password_change_end_sessions(client: TestClient, app_db: AppDatabase) -> None:
    _login(client, "ag@example.com")
    with app_db.session() as session:
        users.set_password(session, "ag@example.com", "a brand new passphrase")
    _assert_error(client.get("/callbacks"), 401, "unauthorized")

    token = _login(client, "root@example.com")
    assert client.get("/read").status_code == 200
    agent_id = client.get("/v1/users").json()["users"][0]["id"]
    patched = client.patch(f"/v1/users/{agent_id}", json={"role": "viewer", "active": False},
                           headers={CSRF_HEADER: token})
    assert patched.status_code == 200 and patched.json()["active"] is False and patched.json()["role"] == "viewer"
    reactivated = client.patch(f"/v1/users/{agent_id}", json={"active": True}, headers={CSRF_HEADER: token})
    assert reactivated.json()["active"] is True
    with app_db.session() as session:
        users.set_role(session, "ana@example.com", "admin")
        users.deactivate(session, "root@example.com")
    _assert_error(client.get("/read"), 401, "unauthorized")


def test_create_app_serves_the_auth_routes(app_db: AppDatabase) -> None:
    from journeylens.surfaces.api.app import create_app

    with app_db.session() as session:
        users.create_user(session, "root@example.com", PASSWORD, role="admin")
    app = create_app(Settings(app_database_url=app_db.url, secret_key=SECRET), app_db=app_db)
    api = TestClient(app)
    _login(api, "root@example.com")
    assert [u["email"] for u in api.get("/v1/users").json()["users"]] == ["root@example.com"]


def test_app_database_is_opened_lazily_from_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = FastAPI()
    url = f"sqlite:///{tmp_path / 'lazy.db'}"
    app.state.settings = Settings(app_database_url=url, secret_key=SECRET)
    install_error_handlers(app)
    app.include_router(auth_routes.router)
    _assert_error(TestClient(app).get("/v1/auth/me"), 401, "unauthorized")
    assert not hasattr(app.state, "app_db") or app.state.app_db is None  # no credentials: no database
    response = TestClient(app).get("/v1/users", headers={"X-API-Key": "jl_00000000_" + "x" * 43})
    _assert_error(response, 401, "unauthorized")
    assert isinstance(app.state.app_db, AppDatabase) and (tmp_path / "lazy.db").exists()
    app.state.app_db.dispose()
