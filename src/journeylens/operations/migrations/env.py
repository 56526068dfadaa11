"""Alembic environment of the app database.

JourneyLens passes an open connection in ``config.attributes["connection"]``; run by hand,
the URL comes from ``-x url=…``, ``sqlalchemy.url`` or ``JOURNEYLENS_APP_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from journeylens.operations.models import load_model_modules

config = context.config
target_metadata = load_model_modules().metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE via copy on SQLite
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    from journeylens.settings import get_settings

    return (context.get_x_argument(as_dictionary=True).get("url")
            or config.get_main_option("sqlalchemy.url")
            or get_settings().app_database_url)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine(_url())
    with engine.begin() as own_connection:
        _configure(own_connection)
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
