"""Sessions that end when they should, keys revoked everywhere within a second, sign-in
throttling with Retry-After and audit, CSRF bound to the client (issue 9 items 3, 4, 6, 9)."""

from __future__ import annotations

import json
import subprocess
import sys
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
    signin.reset_throttling(app_db)
    lens = journeylens.open("duckdb://")
    app = create_app(Settings(warehouse="duckdb://", app_database_url=app_db.url), lens=lens, app_db=app_db)
    yield app, app_db
    signin.reset_throttling(app_db)
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
    answers = [client.post("/v1/auth/login", json=wrong) for _ in range(signin.ACCOUNT_LIMIT)]
    assert [a.status_code for a in answers] == [401] * signin.ACCOUNT_LIMIT
    throttled = client.post("/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(throttled.headers["retry-after"]) <= 15 * 60
    other = client.post("/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
    assert other.status_code == 200  # another account from the same address is still fine
    with db.session() as session:
        failed = [e for e in recent_events(session) if e.action == "user.login_failed"]
    assert len(failed) == signin.ACCOUNT_LIMIT + 1
    assert {e.target for e in failed} == {"ana@example.com"} and all(PASSWORD not in str(e.details) for e in failed)


def test_sign_in_is_throttled_per_address(env: Any) -> None:
    app, _ = env
    client = TestClient(app)
    for i in range(signin.ADDRESS_LIMIT):
        assert client.post("/v1/auth/login", json={"email": f"nobody{i}@example.com", "password": "x"}).status_code == 401
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = client.post("/login", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token})
    assert form.status_code == 429 and "retry-after" in form.headers and "Too many failed sign-ins" in form.text


FAIL_FROM_ANOTHER_PROCESS = """
import json, sys
from journeylens.operations import signin
from journeylens.operations.appdb import AppDatabase
db = AppDatabase(sys.argv[1])
out = []
for _ in range(int(sys.argv[2])):
    try:
        out.append("ok" if signin.sign_in(db, "ana@example.com", sys.argv[3], address=sys.argv[4]) else "wrong")
    except signin.TooManyAttemptsError as exc:
        out.append(f"throttled:{exc.retry_after_seconds}")
print(json.dumps(out))
"""


def _sign_in_elsewhere(app_db: AppDatabase, attempts: int, password: str, address: str) -> list[str]:
    """Sign-in attempts made by a separate Python process on the same app database."""
    done = subprocess.run([sys.executable, "-c", FAIL_FROM_ANOTHER_PROCESS, app_db.url, str(attempts), password,
                           address], capture_output=True, text=True, timeout=300, check=True)
    return list(json.loads(done.stdout))


def test_throttling_holds_across_processes(env: Any) -> None:
    """Failures counted by two server processes add up: the limit is per account, not per process."""
    app, db = env
    first = _sign_in_elsewhere(db, 3, "wrong", "10.0.0.1")
    second = _sign_in_elsewhere(db, 3, "wrong", "10.0.0.2")
    assert first == ["wrong"] * 3 and second[:2] == ["wrong"] * 2 and second[2].startswith("throttled:")
    assert signin.failures(db, "account", "ana@example.com") == signin.ACCOUNT_LIMIT
    answer = TestClient(app).post("/v1/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
    assert answer.status_code == 429 and int(answer.headers["retry-after"]) <= signin.WINDOW_SECONDS
    assert signin.reset_throttling(db) == 2 * signin.ACCOUNT_LIMIT  # one row per account and one per address
    assert _sign_in_elsewhere(db, 1, PASSWORD, "10.0.0.3") == ["ok"]


def test_the_window_moves_on(env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, db = env
    for _ in range(signin.ACCOUNT_LIMIT):
        assert signin.sign_in(db, "ana@example.com", "wrong", address="10.0.0.9") is None
    with pytest.raises(signin.TooManyAttemptsError) as refused:
        signin.sign_in(db, "ana@example.com", PASSWORD, address="10.0.0.9")
    assert 0 < refused.value.retry_after_seconds <= signin.WINDOW_SECONDS
    later = signin.utcnow() + signin.timedelta(seconds=signin.WINDOW_SECONDS + 1)
    monkeypatch.setattr(signin, "utcnow", lambda: later)
    user = signin.sign_in(db, "ana@example.com", PASSWORD, address="10.0.0.9")
    assert user is not None and signin.failures(db, "account", "ana@example.com") == 0


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
