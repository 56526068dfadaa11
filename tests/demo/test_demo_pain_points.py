"""The demo's planted satisfaction drop (the app release) surfaces as the top pain point, and as a
negative "app and website" aspect rising after the release."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import journeylens
from journeylens.demo import PLANTED_PROBLEMS
from journeylens.demo.build import build_demo
from journeylens.demo.planted import demo_window
from journeylens.settings import Settings

pytestmark = pytest.mark.slow

RELEASE = PLANTED_PROBLEMS["app_release_csat_drop"]


@pytest.fixture(scope="module")
def demo_lens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root: Path = tmp_path_factory.mktemp("pain_demo")
    opened: list[Any] = []

    def open_lens(journey: Path) -> Any:
        opened.append(journeylens.open(str(root / "demo.duckdb"), journey,
                                       settings=Settings(cache_dir=root / "cache")))
        return opened[0]

    build_demo(open_lens, customers=3_000, seed=42, out_dir=root / "files")
    yield opened[0]
    opened[0].warehouse.close()


def test_top_pain_point_is_the_planted_app_problem(demo_lens: Any) -> None:
    cells = demo_lens.pain_points(top=10).to_dict()
    top = next(c for c in cells if c["kind"] == "topic")
    assert top["touchpoint"] == RELEASE.touchpoint  # type: ignore[attr-defined]
    topic = next(t for t in demo_lens.topics().to_dict()["topics"] if t["topic"] == top["topic"])
    assert "app" in " ".join(topic["keyphrases"])
    assert topic["touchpoints"].get(RELEASE.touchpoint, 0) >= top["n"]  # type: ignore[attr-defined]


def test_the_app_release_shows_as_a_rising_negative_app_aspect(demo_lens: Any) -> None:
    release = demo_window(42).release
    rows = [r for r in demo_lens.response_aspects() if r["timestamp"] is not None]
    before = [r for r in rows if datetime.fromisoformat(r["timestamp"]) < release]
    after = [r for r in rows if datetime.fromisoformat(r["timestamp"]) >= release]
    def negative_app(group: list[dict[str, Any]]) -> float:
        return sum(r["aspect_app_website"] == "neg" for r in group) / len(group)
    assert len(before) > 100 and len(after) > 100
    # every touchpoint's comments pool here, so the release's effect is diluted: test it, don't eyeball a ratio
    from journeylens.analyses.stats import two_proportion_ztest

    rise = two_proportion_ztest(negative_app(before) * len(before), len(before),
                                negative_app(after) * len(after), len(after))
    assert negative_app(after) > 1.5 * negative_app(before) > 0 and rise.p_value < 0.01
    cells = [c for c in demo_lens.pain_points(top=50).to_dict() if c["kind"] == "aspect"]
    assert cells[0]["touchpoint"] == RELEASE.touchpoint and cells[0]["aspect"] == "app_website"  # type: ignore[attr-defined]
