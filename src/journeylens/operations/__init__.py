"""Operations: the transactional side of JourneyLens.

Users, roles, API keys and the audit trail live in the app database (SQLAlchemy 2 +
Alembic; SQLite by default, PostgreSQL by URL). Surveys, alert rules and tickets join them
in later migrations. Analytical data (events, feedback) stays in the warehouse; see
``docs/adr/0002-two-stores.md``.

>>> from journeylens.operations.appdb import AppDatabase
>>> db = AppDatabase("sqlite://")          # in memory, migrated to head on open
>>> db.current_revision() == db.head_revision()
True
"""
