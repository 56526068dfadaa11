"""App-database fixtures: every test taking ``app_db`` runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``JOURNEYLENS_TEST_POSTGRES_URL`` (``scripts/postgres-test.sh``);
each test gets its own schema, dropped afterwards. Without the variable the postgres
variants are skipped, unless ``JOURNEYLENS_REQUIRE_ALL_BACKENDS`` is set (then they fail).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from local_servers import SmtpServer, WebhookReceiver, running_smtp_server, running_webhook_receiver
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from journeylens.operations import auth, users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import clear_key_cache

APP_DB_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _postgres_base_url() -> str:
    url = os.environ.get("JOURNEYLENS_TEST_POSTGRES_URL")
    if not url:
        reason = ("JOURNEYLENS_TEST_POSTGRES_URL is not set: run `scripts/postgres-test.sh start` and "
                  "export JOURNEYLENS_TEST_POSTGRES_URL=$(scripts/postgres-test.sh url)")
        if os.environ.get("JOURNEYLENS_REQUIRE_ALL_BACKENDS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return url


@pytest.fixture(params=APP_DB_BACKENDS)
def app_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty app database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    base = _postgres_base_url()
    schema = f"jl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield make_url(base).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def app_db(app_db_url: str) -> Iterator[AppDatabase]:
    """An app database migrated to head, on each backend."""
    database = AppDatabase(app_db_url)
    yield database
    database.dispose()


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id with minimal cost: same code path, a fraction of the CPU (2-core CI)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", lambda: cheap)
    dummy = lru_cache(maxsize=1)(lambda: cheap.hash("not a real password"))
    monkeypatch.setattr(auth, "dummy_password_hash", dummy)
    monkeypatch.setattr(users, "dummy_password_hash", dummy)


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    clear_key_cache()
    yield
    clear_key_cache()


# --- real local servers for delivery channels -----------------------------------------------
@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port; ``smtp_server.messages`` are the received emails."""
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A real HTTP server recording each POST (``.requests``), answering ``.status``."""
    with running_webhook_receiver() as receiver:
        yield receiver
