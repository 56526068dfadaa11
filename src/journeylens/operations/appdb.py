"""The app database: one SQLAlchemy engine, sessions, and migrations to head on open.

SQLite is the default (``sqlite:///journeylens.db``: one file, WAL, foreign keys on);
PostgreSQL is a URL away (``postgresql+psycopg://user@host/db``). The schema is owned by
Alembic migrations shipped inside the package (``operations/migrations``), and opening a
database always upgrades it to head, which is a no-op when it is already there.

>>> db = AppDatabase("sqlite://")
>>> with db.session() as session:
...     session.query(User).count()
0
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from journeylens.errors import ConfigError
from journeylens.operations.models import User

__all__ = ["AppDatabase", "User"]

log = logging.getLogger(__name__)
_PACKAGE_DIR = Path(__file__).parent
ALEMBIC_INI = _PACKAGE_DIR / "alembic.ini"


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration of the shipped migrations (usable with ``alembic.command``)."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(_PACKAGE_DIR / "migrations"))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"App database URL {url!r} is not a SQLAlchemy URL; use for example "
                          "'sqlite:///journeylens.db' or 'postgresql+psycopg://user@host/db'.") from exc
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if parsed.database in (None, "", ":memory:"):
            options["poolclass"] = StaticPool  # one shared in-memory database
        else:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        options["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **options)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise ConfigError(f"No driver for app database URL scheme {parsed.drivername!r}: "
                          "use sqlite:///PATH or postgresql+psycopg://… (pip install 'journeylens[postgres]').") from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class AppDatabase:
    """An app database at ``url``, migrated to head unless ``upgrade=False``.

    ``session()`` is a unit of work: it commits when the block ends and rolls back on error.
    Objects stay readable after the commit (``expire_on_commit=False``).
    """

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if upgrade:
            self.upgrade()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def head_revision(self) -> str | None:
        """The newest migration shipped with this version of JourneyLens."""
        return ScriptDirectory.from_config(alembic_config()).get_current_head()

    def current_revision(self) -> str | None:
        """The migration the database is at (``None`` for an empty database)."""
        try:
            with self.engine.connect() as connection:
                return MigrationContext.configure(connection).get_current_revision()
        except OperationalError as exc:
            raise ConfigError(f"Cannot connect to the app database {self._safe_url()}: {exc.orig}") from exc

    def upgrade(self, revision: str = "head") -> None:
        """Run the shipped Alembic migrations up to ``revision`` (idempotent)."""
        if revision == "head" and self.current_revision() == self.head_revision():
            return
        log.info("migrating app database %s to %s", self._safe_url(), revision)
        config = alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def _safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"AppDatabase({self._safe_url()!r})"
