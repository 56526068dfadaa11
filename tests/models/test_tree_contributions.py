"""Per-tree TreeSHAP on distinct split outcomes equals LightGBM's own ``pred_contrib``."""

from __future__ import annotations

import numpy as np
import pytest

from journeylens.models.tree_contributions import tree_contributions

lgb = pytest.importorskip("lightgbm")


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 4000
    X = np.column_stack([rng.poisson(2, (n, 5)).astype(float), rng.exponential(30, (n, 2)), rng.normal(size=(n, 2))])
    X[rng.random(X.shape) < 0.05] = np.nan
    X[rng.random(n) < 0.3, 1] = 0.0
    y = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 5]) / 30 + X[:, 7] * (X[:, 1] > 2) + rng.normal(size=n) > 1
    return X, y


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_equals_pred_contrib_with_missing_values_and_zeros(zero_as_missing: bool) -> None:
    X, y = _data(1)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 15, "max_depth": 4, "zero_as_missing": zero_as_missing,
              "num_threads": 1, "deterministic": True}
    booster = lgb.train(params, lgb.Dataset(X[:3000], y[:3000]), 60)
    ours = tree_contributions(booster, X[3000:])
    theirs = booster.predict(X[3000:], pred_contrib=True)
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-10
    assert np.allclose(ours.sum(axis=1), booster.predict(X[3000:], raw_score=True))


def test_early_stopped_model_uses_its_best_trees() -> None:
    X, y = _data(2)
    model = lgb.LGBMClassifier(n_estimators=300, learning_rate=0.2, num_leaves=7, verbose=-1, n_jobs=1)
    model.fit(X[:2500], y[:2500], eval_set=[(X[2500:3000], y[2500:3000])],
              callbacks=[lgb.early_stopping(5, verbose=False)])
    assert 0 < model.best_iteration_ < 300
    ours = tree_contributions(model.booster_, X[3000:])
    assert np.abs(ours - model.predict(X[3000:], pred_contrib=True)).max() < 1e-10
