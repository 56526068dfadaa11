"""Issue 10 in a real browser, on the demo bank: every page says its period, a breakdown by
app_version shows the release, an annotation made in the dashboard is drawn on the time
charts, the funnel says why it differs from the map, and an unknown funnel step is an error
listing the close match."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from tests.browser.conftest import WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle", timeout=120_000)


def _traces(page: Any, plot_id: str) -> list[str]:
    names: list[str] = page.evaluate(f"document.getElementById('{plot_id}').data.map(t => t.name)")
    return names


def test_period_is_labelled_and_compared(page: Any) -> None:
    page.goto("/?preset=90d")
    _settle(page)
    header = page.locator(".period").inner_text()
    assert "Period:" in header and "compared with" in header and "previous 90 days" in header
    assert "data " in header  # the data's own date range
    changes = page.locator(".kpi .change").all_inner_texts()
    assert changes and all("previous period" in c or "too few" in c for c in changes)
    assert page.get_by_label("Period").input_value() == "90d"


def test_breakdown_by_app_version_shows_the_release(page: Any) -> None:
    page.goto("/")
    _settle(page)
    page.get_by_label("Split by").select_option("app_version")
    page.get_by_role("button", name="Split").click()
    page.wait_for_url("**split=app_version**")
    _settle(page)
    assert {"5.14.2", "6.0.0"} <= set(_traces(page, "trend-csat"))
    page.goto("/touchpoints/Mobile%20app%20login")  # topics load later (htmx): wait for the chart only
    page.get_by_label("Split by").select_option("app_version")
    page.get_by_role("button", name="Split").click()
    page.wait_for_url("**split=app_version**")
    page.wait_for_selector("#tp-trend-csat .main-svg", timeout=120_000)
    before, after = (page.evaluate(
        "v => { const t = document.getElementById('tp-trend-csat').data.find(t => t.name === v);"
        " const ys = t.y.filter(y => y !== null); return ys.reduce((a, b) => a + b, 0) / ys.length; }", v)
        for v in ("5.14.2", "6.0.0"))
    assert after < before - 0.2  # the planted CSAT drop after app 6.0


def test_annotation_made_in_the_dashboard_is_drawn_on_time_charts(page: Any) -> None:
    page.goto("/data-health")
    _settle(page)
    page.get_by_label("Date").fill("2024-09-15")
    page.get_by_label("Title").fill("App 6.0 released")
    page.get_by_label("Kind").select_option("release")
    page.get_by_role("button", name="Add annotation").click()
    page.wait_for_url("**/data-health**")
    assert page.get_by_role("cell", name="App 6.0 released").is_visible()
    page.goto("/")
    _settle(page)
    for plot in ("trend-nps", "trend-csat", "outcomes"):
        texts = page.evaluate(f"(document.getElementById('{plot}').layout.annotations || []).map(a => a.text)")
        assert "App 6.0 released" in texts, plot


def test_funnel_says_why_it_differs_from_the_map(page: Any) -> None:
    page.goto("/funnel?steps=Account%20approved,Card%20delivered")
    _settle(page)
    why = page.locator(".why").inner_text()
    assert "journey map" in why and "in this order" in why


def test_unknown_funnel_step_is_an_error_with_the_close_match(page: Any) -> None:
    page.goto("/funnel?steps=Account%20approved,Card%20deliverd")
    _settle(page)
    assert "did you mean 'Card delivered'" in page.locator("main").inner_text()
    assert page.locator("table").count() == 0


def test_cohort_built_in_the_dashboard_applies_across_pages_and_saves(page: Any, browser: Any,
                                                                      signed_in_state: Any, live_server: Any) -> None:
    """A person builds a cohort, sees it (size, CX metrics next to the defined cohorts), opens it
    on another page, shares the link, and saves the view. Every wait is for the thing the next
    step reads (a URL or an element), never a fixed time."""
    from playwright.sync_api import expect

    wait = WAIT_MS  # for expect(), whose own default is 5 s; page steps have the fixture's ceiling
    page.goto("/micro-journeys")
    expect(page.get_by_role("button", name="Build cohort")).to_be_visible(timeout=wait)
    page.get_by_label("segment", exact=True).select_option(["business", "mass"])
    page.get_by_label("Channels used").select_option("blended")
    page.get_by_role("button", name="Build cohort").click()
    page.wait_for_url("**/micro-journeys?built=**", timeout=wait)
    result = page.locator("#built-cohort")
    expect(result).to_contain_text("customers", timeout=wait)
    built = result.locator("code").inner_text()
    assert built in ("segment=business|mass; channels=blended", "segment=mass|business; channels=blended")
    summary = result.inner_text()
    size = int(summary.split("customers")[0].split(":")[-1].replace(",", "").strip())
    assert 0 < size < 2_000
    # Its CX metrics sit in the table next to the defined cohorts.
    row = page.locator("#cohort-metrics tbody tr", has=page.locator("code", has_text=built))
    expect(row).to_contain_text("built", timeout=wait)
    expect(page.locator("#cohort-metrics tbody tr", has_text="online-only")).to_contain_text("defined")
    shared = page.url

    # Applied on another page: the journey map counts only its customers.
    result.get_by_role("link", name="Journey map").click()
    page.wait_for_url("**/journey-map?cohort=**", timeout=wait)
    expect(page.get_by_label("Cohort")).to_have_value(built, timeout=wait)
    expect(page.locator("main")).to_contain_text(f"{size:,} customers", timeout=wait)

    # The shared link rebuilds the same cohort for a colleague (a fresh browser context).
    colleague = browser.new_context(storage_state=signed_in_state, base_url=live_server.url)
    try:
        other = colleague.new_page()
        other.set_default_navigation_timeout(wait)
        other.goto(shared)
        expect(other.locator("#built-cohort code")).to_have_text(built, timeout=wait)
        expect(other.locator("#built-cohort")).to_contain_text(f"{size:,} customers", timeout=wait)
    finally:
        colleague.close()

    # Saved as a view: listed, and its link rebuilds it.
    name = "Blended business and mass (browser)"
    page.goto(shared)
    expect(result).to_contain_text("customers", timeout=wait)
    page.get_by_label("Save this view as").fill(name)
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/micro-journeys?built=**", timeout=wait)
    token = page.locator("form.save-view input[name=csrf_token]").get_attribute("value")
    try:
        page.goto("/views")
        link = page.get_by_role("row", name=name).get_by_role("link")
        expect(link).to_have_attribute("href", re.compile(r"^/micro-journeys\?built="), timeout=wait)
        link.click()
        page.wait_for_url("**/micro-journeys?built=**", timeout=wait)
        expect(page.locator("#built-cohort code")).to_have_text(built, timeout=wait)
        # A saved cohort is a row of "CX metrics by cohort" even when another one is being built.
        page.goto("/micro-journeys")
        saved_row = page.locator("#cohort-metrics tbody tr", has=page.locator("code", has_text=built))
        expect(saved_row).to_contain_text(f"saved view “{name}”", timeout=wait)
    finally:  # the server is shared by the module's tests: leave no view behind
        gone = page.request.delete(f"/v1/views/{quote(name)}", headers={"X-CSRF-Token": token or ""})
        assert gone.status == 204, gone.text()


def test_moves_between_stages_split_by_app_version(page: Any) -> None:
    page.goto("/journey-map")
    _settle(page)
    page.get_by_label("Split by").select_option("app_version")
    page.get_by_role("button", name="Split").click()
    page.wait_for_url("**split=app_version**")
    _settle(page)
    headers = page.locator("#moves-table thead th").all_inner_texts()
    assert any("app_version = 6.0.0" in h for h in headers) and any("5.14.2" in h for h in headers)
    assert {"5.14.2", "6.0.0"} <= set(_traces(page, "moves-split"))


def test_funnel_and_map_agree_in_numbers(page: Any) -> None:
    page.goto("/funnel?steps=Account%20approved,Card%20delivered")
    _settle(page)
    row = page.locator("#funnel-vs-map tbody tr").first.locator("td").all_inner_texts()
    on_map, parts = int(row[1].replace(",", "")), [int(c.replace(",", "")) for c in row[2:]]
    assert on_map == sum(parts) and on_map > 0
    page.goto("/journey-map")
    _settle(page)
    card = page.locator(".tp", has_text="Card delivered").first.inner_text()
    assert f"{on_map:,} customers" in card  # the same number as the map's card
