"""Issue 10, session 3, over HTTP and in the dashboard's HTML: transitions split by a property,
the cohort builder, the funnel reconciled with the journey map, targets in their own unit."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from tests.surfaces.web.conftest import csrf_from
from tests.surfaces.web.page_fragments import with_fragments


def test_transitions_by_an_event_property_over_http(client_for: Any) -> None:
    client = client_for("viewer")
    rows = client.get("/v1/journey/transitions", params={"level": "stage", "by": "app_version"}).json()
    assert {r["app_version"] for r in rows} >= {"5.14.2", "6.0.0"}
    everything = client.get("/v1/journey/transitions", params={"level": "stage"}).json()
    assert sum(r["count"] for r in rows) == sum(r["count"] for r in everything)
    bad = client.get("/v1/journey/transitions", params={"by": "app_versoin"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["suggestions"] == {"app_versoin": ["app_version"]}


def test_journey_map_splits_the_moves(client_for: Any) -> None:
    client = client_for("viewer")
    html = client.get("/journey-map", params={"split": "app_version"}).text
    assert 'id="moves-table"' in html and "app_version = 6.0.0" in html and "app_version = 5.14.2" in html
    assert '<option value="app_version" selected>' in html
    csv = client.get("/export/moves_split.csv", params={"split": "app_version"})
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("app_version,from,to,count")
    assert 'id="moves-table"' not in client.get("/journey-map").text


def test_cohort_builder_builds_applies_and_saves(client_for: Any, csrf: Any) -> None:
    client = client_for("analyst")
    built = "segment=business|mass; channels=blended"
    response = client.get("/micro-journeys", params=[("b_segment", "business"), ("b_segment", "mass"),
                                                     ("b_channels", "blended"), ("b_performed", "")],
                          follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == (
        "/micro-journeys?" + urlencode({"built": built}) + "#builder")
    html = client.get(response.headers["location"]).text
    assert f"<code>{built}</code>" in html and "customers</strong>" in html
    sizes = client.get("/v1/cohorts", params={"build": built}).json()
    row = next(r for r in sizes["cohorts"] if r["kind"] == "built")
    assert row["cohort"] == built and 0 < row["customers"] < sizes["customers"]
    mass = next(r for r in client.get("/v1/cohorts", params={"build": "segment=mass"}).json()["cohorts"]
                if r["kind"] == "built")
    assert row["customers"] <= mass["customers"] + next(
        r for r in client.get("/v1/cohorts", params={"build": "segment=business"}).json()["cohorts"]
        if r["kind"] == "built")["customers"]
    # Applied across pages: the overview and the journey map count only its customers.
    jmap = client.get("/v1/journey/map", params={"cohort": built}).json()
    assert jmap["customers"] == row["customers"]
    assert "Built: " + built in client.get("/journey-map", params={"cohort": built}).text
    # Compared side by side with a defined cohort.
    compared = client.get("/v1/cohorts/compare", params={"analysis": "journey_map", "cohorts": f"online-only,{built}"})
    assert compared.status_code == 200 and [c["cohort"] for c in compared.json()["cohorts"]] == ["online-only", built]
    # Saved as a view (named, listed, shared by link).
    page = client.get("/micro-journeys", params={"built": built}).text
    saved = client.post("/views", data={"name": "Blended business and mass", "page": "/micro-journeys",
                                        "query": urlencode({"built": built}), "csrf_token": csrf(page)},
                        follow_redirects=False)
    assert saved.status_code in (303, 302), saved.text
    views = client.get("/v1/views").json()
    assert any(v["name"] == "Blended business and mass" and v["query"] == {"built": built} for v in views)
    _delete_view(client, "Blended business and mass")


def _delete_view(client: Any, name: str) -> None:
    token = csrf_from(client.get("/views").text)
    gone = client.delete(f"/v1/views/{name}", headers={"X-CSRF-Token": token})
    assert gone.status_code == 204, gone.text


def test_built_and_saved_cohorts_sit_in_the_cx_metrics_by_cohort_table(client_for: Any, csrf: Any) -> None:
    """Issue 10: the cohort built on the page and every cohort kept in a saved view are rows of
    "CX metrics by cohort" next to the defined cohorts — on the page, over HTTP and in the export."""
    client = client_for("analyst")
    built, kept = "segment=business; channels=blended", "segment=mass; performed=Card delivered"
    rows = client.get("/v1/metrics", params={"by": "cohort", "build": built, "metric": "nps"}).json()
    cohorts = {r["cohort"]: r for r in rows}
    assert built in cohorts and "online-only" in cohorts and "blended" in cohorts
    assert 0 < cohorts[built]["n"] < cohorts["blended"]["n"]
    tests = client.get("/v1/metrics/changes", params={"by": "cohort", "period": "none", "baseline": "blended",
                                                      "build": built, "metric": "nps"}).json()
    assert built in {t["cohort"] for t in tests}
    page = client.get("/micro-journeys").text
    saved = client.post("/views", data={"name": "Mass with a card", "page": "/micro-journeys",
                                        "query": urlencode({"built": kept}), "csrf_token": csrf(page)},
                        follow_redirects=False)
    assert saved.status_code in (302, 303), saved.text
    try:
        with_saved = {r["cohort"] for r in client.get("/v1/metrics", params={
            "by": "cohort", "saved_cohorts": "true", "metric": "nps"}).json()}
        assert kept in with_saved and built not in with_saved
        html = with_fragments(client, "/micro-journeys?" + urlencode({"built": built}))
        table = html[html.index('id="cohort-metrics"'):]
        table = table[: table.index("</table>")]
        assert f"<code>{built}</code></a></th><td>built</td>" in table
        assert f"<code>{kept}</code></a></th><td>saved view “Mass with a card”</td>" in table
        assert "<th scope=\"row\">online-only</th><td>defined</td>" in table
        csv = client.get("/export/cohort_metrics.csv", params={"built": built, "with_cohorts": kept}).text
        assert built in csv and kept in csv and "online-only" in csv
        # The CLI (run by the server for a CLI beside it: the same command on the same lens).
        ran = client.post("/v1/cli", headers={"X-CSRF-Token": csrf_from(client.get("/views").text)},
                          json={"args": ["metrics", "--by", "cohort", "--metric", "nps", "--build", built,
                                         "--saved-cohorts", "--json"]}).json()
        assert ran["exit_code"] == 0, ran
        assert {built, kept, "online-only"} <= {r["cohort"] for r in json.loads(ran["stdout"])}
    finally:
        _delete_view(client, "Mass with a card")


def test_a_built_cohort_with_a_typo_is_an_error_listing_close_matches(client_for: Any) -> None:
    client = client_for("viewer")
    bad = client.get("/v1/journey/map", params={"cohort": "segment=busines"})
    assert bad.status_code == 422 and "did you mean 'business'" in bad.json()["error"]["message"]
    html = client.get("/micro-journeys", params={"built": "performed=Card delivred"}).text
    assert "did you mean &#39;Card delivered&#39;" in html and 'id="built-cohort"' not in html


def test_funnel_and_map_reconciled_on_the_demo(client_for: Any) -> None:
    client = client_for("viewer")
    steps = ["Account approved", "Card delivered", "Card activation"]
    rows = client.get("/v1/journey/funnel-vs-map", params={"steps": ",".join(steps)}).json()
    funnel = client.get("/v1/journey/funnel", params={"steps": ",".join(steps)}).json()
    jmap = client.get("/v1/journey/map").json()
    on_map = {tp["touchpoint"]: tp["customers"] for s in jmap["stages"] for tp in s["touchpoints"]}
    for row, step in zip(rows, funnel[1:], strict=True):
        assert row["on_map"] == on_map[row["step"]]  # the map's own number
        assert row["reached"] == step["customers"]  # the funnel's own number
        assert row["on_map"] == row["reached"] + row["never_step_1"] + row["stopped_earlier"] + row["not_after_previous"]
    html = client.get("/funnel", params={"steps": ",".join(steps)}).text
    assert 'id="funnel-vs-map"' in html and "On the journey map" in html


def test_a_touchpoint_with_a_target_never_says_no_target() -> None:
    from journeylens.surfaces.web.rendering import status_label

    assert status_label(None, 0.8) == "Too few answers to judge the target"
    assert status_label(None, {"csat": 0.8}) == "Too few answers to judge the target"
    assert status_label(None) == status_label(None, {}) == "No target"
    assert status_label("missed", 0.8) == "Target missed"


def test_cohort_comparison_table_decodes_itself(client_for: Any) -> None:
    html = with_fragments(client_for("viewer"), "/micro-journeys?cohorts=online-only&cohorts=blended")
    assert 'class="sub">reached</th>' in html and 'class="sub">drop-off</th>' in html
    assert 'class="sub">to next stage</th>' in html and " · " not in html.split('class="compare"')[1].split("</table>")[0]


@pytest.mark.slow
def test_no_topic_is_made_of_another_languages_stopwords(client_for: Any, web_env: Any) -> None:
    """Issue 10's "never show a topic made of another language's stopwords", on the demo (which
    writes comments in five languages): every foreign template comment is left out of the topics,
    counted by language with the reason, and no label or key phrase uses foreign function words."""
    from journeylens.demo.comments import FOREIGN
    from journeylens.text.language import detect_language, is_english
    from journeylens.text.stopwords import foreign_function_words, is_stopword_phrase

    comments = web_env.lens.warehouse.table("feedback").comment.to_pyarrow().to_pylist()
    written = {lang: sum(1 for c in comments if c in {t for ts in by_sentiment.values() for t in ts})
               for lang, by_sentiment in FOREIGN.items()}
    client = client_for("viewer")
    payload = client.get("/v1/text/topics").json()
    assert payload["topics"] and "not in English" in payload["excluded_reason"]
    for lang, n in written.items():
        assert payload["excluded_languages"].get(lang, 0) >= n, (lang, n, payload["excluded_languages"])
    for topic in payload["topics"]:
        for phrase in [topic["label"], *topic["keyphrases"]]:
            assert not is_stopword_phrase(phrase), phrase
            assert foreign_function_words(phrase, list(FOREIGN))[0] is None, phrase
        assert is_english(detect_language(topic["label"])), topic["label"]
    tp = payload["topics"][0]["touchpoints"]
    html = client.get(f"/touchpoints/{next(iter(tp))}/topics").text
    assert 'id="topics-excluded"' in html and "left out" in html
