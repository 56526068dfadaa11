"""The demo sends surveys from its own journeys; an answer shows on the Surveys page at once."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from journeylens.demo.surveys import add_demo_surveys, send_demo_invitations
from journeylens.operations.appdb import AppDatabase


def test_demo_invitation_answered_shows_on_the_surveys_page(web_env, anonymous: TestClient,  # type: ignore[no-untyped-def]
                                                            client_for: Callable[[str], TestClient]) -> None:
    db = AppDatabase(web_env.settings.app_database_url)
    add_demo_surveys(db)
    links = send_demo_invitations(web_env.lens, db)
    by_survey = {row["survey"] for row in links}
    assert {"branch-visit", "call-centre", "exit"} <= by_survey
    branch = next(r for r in links if r["survey"] == "branch-visit")
    assert branch["touchpoint"] == "Branch service visit" and branch["status"] == "sent"
    path = urlsplit(branch["url"]).path
    assert anonymous.post(path, data={"nps": "10", "shown": "nps", "action": "submit"},
                          follow_redirects=False).status_code == 303
    exit_link = urlsplit(next(r for r in links if r["survey"] == "exit")["url"]).path
    assert "The mobile app" in anonymous.get(exit_link).text
    anonymous.post(exit_link, data={"reason": "fees", "shown": "reason,more", "action": "submit"})
    page = client_for("viewer").get("/surveys")
    assert page.status_code == 200
    text = page.text
    assert "How was your visit to our branch?" in text and "Response funnel" in text
    assert "Reasons for leaving" in text and "Fees and prices" in text
    preview = client_for("viewer").get("/surveys/branch-visit/preview?lang=nl")
    assert '<html lang="nl">' in preview.text and "Hoe waarschijnlijk" in preview.text and "disabled" in preview.text
    assert client_for("agent").get("/surveys", follow_redirects=False).status_code == 403
    db.dispose()
    collector = getattr(web_env.app.state, "collector", None)  # started by the answers above
    if collector is not None:
        collector.close()
        web_env.app.state.collector = None
