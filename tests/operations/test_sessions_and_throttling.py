"""Sessions that end when they should, keys revoked everywhere within a second, sign-in
throttling with Retry-After and audit, CSRF bound to the client (issue 9 items 3, 4, 6, 9)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import journeylens
from journeylens.operations import keys, signin, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import recent_events
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.api.deps import CSRF_HEADER, PRESESSION_COOKIE, SESSION_COOKIE
from journeylens.surfaces.cli.main import app as cli

PASSWORD = "correct horse battery"


@pytest.fixture
def env(app_db: AppDatabase) -> Any:
    with app_db.session() as session:
        users.create_user(session, "ana@example.com", PASSWORD, role="analyst")
        users.create_user(session, "root@example.com", PASSWORD, role="admin")
    signin.reset_throttling()
    lens = journeylens.open("duckdb://")
    app = create_app(Settings(warehouse="duckdb://", app_database_url=app_db.url), lens=lens, app_db=app_db)
    yield app, app_db
    signin.reset_throttling()
    lens.warehouse.close()


def _login(client: TestClient, email: str = "ana@example.com") -> str:
    response = client.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def test_sign_out_ends_the_session_on_the_server(env: Any) -> None:
    app, _ = env
    client = TestClient(app)
    token = _login(client)
    stolen = client.cookies[SESSION_COOKIE]
    assert client.post("/v1/auth/logout").status_code == 403  # a cookie sign-out needs the CSRF token
    assert client.post("/v1/auth/logout", headers={CSRF_HEADER: token}).json() == {"signed_out": True}
    thief = TestClient(app)
    thief.cookies.set(SESSION_COOKIE, stolen)  # the old cookie, replayed
    assert thief.get("/v1/auth/me").status_code == 401
    assert thief.get("/settings", follow_redirects=False).status_code == 303


def test_deactivation_and_password_change_end_open_sessions_at_once(env: Any) -> None:
    app, db = env
    first, second = TestClient(app), TestClient(app)
    _login(first)
    _login(second)
    with db.session() as session:
        users.set_password(session, "ana@example.com", "another long passphrase")
    assert first.get("/v1/auth/me").status_code == 401 and second.get("/v1/auth/me").status_code == 401
    admin = TestClient(app)
    _login(admin, "root@example.com")
    with db.session() as session:
        users.create_user(session, "bo@example.com", PASSWORD, role="viewer")
    viewer = TestClient(app)
    _login(viewer, "bo@example.com")
    with db.session() as session:
        users.deactivate(session, "bo@example.com")
    assert viewer.get("/v1/auth/me").status_code == 401 and admin.get("/v1/auth/me").status_code == 200


def test_a_key_revoked_from_the_cli_stops_working_within_a_second(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, db = env
    with db.session() as session:
        key, raw = keys.create_key(session, "script", ["read"])
    client = TestClient(app)
    assert client.get("/v1/auth/me", headers={"authorization": f"Bearer {raw}"}).status_code == 200  # cached now
    result = CliRunner().invoke(cli, ["key", "revoke", key.prefix, "--app-db", db.url])  # its own engine
    assert result.exit_code == 0, result.output
    assert keys.CACHE_TTL_SECONDS <= 1.0
    later = time.monotonic() + keys.CACHE_TTL_SECONDS + 0.001
    monkeypatch.setattr(keys.time, "monotonic", lambda: later)
    assert client.get("/v1/auth/me", headers={"authorization": f"Bearer {raw}"}).status_code == 401


def test_sign_in_is_throttled_per_account_and_audited(env: Any) -> None:
    app, db = env
    client = TestClient(app)
    wrong = {"email": "ana@example.com", "password": "not the password"}
    answers = [client.post("/v1/auth/login", json=wrong) for _ in range(signin.ACCOUNT_LIMIT.amount)]
    assert [a.status_code for a in answers] == [401] * signin.ACCOUNT_LIMIT.amount
    throttled = client.post("/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
    other = client.post("/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    assert other.status_code == 200  # another account from the same address is still fine
    with db.session() as session:
        failed = [e for e in recent_events(session) if e.action == "user.login_failed"]
    assert len(failed) == signin.ACCOUNT_LIMIT.amount + 1
    assert {e.target for e in failed} == {"ana@example.com"} and all(PASSWORD not in str(e.details) for e in failed)


def test_sign_in_is_throttled_per_address(env: Any) -> None:
    app, _ = env
    client = TestClient(app)
    for i in range(signin.ADDRESS_LIMIT.amount):
        assert client.post("/v1/auth/login", json={"email": f"nobody{i}@example.com", "password": "x"}).status_code == 401
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token})
    assert form.status_code == 429 and "retry-after" in form.headers and "Too many failed sign-ins" in form.text


def test_the_sign_in_forms_csrf_token_is_bound_to_the_browser(env: Any) -> None:
    app, _ = env
    alice, mallory = TestClient(app), TestClient(app)
    page = mallory.get("/login")
    assert PRESESSION_COOKIE in mallory.cookies
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    alice.get("/login")
    forced = alice.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token},
                        follow_redirects=False)  # login CSRF with the attacker's token
    assert forced.status_code == 403
    own = mallory.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token},
                       follow_redirects=False)
    assert own.status_code == 303
