"""The CX programme in a real browser: a team member takes the maturity questionnaire, the
assessment shows levels, disagreement and playbook, and both pages pass axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle", timeout=120_000)


def test_take_the_questionnaire_then_assess(page: Any, screenshots: Path) -> None:
    page.goto("/maturity/questionnaire")
    _settle(page)
    assert page.get_by_role("heading", level=1, name="Maturity self-assessment").is_visible()
    page.get_by_role("group", name="Is your journey map kept up to date with what customers actually do?") \
        .get_by_label("5 — It changes as soon as the data shows a deviation").check()
    page.get_by_role("group", name="Do teams use the journey map when they plan changes?").get_by_label("4").check()
    page.get_by_role("button", name="Save my answers").click()
    _settle(page)
    assert "your answers are saved" in page.locator("[role=status]").inner_text()
    page.goto("/maturity")
    _settle(page)
    page.get_by_role("button", name="Assess now").click()
    _settle(page)
    assert page.get_by_role("heading", level=2, name="Level").first.is_visible()
    assert page.locator("#maturity-radar .main-svg").count() > 0
    disagreements = page.locator(".notice", has_text="Where opinion and evidence disagree").inner_text()
    assert "The journey map itself" in disagreements and "days old" in disagreements
    assert page.locator("ol.playbook li").count() > 0
    assert page.console_errors == []
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshots / "maturity.png"), full_page=False)  # the README's picture


@pytest.mark.parametrize("path", ["/maturity", "/maturity/questionnaire", "/reports"])
def test_programme_pages_are_accessible(page: Any, path: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    page.goto(path)
    _settle(page)
    results = Axe().run(page)
    serious = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
               if v.get("impact") in ("serious", "critical")]
    assert serious == []
