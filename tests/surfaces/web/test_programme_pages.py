"""The CX programme on the demo: Maturity, the questionnaire, Reports (pages and HTTP API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.operations.maturity import default_model
from journeylens.surfaces.api.deps import CSRF_HEADER

WebEnv = Any


def test_questionnaire_then_assessment_on_the_demo(client_for: Callable[[str], TestClient], csrf: Callable[[str], str],
                                                   web_env: WebEnv) -> None:
    agent = client_for("agent")  # a frontline team member can answer, though not read analyses
    page = agent.get("/maturity/questionnaire")
    assert page.status_code == 200
    questions = default_model().question_ids()
    assert all(f'name="{q}"' in page.text for q in questions)
    bad = agent.post("/maturity/questionnaire", data={"csrf_token": csrf(page.text), "map_living": "9"})
    assert bad.status_code == 422 and "whole number from 1 to 5" in bad.text
    saved = agent.post("/maturity/questionnaire", data={"csrf_token": csrf(page.text), "map_living": "5",
                                                        "map_used": "5"}, follow_redirects=False)
    assert saved.status_code == 303
    assert 'value="5" checked' in agent.get("/maturity/questionnaire").text
    assert agent.get("/maturity").status_code == 403

    analyst = client_for("analyst")
    page = analyst.get("/maturity")
    assert page.status_code == 200  # other tests of this session may have assessed already
    before = len(analyst.get("/v1/maturity/history").json())
    done = analyst.post("/maturity/assess", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    assert len(analyst.get("/v1/maturity/history").json()) == before + 1
    page = analyst.get("/maturity")
    assert "Playbook: the next steps" in page.text
    # the demo's data ends long ago, so the agent's "living map" disagrees with the evidence
    assert "Where opinion and evidence disagree" in page.text and "days old" in page.text
    assert 'href="/journey-definition"' in page.text or 'href="/surveys"' in page.text


def test_maturity_api_matches_the_page(client_for: Callable[[str], TestClient], csrf: Callable[[str], str],
                                       web_env: WebEnv) -> None:
    viewer = client_for("viewer")
    viewer.headers[CSRF_HEADER] = csrf(viewer.get("/maturity").text)
    made = viewer.post("/v1/maturity/assess")
    assert made.status_code == 200
    body = made.json()
    assert set(body) >= {"assessment_id", "overall_level", "overall_name", "dimensions", "playbook", "disagreements"}
    assert [d["id"] for d in body["dimensions"]] == [d.id for d in default_model().dimensions]
    assert viewer.get("/v1/maturity").json()["assessment_id"] == body["assessment_id"]
    history = viewer.get("/v1/maturity/history").json()
    assert history[-1]["assessment_id"] == body["assessment_id"]
    assert viewer.get("/v1/maturity/model").json()["version"] == default_model().version
    answered = viewer.post("/v1/maturity/answers", json={"answers": {"cult_shared": 2}})
    assert answered.status_code == 200 and answered.json() == {"respondent": "viewer@example.com",
                                                                "answers": {"cult_shared": 2}}
    wrong = viewer.post("/v1/maturity/answers", json={"answers": {"cult_shared": 0}})
    # levels are bounded 1..5 in the request schema itself, so a 0 is refused before it is read
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_request"


def test_answers_need_a_person_not_a_key(web_env: WebEnv) -> None:
    db = AppDatabase(web_env.settings.app_database_url)
    with db.session() as session:
        _, raw = create_key(session, "script", ["read"])
    db.dispose()
    with TestClient(web_env.app) as client:
        response = client.post("/v1/maturity/answers", json={"answers": {"cult_shared": 2}},
                               headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 403 and "sign in" in response.json()["error"]["message"]


def test_report_html_and_schedules(client_for: Callable[[str], TestClient], csrf: Callable[[str], str]) -> None:
    viewer = client_for("viewer")
    html = viewer.get("/v1/reports/state-of-journey?format=html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "The journey map against its targets" in html.text and "<script" not in html.text
    assert viewer.get("/reports").status_code == 200
    assert viewer.get("/v1/reports/schedules").status_code == 403
    admin = client_for("admin")
    page = admin.get("/reports")
    bad = admin.post("/reports/schedules", data={"csrf_token": csrf(page.text), "name": "Board",
                                                 "recipients": "not-an-address", "cadence": "weekly"})
    assert bad.status_code == 422 and "not valid: not-an-address" in bad.text
    ok = admin.post("/reports/schedules", data={"csrf_token": csrf(page.text), "name": "Board",
                                                "recipients": "cxo@bank.example, cfo@bank.example",
                                                "cadence": "weekly", "format": "pdf"}, follow_redirects=False)
    assert ok.status_code == 303
    rows = admin.get("/v1/reports/schedules").json()
    assert rows[-1]["recipients"] == ["cxo@bank.example", "cfo@bank.example"] and rows[-1]["next_due"] == "now"
    admin.headers[CSRF_HEADER] = csrf(page.text)
    stopped = admin.delete(f"/v1/reports/schedules/{rows[-1]['id']}")
    assert stopped.status_code == 200 and stopped.json()["active"] is False


@pytest.mark.browser
def test_pdf_download_is_a_one_page_report(client_for: Callable[[str], TestClient]) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    response = client_for("viewer").get("/reports/state-of-journey.pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and len(pdfium.PdfDocument(response.content)) == 1
