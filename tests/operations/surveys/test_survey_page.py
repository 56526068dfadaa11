"""The hosted survey page: partial saves, conditional question, validation, language, durable answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from survey_helpers import add

from journeylens.lens import JourneyLens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.models import utcnow
from journeylens.operations.surveys import stats
from journeylens.operations.surveys.links import qr_token, signing_key, survey_url
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.api.collector import collector_of


@pytest.fixture
def client(lens: JourneyLens, survey_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(survey_settings, lens=lens)) as test_client:
        yield test_client


def _invite(lens: JourneyLens, db: AppDatabase, settings: Settings, customer: str = "c1") -> str:
    lens.ingest("events", pd.DataFrame([{"customer_id": customer, "touchpoint": "Branch visit", "channel": "branch",
                                         "timestamp": utcnow(), "event_id": f"ev-{customer}"}]))
    rows = [r for r in stats.invitations(db, settings) if r["customer_id"] == customer]
    return urlsplit(rows[0]["url"]).path


def _feedback(client: TestClient, lens: JourneyLens) -> list[dict]:  # type: ignore[type-arg]
    collector_of(client.app).flush()  # type: ignore[arg-type]
    table = lens.warehouse.table("feedback")
    return table.to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def test_answering_step_by_step_lands_one_feedback_row(client: TestClient, lens: JourneyLens,
                                                       survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db)
    path = _invite(lens, survey_db, survey_settings)
    page = client.get(path)
    assert page.status_code == 200 and '<html lang="en">' in page.text
    assert "How likely are you to recommend us" in page.text and "main reason" not in page.text
    assert stats.invitations(survey_db, survey_settings)[0]["status"] == "opened"
    # a low score reveals the follow-up question and is saved already
    step = client.post(path, data={"nps": "3", "shown": "nps", "action": "submit"})
    assert step.status_code == 200 and "What is the main reason for your score?" in step.text
    assert stats.invitations(survey_db, survey_settings)[0]["status"] == "started"
    reopened = client.get(path)
    assert 'value="3" checked' in reopened.text and "main reason" in reopened.text  # continues where it stopped
    done = client.post(path, data={"nps": "3", "why": "The queue was long", "shown": "nps,why", "action": "submit"},
                       follow_redirects=False)
    assert done.status_code == 303
    thanks = client.get(path)
    assert "Thank you" in thanks.text and "<form" not in thanks.text
    again = client.post(path, data={"nps": "10", "shown": "nps,why", "action": "submit"})
    assert "Thank you" in again.text
    [row] = _feedback(client, lens)
    assert (row["customer_id"], row["nps"], row["comment"], row["survey"], row["touchpoint"], row["channel"],
            row["language"]) == ("c1", 3, "The queue was long", "branch-visit", "Branch visit", "branch", "en")
    assert row["response_id"].startswith("r_")
    assert json.loads(row["properties"])["event_id"] == "ev-c1"
    [invitation] = stats.invitations(survey_db, survey_settings)
    assert invitation["status"] == "completed" and invitation["answered_at"] is not None


def test_validation_message_sits_next_to_the_field(client: TestClient, lens: JourneyLens, survey_db: AppDatabase,
                                                   survey_settings: Settings) -> None:
    add(survey_db)
    path = _invite(lens, survey_db, survey_settings)
    out_of_range = client.post(path, data={"nps": "11", "shown": "nps", "action": "submit"})
    assert out_of_range.status_code == 422
    assert 'aria-describedby="err-nps"' in out_of_range.text and "from 0 to 10" in out_of_range.text
    missing = client.post(path, data={"shown": "nps", "action": "submit"})
    assert missing.status_code == 422 and "Please answer this question." in missing.text


def test_language_from_browser_and_friendly_bad_tokens(client: TestClient, lens: JourneyLens,
                                                       survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db)
    path = _invite(lens, survey_db, survey_settings)
    dutch = client.get(path, headers={"Accept-Language": "nl-NL,nl;q=0.9,en;q=0.5"})
    assert '<html lang="nl">' in dutch.text and "Hoe was uw bezoek?" in dutch.text
    assert "Versturen" in dutch.text and "(verplicht)" in dutch.text  # the page chrome too
    assert client.get(path, headers={"Accept-Language": "fr"}).text.count('<html lang="en">') == 1
    tampered = client.get(path[:-3] + "xyz")
    assert tampered.status_code == 404 and "does not work" in tampered.text and "Traceback" not in tampered.text
    assert client.get("/s/not-a-token").status_code == 404


def test_json_answers_for_embedding_and_prefill_from_the_email_block(
        client: TestClient, lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db)
    path = _invite(lens, survey_db, survey_settings)
    assert 'value="9" checked' in client.get(path + "?nps=9").text  # the email's score link pre-fills
    bad = client.post(path, json={"answers": {"nps": 42}})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["errors"]["nps"].startswith("Choose")
    ok = client.post(path, json={"answers": {"nps": 9}})
    assert ok.json()["status"] == "completed"
    assert client.post(path, json={"answers": {"nps": 1}}).json() == {"status": "completed", "already_answered": True}
    assert [r["nps"] for r in _feedback(client, lens)] == [9]


def test_qr_code_answers_are_anonymous_and_tied_to_the_touchpoint(
        client: TestClient, lens: JourneyLens, survey_db: AppDatabase, survey_settings: Settings) -> None:
    add(survey_db)
    token = qr_token(signing_key(survey_db, survey_settings), "branch-visit", "Branch visit")
    path = urlsplit(survey_url(survey_settings, token)).path
    assert client.post(path, data={"nps": "10", "shown": "nps", "action": "submit"}).status_code == 200
    assert client.post(path, json={"answers": {"nps": 8}}).json()["status"] == "completed"
    rows = _feedback(client, lens)
    assert sorted(r["nps"] for r in rows) == [8, 10]
    assert {(r["customer_id"], r["touchpoint"], r["channel"]) for r in rows} == {(None, "Branch visit", "qr")}
    assert stats.survey_stats(survey_db)[0]["anonymous_completed"] == 2
