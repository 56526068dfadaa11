"""The demo's planted satisfaction drop (the app release) surfaces as the top pain point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import journeylens
from journeylens.demo import PLANTED_PROBLEMS
from journeylens.demo.build import build_demo
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
    cells = demo_lens.pain_points(top=5).to_dict()
    top = cells[0]
    assert top["touchpoint"] == RELEASE.touchpoint  # type: ignore[attr-defined]
    topic = next(t for t in demo_lens.topics().to_dict()["topics"] if t["topic"] == top["topic"])
    assert "app" in " ".join(topic["keyphrases"])
    assert topic["touchpoints"].get(RELEASE.touchpoint, 0) >= top["n"]  # type: ignore[attr-defined]
