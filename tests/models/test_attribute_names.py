"""Customer attributes that are dates, or whose levels carry JSON characters, still make a churn model
(found when the demo's customers were doubled for the 1M benchmark: every ``opened_at`` appeared twice,
was taken for a category, and LightGBM refused the ``opened_at=2024-01-03 07:52:13+00`` columns)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from journeylens.models.classifier import CalibratedClassifier
from journeylens.models.features import attribute_frame


def test_dates_become_days_and_categories_keep_their_names() -> None:
    frame = pd.DataFrame({"customer_id": list("abcd"), "plan": ["gold: 1", "gold: 1", "basic", "basic"],
                          "attributes": [json.dumps({"opened_at": f"2024-01-0{d} 08:00:00+00"}) for d in (1, 1, 2, 2)]})
    out = attribute_frame(frame)
    assert list(out.columns) == ["plan=basic", "plan=gold: 1", "opened_at"]
    assert out["opened_at"].diff().iloc[2] == 1.0  # days


def test_lightgbm_accepts_feature_names_with_json_characters() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    X = pd.DataFrame({"plan=gold: 1": rng.integers(0, 2, n).astype(float), "calls [30 days]": rng.poisson(1, n)})
    y = rng.random(n) < 1 / (1 + np.exp(-(-1 + 1.2 * X["plan=gold: 1"] + 0.5 * X["calls [30 days]"])))
    model = CalibratedClassifier(algorithm="lightgbm").fit(X, y)
    p, effects = model.explain(X.head(5))
    assert list(effects.columns) == ["plan=gold: 1", "calls [30 days]"] and ((p > 0) & (p < 1)).all()
