from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from journeylens.errors import ConfigError
from journeylens.operations.appdb import AppDatabase, alembic_config
from journeylens.operations.models import AuditEvent, Base, User

TABLES = {"users", "api_keys", "audit_events", "sessions"}


def test_open_migrates_to_head_and_reopening_is_a_no_op(app_db_url: str) -> None:
    first = AppDatabase(app_db_url)
    assert first.current_revision() == first.head_revision() is not None
    assert set(inspect(first.engine).get_table_names()) >= TABLES
    with first.session() as session:
        session.add(User(email="a@example.com", password_hash="x", role="viewer"))
    first.dispose()

    again = AppDatabase(app_db_url)
    assert again.current_revision() == again.head_revision()
    with again.session() as session:  # data survives re-opening
        assert session.scalar(select(User.email)) == "a@example.com"
    again.dispose()


def test_models_and_migrations_agree(app_db: AppDatabase) -> None:
    with app_db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_back(app_db: AppDatabase) -> None:
    config = alembic_config()
    with app_db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not TABLES & set(inspect(app_db.engine).get_table_names())
    assert app_db.current_revision() is None
    app_db.upgrade()
    assert set(inspect(app_db.engine).get_table_names()) >= TABLES


def test_unopened_database_is_left_alone_when_upgrade_is_false(app_db_url: str) -> None:
    db = AppDatabase(app_db_url, upgrade=False)
    assert db.current_revision() is None
    assert not TABLES & set(inspect(db.engine).get_table_names())
    db.dispose()


def test_timestamps_round_trip_as_aware_utc(app_db: AppDatabase) -> None:
    at = datetime(2024, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    with app_db.session() as session:
        session.add(AuditEvent(actor="t", action="x", target="", details={"n": 1}, at=at))
    with app_db.session() as session:
        stored = session.scalar(select(AuditEvent))
        assert stored is not None
        assert stored.at == at and stored.at.tzinfo is not None
        assert stored.at.utcoffset() == timedelta(0) and stored.at.hour == 10
        assert stored.details == {"n": 1}


def test_session_rolls_back_on_error(app_db: AppDatabase) -> None:
    with pytest.raises(RuntimeError), app_db.session() as session:
        session.add(User(email="gone@example.com", password_hash="x", role="viewer"))
        session.flush()
        raise RuntimeError("boom")
    with app_db.session() as session:
        assert session.scalar(select(User)) is None


def test_role_is_constrained_by_the_database(app_db: AppDatabase) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), app_db.session() as session:
        session.add(User(email="r@example.com", password_hash="x", role="superuser"))


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = AppDatabase(f"sqlite:///{tmp_path / 'nested' / 'app.db'}")
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert (tmp_path / "nested" / "app.db").exists()
    db.dispose()


def test_in_memory_sqlite_is_one_shared_database() -> None:
    db = AppDatabase("sqlite://")
    with db.session() as session:
        session.add(User(email="m@example.com", password_hash="x", role="viewer"))
    with db.session() as session:
        assert session.scalar(select(User.email)) == "m@example.com"
        assert session.scalar(select(User.created_at)).tzinfo == UTC  # type: ignore[union-attr]


@pytest.mark.parametrize("url", ["not a url", "nosuchdb://x"])
def test_bad_urls_raise_config_errors(url: str) -> None:
    with pytest.raises(ConfigError, match=r"(?i)app database URL|No driver"):
        AppDatabase(url)


def test_unreachable_server_raises_a_config_error() -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(ConfigError, match="Cannot connect"):
        AppDatabase("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
