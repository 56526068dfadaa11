"""Dashboard text analytics: aspect chips and label corrections on the touchpoint page, aspects
on the overview."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.surfaces.web.page_fragments import with_fragments

pytest.importorskip("sentence_transformers")
PAGE = "/touchpoints/Mobile%20app%20login"


def test_touchpoint_comments_show_score_aspect_chips_and_a_correction_control(client_for: Any, csrf: Any) -> None:
    viewer = with_fragments(client_for("viewer"), PAGE)
    shown = viewer.split('id="comments-title"')[1].split("</section>")[0]
    assert 'class="chips"' in shown and "App and website" in shown
    assert "Model: minilm-3class" in shown and "Correct label" not in shown  # viewers read only
    admin = client_for("admin")
    html = with_fragments(admin, PAGE)
    form = html.split('id="comments-title"')[1].split('<form class="correct"')[1].split("</form>")[0]
    fields = dict(re.findall(r'name="(response_id|comment|previous_label|model)" value="([^"]*)"', form))
    token = csrf(html)
    saved = admin.post("/text/corrections", data={**fields, "label": "neu", "csrf_token": token})
    assert saved.status_code == 200 and "Saved as neutral" in saved.text
    assert admin.post("/text/corrections", data={**fields, "label": "neu"}).status_code == 403  # no CSRF token
    refused = client_for("viewer").post("/text/corrections", data={**fields, "label": "neu", "csrf_token": token})
    assert refused.status_code == 403


def test_overview_lists_aspects(client_for: Any) -> None:
    client = client_for("viewer")
    assert 'hx-get="/aspects"' in client.get("/").text
    partial = client.get("/aspects").text
    assert "App and website" in partial and "Where an aspect hurts most" in partial


def test_touchpoint_comments_find_aspects_of_the_comments_shown_only(web_env: Any, client_for: Any,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from journeylens.surfaces.web import views

    asked: list[tuple[str, dict[str, Any]]] = []
    original = views.Results.get

    def recording(self: Any, view: str, **params: Any) -> Any:
        asked.append((view, params))
        return original(self, view, **params)

    monkeypatch.setattr(views.Results, "get", recording)
    html = client_for("viewer").get(PAGE + "/comments").text
    shown = re.findall(r'name="response_id" value="([^"]*)"', with_fragments(client_for("admin"), PAGE))
    names = [view for view, _ in asked]
    assert "aspects" not in names  # not every comment of the feedback table for twelve shown
    ids = next(params["response_ids"] for view, params in asked if view == "comment_aspects")
    assert 0 < len(ids) <= 12 and set(shown) <= set(ids) and 'class="chips"' in html
    everything = {r["response_id"]: r for r in web_env.lens.aspects(response_limit=None).responses}
    subset = web_env.lens.aspects(response_ids=tuple(everything)[:40], response_limit=None).responses
    assert len(subset) == min(40, len(everything)) > 0
    for row in subset:  # the same aspects and labels as when found among all comments
        assert {k: v for k, v in row.items() if k.startswith("aspect")} == \
            {k: v for k, v in everything[row["response_id"]].items() if k.startswith("aspect")}
