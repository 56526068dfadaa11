"""Sections loaded after their page show exactly the analysis results (and pages that defer
them still answer with everything above the fold)."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import escape
from tests.surfaces.web.page_fragments import swap_fragments, with_fragments

from journeylens.analyses.filters import Filters
from journeylens.analyses.properties import discover
from journeylens.surfaces.web.sections import OVERVIEW_HARMS, SPLIT_MAX_VALUES


def _fragment_urls(html: str) -> list[str]:
    return re.findall(r'hx-get="([^"]+)"[^>]*hx-trigger="load"', html)


def test_overview_defers_the_slow_sections_and_they_match_the_analyses(client_for: Any, web_env: Any) -> None:
    client = client_for("viewer")
    page = client.get("/?channel=app").text
    assert "<h1>Overview</h1>" in page and 'id="kpi-title"' in page
    urls = _fragment_urls(page)
    assert {"/overview/section/changes?channel=app", "/overview/section/harms?channel=app",
            "/overview/section/worst?channel=app"} <= set(urls)
    lens, filters = web_env.lens, Filters.from_strings(channel="app")
    harms = client.get("/overview/section/harms?channel=app").text
    expected = lens.switch_impact(filters=filters).harmful()[:OVERVIEW_HARMS]
    shown = re.findall(r'<p class="insight-title"><strong>([^<]+)</strong>', harms)
    assert shown == [str(escape(f"{r['stage']}: {r['from_channel'].replace('_', ' ')} → {r['to_channel'].replace('_', ' ')}"))
                     for r in expected]
    changes = client.get("/overview/section/changes?channel=app").text
    result = lens.metric_changes(by=["touchpoint"], period="month", filters=filters, every_period=True)
    tested = sum(1 for r in result.to_dict() if r.get("p") is not None)
    significant = list(result.significant())
    assert (f"{len(significant)} significant of {tested:,} tested" in changes
            or f"No significant change among {tested:,} tested" in changes)
    worst = client.get("/overview/section/worst?channel=app").text
    rows = [r for r in lens.metrics(by=["touchpoint", "stage"], filters=filters).to_dict(detail=True)
            if r.get("touchpoint") and r.get("target_status") in ("missed", "at_risk")]
    assert len(re.findall(r"<tr><td><a href=\"/touchpoints/", worst)) == min(10, len(rows))


def test_split_options_are_the_properties_with_a_few_values(client_for: Any, web_env: Any) -> None:
    lens = web_env.lens
    properties = discover(lens.events(), lens.warehouse.table("feedback"), lens.warehouse.table("customers"))
    expected = [r["property"] for r in properties.to_dict() if 1 < r["distinct"] <= SPLIT_MAX_VALUES]
    assert expected, "the demo has properties to split by"
    options = client_for("viewer").get(f"/split-options?split={expected[0]}").text
    assert re.findall(r'<option value="([^"]*)"', options) == ["", *expected]
    assert f'<option value="{expected[0]}" selected>' in options
    page = with_fragments(client_for("viewer"), "/journey-map")
    assert f'<option value="{expected[-1]}">' in page


def test_touchpoint_card_and_comments_load_after_the_page(client_for: Any, web_env: Any) -> None:
    client = client_for("analyst")
    page = client.get("/touchpoints/Mobile%20app%20login").text
    assert "<h1>Mobile app login</h1>" in page and 'id="scores-title"' in page
    full = swap_fragments(client, page)
    card = next(c for s in web_env.lens.journey_map().to_dict()["stages"] for c in s["touchpoints"]
                if c["touchpoint"] == "Mobile app login")
    assert f"<dt>Customers</dt><dd>{card['customers']:,}" in full
    sentiment = web_env.lens.sentiment(touchpoint=["Mobile app login"], comment_limit=None)
    assert f"{sentiment.overall['n']:,} comments" in full or f"{sentiment.overall['n']} comments" in full
    assert client.get("/touchpoints/No%20such%20touchpoint").status_code == 404


def test_channel_impact_loads_after_the_channel_page(client_for: Any, web_env: Any) -> None:
    client = client_for("viewer")
    page = client.get("/channels").text
    assert "/channels/impact" in _fragment_urls(page)
    impact = client.get("/channels/impact").text
    rows = re.findall(r'<th scope="row">([^<]+)</th>', impact)
    assert len(rows) == len(web_env.lens.switch_impact())


def test_identities_load_after_data_health_for_lookup_roles_only(client_for: Any, web_env: Any) -> None:
    from journeylens.ingest.stitching import identity_report

    analyst, viewer = client_for("analyst"), client_for("viewer")
    full = with_fragments(analyst, "/data-health")
    stats = identity_report(web_env.lens.warehouse.table("events"), limit=20).to_dict()["stats"]
    for key, value in stats.items():
        assert f"<dt>{key.replace('_', ' ')}</dt>" in full and value is not None
    assert "/data-health/identities" not in viewer.get("/data-health").text
    assert viewer.get("/data-health/identities", follow_redirects=False).status_code in (303, 403)


def test_cohort_builder_profiles_the_customers_only(web_env: Any) -> None:
    lens = web_env.lens
    everything = [r for r in lens.properties(top=20).to_dict() if r["source"] == "customer"]
    assert lens.properties(top=20, sources=("customer",)).to_dict() == everything
