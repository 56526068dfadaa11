"""Dashboard pages render the analysis results, keep filters in the URL, export CSV, escape text."""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pandas as pd
import pytest
from tests.surfaces.web.page_fragments import with_fragments

from journeylens.analyses.filters import Filters

PAGES = [
    ("/", "Overview"), ("/journey-map", "Journey map"), ("/journey-map/deviations", "follow the designed stage order"),
    ("/funnel?step=Open+account+online&step=KYC+document+upload&step=Account+approved", "Funnel builder"),
    ("/variants?top=5", "Path variants"), ("/channels", "Channel hopping"),
    ("/micro-journeys?cohorts=online-only&cohorts=blended", "Side by side"),
    ("/touchpoints/Mobile%20app%20login", "Mobile app login"), ("/customers/C000007", "Customer C000007"),
    ("/data-health", "Ingest history"), ("/journey-definition", "Validate a journey YAML"), ("/settings", "API keys"),
]


@pytest.mark.parametrize(("path", "text"), PAGES)
def test_page_renders(client_for: Any, path: str, text: str) -> None:
    html = with_fragments(client_for("admin"), path)  # as a browser shows it, its fragments loaded
    assert text in html
    assert 'class="notice error"' not in html


def test_overview_shows_metrics_with_intervals_and_charts(client_for: Any, web_env: Any) -> None:
    html = client_for("viewer").get("/").text
    overall = web_env.lens.metrics(by=[]).to_dict()[0]
    assert f"n={overall['csat_n']:,}" in html
    assert html.count('type="application/json"') >= 4  # three metric trends and conversion/churn
    assert "Conversion" in html and "Churn" in html and "Touchpoints below target" in html


def test_journey_map_cards_and_filter_in_url(client_for: Any, web_env: Any) -> None:
    client = client_for("analyst")
    everyone, app_only = client.get("/journey-map").text, client.get("/journey-map?channel=app").text
    assert "KYC document upload" in everyone and 'href="/touchpoints/KYC%20document%20upload"' in everyone
    total = web_env.lens.journey_map().to_dict()["customers"]
    app = web_env.lens.journey_map(filters=Filters(channel=("app",))).to_dict()["customers"]
    assert app < total
    assert f"{total:,} customers" in everyone and f"{app:,} customers" in app_only
    assert 'value="app" selected' in app_only  # the filter bar shows the URL's filter
    assert "status-missed" in everyone or "status-at_risk" in everyone


