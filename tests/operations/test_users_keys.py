from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import event, select, update

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations import keys, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.audit import recent_events
from journeylens.operations.auth import role_allows, role_grants_scope
from journeylens.operations.models import ApiKey, User

PASSWORD = "correct horse battery"


def _add(db: AppDatabase, email: str, role: str = "viewer") -> User:
    with db.session() as session:
        return users.create_user(session, email, PASSWORD, role=role)


# --- users --------------------------------------------------------------------------------
def test_create_user_normalizes_email_and_hashes_with_argon2(app_db: AppDatabase) -> None:
    user = _add(app_db, "  Ana@Example.COM ", role="analyst")
    assert user.email == "ana@example.com" and user.role == "analyst" and user.active
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    with app_db.session() as session:
        assert [e.action for e in recent_events(session)] == ["user.create"]


def test_email_is_unique_ignoring_case(app_db: AppDatabase) -> None:
    _add(app_db, "ana@example.com")
    with pytest.raises(users.AlreadyExistsError) as caught, app_db.session() as session:
        users.create_user(session, "ANA@example.com", PASSWORD)
    assert caught.value.http_status == 409


@pytest.mark.parametrize(("email", "password", "role", "code"), [
    ("not-an-email", PASSWORD, "viewer", "invalid_email"),
    ("a@b", PASSWORD, "viewer", "invalid_email"),
    ("a@example.com", "short", "viewer", "weak_password"),
    ("a@example.com", PASSWORD, "root", "invalid_role"),
])
def test_create_user_refuses_bad_input(app_db: AppDatabase, email: str, password: str, role: str,
                                       code: str) -> None:
    with pytest.raises(ParameterError) as caught, app_db.session() as session:
        users.create_user(session, email, password, role=role)
    assert caught.value.code == code


def test_authenticate(app_db: AppDatabase) -> None:
    _add(app_db, "ana@example.com")
    with app_db.session() as session:
        assert users.authenticate(session, "ana@example.com", "wrong password") is None
        assert users.authenticate(session, "nobody@example.com", PASSWORD) is None
        user = users.authenticate(session, "ANA@example.com", PASSWORD)
        assert user is not None and user.last_login_at is not None
    with app_db.session() as session:
        users.deactivate(session, "ana@example.com")
    with app_db.session() as session:
        assert users.authenticate(session, "ana@example.com", PASSWORD) is None
        users.activate(session, "ana@example.com")
    with app_db.session() as session:
        assert users.authenticate(session, "ana@example.com", PASSWORD) is not None


