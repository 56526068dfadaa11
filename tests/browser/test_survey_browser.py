"""The hosted survey page in Chromium: phone-sized form, partial save, validation, language, axe."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pytest

pytestmark = [pytest.mark.browser]

SURVEY = """
name: branch-visit
title: {en: "How was your visit?", nl: "Hoe was uw bezoek?"}
trigger: {touchpoint: "Branch visit", channel: branch, delay_minutes: 0, sample: 1.0, expires_days: 14}
fatigue: {days: 30}
questions:
  - {id: nps, type: nps, required: true,
     text: {en: "How likely are you to recommend us to a friend?", nl: "Hoe waarschijnlijk raadt u ons aan?"}}
  - {id: why, type: text, text: {en: "What is the main reason for your score?"}, show_if: "nps <= 6"}
deliver: [link]
"""
PHONE = {"width": 390, "height": 844}


@dataclass
class SurveyServer:
    url: str
    links: list[str]


@pytest.fixture(scope="module")
def survey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SurveyServer]:
    from tests.browser.conftest import serving

    import journeylens
    from journeylens.operations.appdb import AppDatabase
    from journeylens.operations.models import utcnow
    from journeylens.operations.surveys import registry, stats
    from journeylens.settings import Settings
    from journeylens.surfaces.api.app import create_app

    workdir: Path = tmp_path_factory.mktemp("survey-browser")
    settings = Settings(warehouse=str(workdir / "wh.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        collector_spool=workdir / "spool", cache_dir=workdir / "cache")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        registry.add_survey(session, SURVEY)
    lens = journeylens.open(settings.warehouse, settings=settings)
    lens.ingest("events", pd.DataFrame([{"customer_id": f"c{i}", "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": utcnow()} for i in range(6)]))
    links = [urlsplit(row["url"]).path for row in stats.invitations(db, settings)]
    with serving(create_app(settings, lens=lens)) as url:
        yield SurveyServer(url, links)
    lens.warehouse.close()
    db.dispose()


@pytest.fixture
def phone(browser: Any, survey_server: SurveyServer) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, base_url=survey_server.url, locale="en-GB")
    yield context.new_page()
    context.close()


def _serious(page: Any) -> list[Any]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def _score(page: Any, n: int) -> None:
    page.locator(f"label:has(input[name='nps'][value='{n}'])").click()


def test_answer_on_a_phone_with_partial_save_and_reopen(phone: Any, survey_server: SurveyServer) -> None:
    link = survey_server.links[0]
    phone.goto(link)
    assert "<script" not in phone.content()  # works without JavaScript: there is none
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 2
    assert _serious(phone) == []
    _score(phone, 3)
    phone.get_by_role("button", name="Send").click()
    follow_up = phone.get_by_label("What is the main reason for your score?")
    assert follow_up.is_visible()  # shown because 3 <= 6; the score is already saved
    phone.goto(link)  # reopen: continues where it stopped
    assert phone.locator("input[name='nps'][value='3']").is_checked()
    follow_up.fill("The queue was long")
    phone.get_by_role("button", name="Send").click()
    assert phone.get_by_role("heading", name="How was your visit?").is_visible()
    assert "Thank you" in phone.content() and phone.locator("form").count() == 0
    assert _serious(phone) == []


def test_validation_message_next_to_the_field(phone: Any, survey_server: SurveyServer) -> None:
    phone.goto(survey_server.links[1])
    phone.get_by_role("button", name="Send").click()
    error = phone.locator("#err-nps")
    assert error.inner_text() == "Please answer this question."
    assert phone.locator("fieldset[aria-describedby='err-nps']").count() == 1
    assert _serious(phone) == []
    phone.get_by_role("button", name="Save and continue later").click()
    assert "saved" in phone.get_by_role("status").inner_text()


def test_language_from_the_browser(browser: Any, survey_server: SurveyServer) -> None:
    context = browser.new_context(viewport=PHONE, base_url=survey_server.url, locale="nl-NL")
    tab = context.new_page()
    tab.goto(survey_server.links[2])
    assert tab.locator("html").get_attribute("lang") == "nl"
    assert tab.get_by_role("heading", name="Hoe was uw bezoek?").is_visible()
    assert tab.get_by_text("Hoe waarschijnlijk raadt u ons aan?").is_visible()
    tab.get_by_role("link", name="EN").click()
    assert tab.locator("html").get_attribute("lang") == "en"
    context.close()


def test_a_wrong_link_gets_a_friendly_page(phone: Any, survey_server: SurveyServer) -> None:
    response = phone.goto("/s/not-a-real-token")
    assert response.status == 404
    assert phone.get_by_role("heading", name="This survey link does not work").is_visible()
    assert _serious(phone) == []
