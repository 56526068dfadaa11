"""Survey fixtures: an app database (SQLite file), a DuckDB warehouse lens on it, the issue's example."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import journeylens
from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.surveys import registry
from journeylens.settings import Settings

EXAMPLE = Path(registry.EXAMPLE).read_text()


@pytest.fixture
def survey_settings(tmp_path: Path) -> Settings:
    return Settings(warehouse=str(tmp_path / "wh.duckdb"), app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                    public_url="http://survey.test", secret_key="s" * 32, duckdb_memory_limit="1GB",
                    collector_spool=tmp_path / "spool")


@pytest.fixture
def survey_db(survey_settings: Settings) -> Iterator[AppDatabase]:
    db = AppDatabase(survey_settings.app_database_url)
    yield db
    db.dispose()


@pytest.fixture
def lens(survey_settings: Settings, survey_db: AppDatabase) -> Iterator[JourneyLens]:
    opened = journeylens.open(survey_settings.warehouse, settings=survey_settings)
    yield opened
    opened.warehouse.close()


def add(db: AppDatabase, text: str = EXAMPLE) -> None:
    with db.session() as session:
        registry.add_survey(session, text)