def test_unknown_users_still_cost_a_password_check(app_db: AppDatabase, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    checked: list[str] = []
    real = users.verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(users, "verify_password", spy)
    with app_db.session() as session:
        assert users.authenticate(session, "nobody@example.com", PASSWORD) is None
    assert checked == [users.dummy_password_hash()]


def test_set_role_deactivate_and_list(app_db: AppDatabase) -> None:
    _add(app_db, "root@example.com", role="admin")
    _add(app_db, "bo@example.com")
    with app_db.session() as session:
        assert users.set_role(session, "bo@example.com", "agent").role == "agent"
        users.deactivate(session, "bo@example.com")
    with app_db.session() as session:
        assert [u.email for u in users.list_users(session)] == ["bo@example.com", "root@example.com"]
        assert [u.email for u in users.list_users(session, include_inactive=False)] == ["root@example.com"]
        with pytest.raises(NotFoundError):
            users.set_role(session, "ghost@example.com", "viewer")


def test_the_last_admin_cannot_be_demoted_or_deactivated(app_db: AppDatabase) -> None:
    _add(app_db, "root@example.com", role="admin")
    for change in (lambda s: users.set_role(s, "root@example.com", "viewer"),
                   lambda s: users.deactivate(s, "root@example.com")):
        with pytest.raises(ParameterError, match="last active admin"), app_db.session() as session:
            change(session)
    _add(app_db, "second@example.com", role="admin")
    with app_db.session() as session:
        assert users.set_role(session, "root@example.com", "viewer").role == "viewer"


def test_role_permission_maps() -> None:
    assert role_allows("admin", "tickets") and role_allows("analyst", "journey.edit")
    assert role_allows("agent", "customer.lookup") and not role_allows("agent", "ingest")
    assert role_allows("viewer", "read") and not role_allows("viewer", "journey.edit")
    assert all(role_grants_scope(r, "read") for r in ("admin", "analyst", "viewer"))
    assert not role_grants_scope("agent", "read")  # agents look up customers, they do not read analyses
    assert [r for r in ("admin", "analyst", "agent", "viewer") if role_grants_scope(r, "ingest")] == [
        "admin", "analyst"]
    assert [r for r in ("admin", "analyst", "agent", "viewer") if role_grants_scope(r, "admin")] == ["admin"]


# --- API keys -----------------------------------------------------------------------------
def _key(db: AppDatabase, *scopes: str) -> tuple[ApiKey, str]:
    with db.session() as session:
        return keys.create_key(session, "collector", list(scopes), created_by="test")


def test_create_key_stores_only_a_hash(app_db: AppDatabase) -> None:
    key, raw = _key(app_db, "read", "ingest", "read")
    assert re.fullmatch(r"jl_[0-9a-f]{8}_[A-Za-z0-9_-]{40,}", raw)
    assert raw.startswith(f"jl_{key.prefix}_")
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert key.scopes == "ingest,read" and key.scope_list == ("ingest", "read")
    with app_db.session() as session:
        stored = session.scalar(select(ApiKey))
        assert stored is not None and raw.split("_", 2)[2] not in str(vars(stored))


@pytest.mark.parametrize(("name", "scopes"), [("x", ["write"]), ("x", []), ("  ", ["read"])])
def test_create_key_refuses_bad_input(app_db: AppDatabase, name: str, scopes: list[str]) -> None:
    with pytest.raises(ParameterError), app_db.session() as session:
        keys.create_key(session, name, scopes)


def test_authenticate_key(app_db: AppDatabase) -> None:
    key, raw = _key(app_db, "ingest")
    other_prefix = "0" * 8 if key.prefix != "0" * 8 else "1" * 8
    with app_db.session() as session:
        found = keys.authenticate_key(session, raw)
        assert found is not None and found.id == key.id and found.has_scope("ingest")
        assert not found.has_scope("read")
        assert keys.authenticate_key(session, raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
        assert keys.authenticate_key(session, raw.replace(key.prefix, other_prefix)) is None
        for junk in ("", "jl_", "Bearer x", raw + " extra"):
            assert keys.authenticate_key(session, junk) is None


def test_revoked_keys_are_refused_even_when_cached(app_db: AppDatabase) -> None:
    key, raw = _key(app_db, "ingest")
    with app_db.session() as session:
        assert keys.authenticate_key(session, raw) is not None  # now cached
        keys.revoke_key(session, key.prefix)
    with app_db.session() as session:
        assert keys.authenticate_key(session, raw) is None
        assert keys.list_keys(session) == []
        assert [k.prefix for k in keys.list_keys(session, include_revoked=True)] == [key.prefix]
        with pytest.raises(NotFoundError):
            keys.revoke_key(session, "ffffffff0")


def test_verified_keys_are_served_from_the_cache(app_db: AppDatabase) -> None:
    _, raw = _key(app_db, "ingest")
    statements: list[str] = []
    event.listen(app_db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    with app_db.session() as session:
        assert keys.authenticate_key(session, raw) is not None
    first = len(statements)
    assert first >= 2  # the lookup by prefix and the last_used_at write
    with app_db.session() as session:
        for _ in range(50):
            assert keys.authenticate_key(session, raw) is not None
    assert len(statements) == first
    assert keys.peek_verified_key(app_db.engine, raw) is not None


def test_last_used_at_is_written_at_most_once_per_interval(app_db: AppDatabase, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    key, raw = _key(app_db, "ingest")
    with app_db.session() as session:
        keys.authenticate_key(session, raw)
    with app_db.session() as session:
        assert session.get(ApiKey, key.id).last_used_at is not None  # type: ignore[union-attr]
        session.execute(update(ApiKey).values(last_used_at=None))
    with app_db.session() as session:
        keys.authenticate_key(session, raw)
    with app_db.session() as session:
        assert session.get(ApiKey, key.id).last_used_at is None  # type: ignore[union-attr]
    monkeypatch.setattr(keys, "LAST_USED_RESOLUTION_SECONDS", 0.0)
    assert keys.peek_verified_key(app_db.engine, raw) is None  # a write is due: not served from cache
    with app_db.session() as session:
        keys.authenticate_key(session, raw)
    with app_db.session() as session:
        assert session.get(ApiKey, key.id).last_used_at is not None  # type: ignore[union-attr]


def test_a_key_is_only_valid_in_its_own_database(app_db: AppDatabase) -> None:
    _, raw = _key(app_db, "ingest")
    with app_db.session() as session:
        assert keys.authenticate_key(session, raw) is not None
    elsewhere = AppDatabase("sqlite://")
    with elsewhere.session() as session:
        assert keys.authenticate_key(session, raw) is None
    elsewhere.dispose()


def test_key_changes_are_audited(app_db: AppDatabase) -> None:
    key, _ = _key(app_db, "read")
    with app_db.session() as session:
        keys.revoke_key(session, key.prefix, actor="ops@example.com")
        keys.revoke_key(session, key.prefix, actor="ops@example.com")  # idempotent
    with app_db.session() as session:
        events = [(e.actor, e.action, e.target) for e in recent_events(session)]
    assert events == [("ops@example.com", "key.revoke", key.prefix), ("test", "key.create", key.prefix)]
