"""Tables of the app database, as typed SQLAlchemy 2 declarative models.

Every model derives from :class:`Base`. A new resource (surveys, rules, tickets) gets its
own module defining models on this ``Base``, listed in :data:`MODEL_MODULES` so Alembic
sees it, plus a new file in ``migrations/versions/``. ``tests/operations/test_appdb.py``
fails when the models and the migrations disagree.
"""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Dialect, Index, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from journeylens.operations.auth import ROLES, SCOPES

#: Modules whose models make up the app database (imported before migrations run).
MODEL_MODULES: tuple[str, ...] = (
    "journeylens.operations.models",
    "journeylens.operations.outbox_models",
    "journeylens.operations.surveys.models",
    "journeylens.operations.alerts.models",
    "journeylens.operations.tickets.models",
    "journeylens.operations.maturity.records",
    "journeylens.operations.annotation_models",
    "journeylens.operations.sessions",
    "journeylens.operations.signin",
    "journeylens.text.corrections",
)

# Stable constraint names keep future migrations (and SQLite batch mode) predictable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only kind the app database stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the naive UTC value is
    stored and the zone re-attached on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


def _one_of(column: str, allowed: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in allowed)})"


class User(Base):
    """A person who signs in to the dashboard (or uses the CLI as an admin)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_one_of("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!r}, active={self.active!r})"


class ApiKey(Base):
    """A machine credential (collector, scripts). Only the SHA-256 of the key is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(100))  # comma list of journeylens.operations.auth.SCOPES
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def scope_list(self) -> tuple[str, ...]:
        """The scopes as a tuple, in the canonical order of ``SCOPES``."""
        granted = set(self.scopes.split(",")) if self.scopes else set()
        return tuple(s for s in SCOPES if s in granted)

    def has_scope(self, scope: str) -> bool:
        """Whether the key grants ``scope`` (``admin`` grants every scope)."""
        granted = self.scope_list
        return scope in granted or "admin" in granted

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"ApiKey(prefix={self.prefix!r}, name={self.name!r}, scopes={self.scopes!r})"


class AuditEvent(Base):
    """Who did what, when: sign-ins, user and key changes (append only)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(254), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


def load_model_modules() -> type[Base]:
    """Import every module in :data:`MODEL_MODULES` so ``Base.metadata`` is complete."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base
