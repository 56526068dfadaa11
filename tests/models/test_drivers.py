"""Survey key drivers: the planted driver wins, the priority matrix, errors that name things."""

from __future__ import annotations

import pandas as pd
import pytest

from journeylens import JourneyLens
from journeylens.errors import DegenerateDataError, TooFewRowsError, UnknownNameError
from journeylens.models.drivers import QUADRANTS, quadrant
from journeylens.models.importance import DriverImportance


def test_planted_driver_is_most_important(survey_lens: JourneyLens) -> None:
    result = survey_lens.drivers(target="nps", n_bootstrap=50).to_dict()
    assert set(result) == {"target", "n", "r2", "method", "drivers"}
    assert [d["driver"] for d in result["drivers"]][:2] == ["sat_app", "sat_branch"]
    assert sum(d["importance"] for d in result["drivers"]) == pytest.approx(1.0)
    top = result["drivers"][0]
    assert top["importance_low"] <= top["importance"] <= top["importance_high"]
    assert top["effect"] == pytest.approx(1.5, abs=0.2)
    assert set(top) == {"driver", "importance", "importance_low", "importance_high", "performance", "quadrant",
                        "effect", "sentence"}
    assert result["n"] == 1500 and "LMG" in result["method"] and "listwise" in result["method"]


def test_quadrants_follow_the_thresholds() -> None:
    assert quadrant(0.5, 40, 0.25, 60) == "fix first"
    assert quadrant(0.5, 80, 0.25, 60) == "keep up"
    assert quadrant(0.1, 40, 0.25, 60) == "monitor"
    assert quadrant(0.1, 80, 0.25, 60) == "possibly over-invested"
    assert set(QUADRANTS) == {"fix first", "keep up", "monitor", "possibly over-invested"}


def test_unknown_driver_lists_what_exists(survey_lens: JourneyLens) -> None:
    with pytest.raises(UnknownNameError) as info:
        survey_lens.drivers(target="nps", drivers=["sat_nothing"])
    assert info.value.details["available"] == ["sat_app", "sat_branch", "sat_fees"]


def test_missing_answers_are_left_out_and_counted() -> None:
    X = pd.DataFrame({"a": [1.0, 2, 3, None] * 20, "b": [2.0, 1, 4, 3] * 20})
    y = pd.Series([1.0, 2, 4, 3] * 20) + pd.Series(range(80)) % 3
    model = DriverImportance(n_bootstrap=10).fit(X, y)
    assert model.n_ == 60 and model.n_dropped_ == 20


def test_constant_driver_and_too_few_rows_are_named() -> None:
    X = pd.DataFrame({"a": range(50), "flat": [3.0] * 50})
    with pytest.raises(DegenerateDataError, match="flat"):
        DriverImportance().fit(X, pd.Series(range(50)) % 7)
    with pytest.raises(TooFewRowsError) as info:
        DriverImportance(min_n=30).fit(X.head(10), pd.Series(range(10)))
    assert info.value.details == {"needed": 30, "got": 10}