def test_funnel_builder_partial(client_for: Any) -> None:
    client = client_for("viewer")
    partial = client.get("/funnel?step=Open+account+online&step=Account+approved&mode=ordered",
                         headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.text
    assert "Open account online → Account approved" in partial.text
    assert "/export/funnel.csv?" in partial.text and "steps=Open+account+online%2CAccount+approved" in partial.text
    bad = client.get("/funnel?step=Open+account+online", headers={"HX-Request": "true"})
    assert "at least two funnel steps" in bad.text


def test_export_csv_is_the_results_frame(client_for: Any, web_env: Any) -> None:
    client = client_for("viewer")
    response = client.get("/export/funnel.csv?steps=Open+account+online,Account+approved&mode=ordered")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    exported = pd.read_csv(io.StringIO(response.text))
    expected = web_env.lens.funnel(["Open account online", "Account approved"]).to_frame()
    assert list(exported.columns) == list(expected.columns)
    assert exported["customers"].tolist() == expected["customers"].tolist()
    flows = pd.read_csv(io.StringIO(client.get("/export/journey_map.csv?part=flows").text))
    assert {"from_stage", "to_stage", "customers"} <= set(flows.columns) and len(flows) > 0
    assert client.get("/export/nonsense.csv").status_code == 404
    assert client_for("agent").get("/export/funnel.csv?steps=a,b").status_code == 403


def test_customer_lookup_redirects_and_reports_unknown(client_for: Any) -> None:
    client = client_for("agent")
    found = client.get("/customers?q=C000007", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == "/customers/C000007"
    page = client.get("/customers/C000007").text
    assert "Timeline, newest first" in page and "Export CSV" in page
    missing = client.get("/customers/NOPE-404")
    assert missing.status_code == 404 and "NOPE-404" in missing.text


def test_user_text_is_escaped(client_for: Any, web_env: Any) -> None:
    attack = "<script>alert(1)</script> the app keeps logging me out"
    web_env.lens.ingest("feedback", pd.DataFrame({
        "timestamp": [pd.Timestamp("2025-02-01T09:00", tz="UTC")], "customer_id": ["C000007"],
        "touchpoint": ["Mobile app login"], "csat": [1], "comment": [attack]}))
    time.sleep(1.1)  # the dashboard re-reads the data version at most once a second
    client = client_for("admin")
    for path in ("/customers/C000007", "/touchpoints/Mobile%20app%20login"):
        html = with_fragments(client, path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "<script>alert(1)" not in html, path
    figure = client.get("/customers/C000007").text
    assert "</script><" not in re.sub(r"</script>\s*<", "", figure.split("timeline-chart-data")[-1][:20000])


def test_results_are_cached_per_data_version(client_for: Any, web_env: Any) -> None:
    client = client_for("viewer")
    client.get("/channels?channel=web")  # the first page creates the cache
    cache = web_env.app.state.web_cache
    now = [1_000_000.0]  # the cache's clock, moved by hand: no dependence on how fast requests run
    cache.clock = lambda: now[0]
    try:
        client.get("/channels?channel=web")
        before = cache.stats()
        client.get("/channels?channel=web")
        after = cache.stats()
        assert after["misses"] == before["misses"] and after["hits"] > before["hits"]
        web_env.lens.ingest("feedback", pd.DataFrame({"timestamp": [pd.Timestamp("2025-02-02", tz="UTC")],
                                                      "customer_id": ["C000008"], "nps": [9]}))
        now[0] += cache.version_ttl_seconds / 2
        client.get("/channels?channel=web")
        assert cache.stats()["misses"] == after["misses"]  # the data version is re-read at most once a TTL
        now[0] += cache.version_ttl_seconds
        client.get("/channels?channel=web")
        assert cache.stats()["misses"] > after["misses"]  # a new data version computes again
    finally:
        cache.clock = time.monotonic


def test_static_assets_offline(anonymous: Any) -> None:
    plotly = anonymous.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and "javascript" in plotly.headers["content-type"]
    assert len(plotly.content) > 1_000_000
    assert anonymous.get("/static/vendor/htmx.min.js").status_code == 200
    assert anonymous.get("/static/app.css").status_code == 200
    for bad in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/.hidden", "/static/nope.js"):
        assert anonymous.get(bad).status_code == 404, bad


def test_pages_load_nothing_from_other_hosts(client_for: Any) -> None:
    html = client_for("admin").get("/").text
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_definition_validate_and_suggest(client_for: Any, csrf: Any, web_env: Any) -> None:
    client = client_for("analyst")
    page = client.get("/journey-definition")
    token = csrf(page.text)
    valid = client.post("/journey-definition/check", data={"csrf_token": token, "yaml": web_env.journey.read_text()})
    assert valid.status_code == 200 and "Valid. It matches" in valid.text
    broken = client.post("/journey-definition/check", data={"csrf_token": token, "yaml": "name: X\nstages: 3\n"})
    assert broken.status_code == 422 and "not valid" in broken.text
    assert client.post("/journey-definition/check", data={"yaml": "name: X"}).status_code == 403
    suggested = client.get("/journey-definition/suggest")
    assert suggested.status_code == 200 and "Suggested journey.yaml" in suggested.text


def test_bad_parameters_show_a_message(client_for: Any) -> None:
    response = client_for("viewer").get("/variants?top=nope")
    assert response.status_code == 422 and "top must be a number" in response.text


def test_touchpoint_page_shows_target_and_status(client_for: Any, web_env: Any) -> None:
    html = with_fragments(client_for("viewer"), "/touchpoints/Mobile%20app%20login")
    row = next(r for r in web_env.lens.metrics(by=["touchpoint", "stage"]).to_dict(detail=True)
               if r["touchpoint"] == "Mobile app login")
    assert row["csat_target"] == 0.85
    assert "target 85%" in html and f"status-{row['target_status'] or 'none'}" in html


def test_touchpoint_tiles_judge_targets_on_the_scores_they_show(client_for: Any, web_env: Any) -> None:
    """Each score tile's target status is the status of the touchpoint's own answers (the score
    next to it), not of the journey map's linked answers, which also count responses without a
    touchpoint attached to the customer's nearest event."""
    from types import SimpleNamespace

    from markupsafe import escape

    from journeylens.surfaces.web import views
    from journeylens.surfaces.web.rendering import status_label

    name = "Mobile app login"
    own = web_env.lens.metrics(by=["touchpoint"], filters=Filters(touchpoint=[name])).to_dict(detail=True)[0]
    linked = next(r for r in web_env.lens.metrics(by=["touchpoint", "stage"]).to_dict(detail=True)
                  if r["touchpoint"] == name)
    assert own["n"] < linked["n"]  # the demo has unattributed answers linked to this touchpoint
    shown = views.VIEWS["touchpoint_scores"].compute(SimpleNamespace(lens=web_env.lens), touchpoint=name,
                                                     filters=Filters(touchpoint=[name])).to_dict(detail=True)
    assert [(r["touchpoint"], r["n"], r["csat_target"]) for r in shown] == [(name, own["n"], 0.85)]
    html = client_for("viewer").get("/touchpoints/Mobile%20app%20login").text
    tiles = re.findall(r'<span class="target">target [^·]+· ([^<]+)</span>', html)
    expected = [status_label(own[f"{m}_target_status"], own[f"{m}_target"])
                for m in ("nps", "csat", "ces") if own.get(f"{m}_target") is not None]
    assert tiles and tiles == [escape(t) for t in expected]
    # the NPS answers counted are the touchpoint's own
    assert re.search(rf"NPS answers, 0–10 \({own['nps_n']:,} answers\)", html)


def test_touchpoint_page_shows_the_newest_comments(client_for: Any, web_env: Any) -> None:
    from markupsafe import escape

    records = web_env.lens.sentiment(touchpoint=["Mobile app login"], comment_limit=None).records
    assert len(records) > 12
    newest = sorted(records, key=lambda r: r["timestamp"], reverse=True)[:12]
    html = with_fragments(client_for("viewer"), "/touchpoints/Mobile%20app%20login")
    shown = html.split('id="comments-title"')[1].split("</section>")[0]
    assert str(escape(newest[0]["comment"])) in shown
    dates = re.findall(r'<span class="meta">(\d{4}-\d{2}-\d{2})', shown)
    assert dates == [f'{r["timestamp"]:%Y-%m-%d}' for r in newest]  # newest first, not the oldest 200
