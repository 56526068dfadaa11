"""The driver relations planted in the demo are found from the dashboard pages alone:
``sat_app`` is the top driver of relationship NPS and sits in "fix first"; customers with repeat
call-centre contacts churn more (the top journey driver of churn)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from tests.surfaces.web.conftest import PASSWORD, sign_in

import journeylens
from journeylens.demo.build import build_demo
from journeylens.demo.planted import DRIVERS
from journeylens.operations import users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def analyst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("drivers_demo")
    settings = Settings(warehouse=str(root / "demo.duckdb"), app_database_url=f"sqlite:///{root / 'app.db'}",
                        cache_dir=root / "cache", duckdb_memory_limit="2GB")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=6_000, seed=42, out_dir=root / "files")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    database = AppDatabase(settings.app_database_url)
    with database.session() as session:
        users.create_user(session, "analyst@example.com", PASSWORD, role="analyst")
    database.dispose()
    with TestClient(create_app(settings, lens=lens)) as client:
        yield sign_in(client, "analyst")
    lens.warehouse.close()


def _first_row(html: str, caption: str) -> str:
    table = html.split(caption, 1)[1]
    return re.search(r"<tbody><tr[^>]*><th scope=\"row\">([^<]+)</th>(.*?)</tr>", table, re.S).group(0)  # type: ignore[union-attr]


def test_planted_rating_driver_is_found_on_the_drivers_page(analyst: TestClient) -> None:
    html = analyst.get("/drivers?target=nps&survey=Relationship+NPS").text
    top = _first_row(html, "Key drivers, most important first")
    assert DRIVERS.ratings[0] in top and "fix first" in top


def test_planted_repeat_contacts_top_the_churn_journey_drivers(analyst: TestClient) -> None:
    html = analyst.get("/drivers?target=nps&survey=Relationship+NPS").text
    top = _first_row(html, "Journey drivers of churn, most important first")
    assert "repeat_contacts" in top and "churn +" in top
