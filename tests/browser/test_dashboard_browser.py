"""The dashboard in a real browser: sign-in, every page, filters, drill-down, lookup, export,
escaping, accessibility (axe-core) and the README screenshots."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAIN_PAGES = [
    ("/", "Overview"), ("/journey-map", "Journey map"), ("/funnel", "Funnel builder"), ("/variants", "Path variants"),
    ("/channels", "Channel hopping"), ("/micro-journeys?cohorts=online-only&cohorts=blended", "Micro-journeys"),
    ("/touchpoints/Mobile%20app%20login", "Mobile app login"), ("/customers/C000042", "Customer C000042"),
    ("/data-health", "Data health"), ("/journey-definition", "Journey definition"), ("/settings", "Settings"),
    ("/acquisition", "Acquisition: where customers come from and what the spend returns"),
    ("/departures", "Departures: why customers leave"),
]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle", timeout=120_000)


def test_sign_in_page_and_redirect(browser: Any, live_server: Any) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{live_server.url}/journey-map")
    assert tab.url.startswith(f"{live_server.url}/login?next=")
    assert tab.get_by_role("heading", name="Sign in to JourneyLens").is_visible()
    context.close()


@pytest.mark.parametrize(("path", "heading"), MAIN_PAGES)
def test_every_page_opens_without_console_errors(page: Any, path: str, heading: str) -> None:
    page.goto(path)
    _settle(page)
    assert page.get_by_role("heading", level=1, name=heading).is_visible()
    assert page.locator(".notice.error").count() == 0
    assert page.console_errors == []
    if page.locator("[data-figure]").count():
        assert page.locator("[data-figure] .main-svg").count() > 0  # Plotly drew the charts


def test_filter_lives_in_the_url(page: Any) -> None:
    page.goto("/journey-map")
    _settle(page)
    everyone = page.locator(".hint").first.inner_text()
    page.get_by_label("Channel").select_option("app")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"channel=app"))
    _settle(page)
    assert page.locator(".hint").first.inner_text() != everyone
    assert page.get_by_label("Channel").input_value() == "app"


def test_drill_from_the_map_into_a_touchpoint(page: Any) -> None:
    page.goto("/journey-map")
    _settle(page)
    page.locator(".tp-link", has_text="KYC document upload").first.click()
    page.wait_for_url(re.compile(r"/touchpoints/KYC"))
    _settle(page)
    assert page.get_by_role("heading", level=1, name="KYC document upload").is_visible()
    assert page.locator(".crumbs").get_by_role("link", name="Journey map").is_visible()


def test_customer_lookup(page: Any) -> None:
    page.goto("/customers")
    page.get_by_label("Customer or anonymous id").fill("C000042")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_url(re.compile(r"/customers/C000042$"))
    _settle(page)
    assert page.get_by_role("heading", name="Timeline, newest first").is_visible()
    assert page.locator(".timeline li").count() > 1


def test_export_csv_download(page: Any, tmp_path: Path) -> None:
    page.goto("/variants?top=5")
    _settle(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").first.click()
    target = tmp_path / "variants.csv"
    info.value.save_as(target)
    lines = target.read_text(encoding="utf-8").strip().splitlines()
    assert lines[0].startswith("path,customers,share") and len(lines) == 6


def test_funnel_builder_updates_in_place(page: Any) -> None:
    page.goto("/funnel")
    for index, step in enumerate(["Open account online", "KYC document upload", "Account approved"]):
        page.get_by_label(f"Step {index + 1}", exact=True).select_option(step)
    page.get_by_role("button", name="Build funnel").click()
    page.wait_for_url(re.compile(r"step=Open"))
    result = page.get_by_role("table", name=re.compile(r"^Funnel: Open account online"))
    result.wait_for(timeout=120_000)
    assert "KYC document upload" in result.inner_text()
    # the reconciliation with the journey map sits under the funnel, in the same swap
    assert page.locator("#funnel-result #funnel-vs-map").is_visible()
    assert page.console_errors == []


def test_comment_with_script_shows_as_text(page: Any, live_server: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"/customers/{live_server.attack_customer}")
    _settle(page)
    assert page.get_by_text(live_server.attack).first.is_visible()
    page.goto(f"/touchpoints/{live_server.attack_touchpoint}")
    _settle(page)
    assert page.get_by_text("<script>alert(1)</script>", exact=False).first.is_visible()
    assert dialogs == []


def test_planted_switch_problem_from_overview_to_channels(page: Any) -> None:
    """The demo's planted problem 3 (online → call centre in service) is where a CX manager looks."""
    page.goto("/")
    _settle(page)
    hurts = page.locator("section", has=page.get_by_role("heading", name="What hurts loyalty"))
    assert "service: web → call centre" in hurts.inner_text()
    hurts.get_by_role("link", name="All channel switches and their impact").click()
    page.wait_for_url(re.compile(r"/channels#switch-impact$"))
    _settle(page)
    harmful = page.locator("#switch-impact tr.harm th")
    assert "service: web → call centre" in harmful.all_inner_texts()
    assert page.locator("#impact-chart .main-svg").count() > 0
    assert page.console_errors == []


@pytest.mark.parametrize("path", ["/", "/journey-map", "/funnel", "/channels", "/touchpoints/Mobile%20app%20login",
                                  "/customers/C000042", "/data-health", "/settings", "/login", "/acquisition",
                                  "/departures"])
def test_no_serious_accessibility_violations(page: Any, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(path)
    _settle(page)
    results = Axe().run(page)
    serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert serious == []


def test_phone_sized_screen(browser: Any, live_server: Any, signed_in_state: Any) -> None:
    context = browser.new_context(storage_state=signed_in_state, viewport={"width": 390, "height": 844},
                                  base_url=live_server.url)
    tab = context.new_page()
    tab.goto("/journey-map")
    _settle(tab)
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 392  # nothing forces sideways scrolling of the page
    tab.get_by_role("button", name="Menu").click()
    assert tab.get_by_role("navigation", name="Main").get_by_role("link", name="Customers", exact=True).is_visible()
    context.close()


def _release_marker(page: Any) -> None:
    """The README's charts show the app release as an annotation, made in the dashboard."""
    page.goto("/data-health")
    _settle(page)
    if page.get_by_role("cell", name="App 6.0 released").count():
        return
    page.get_by_label("Date").fill("2024-09-15")
    page.get_by_label("Title").fill("App 6.0 released")
    page.get_by_label("Kind").select_option("release")
    page.get_by_role("button", name="Add annotation").click()
    page.wait_for_url("**/data-health**")


@pytest.mark.parametrize(("name", "path"), [
    ("overview", "/?preset=90d"), ("journey-map", "/journey-map"),
    ("touchpoint", "/touchpoints/Mobile%20app%20login?split=app_version"),
    ("customer", "/customers/C000727"), ("channels", "/channels"),  # C000727: service calls, comments, churn
    ("funnel", "/funnel?step=Website+product+page&step=Open+account+online&step=KYC+document+upload"
               "&step=Account+approved&step=Card+activation"),
    ("micro-journeys", "/micro-journeys?built=segment%3Dbusiness%7Cmass%3B+channels%3Dblended"),
])
def test_screenshots(page: Any, screenshots: Path, name: str, path: str) -> None:
    _release_marker(page)
    page.goto(path)
    _settle(page)
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)
    assert (screenshots / f"{name}.png").stat().st_size > 10_000
