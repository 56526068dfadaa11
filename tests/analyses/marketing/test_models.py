"""Attribution models against hand-computed cases, an independent plain-Python implementation
(hypothesis) and, for the exact Markov chain, a brute-force Monte-Carlo simulation."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylens.analyses.marketing import heuristics, markov, shapley
from journeylens.analyses.marketing.attribution import attribute, parse_models
from journeylens.analyses.marketing.touches import DIRECT, Touches
from journeylens.errors import ParameterError


def by_label(t: Touches, values: np.ndarray) -> dict[str, float]:
    return {label: round(float(v), 9) for label, v in zip(t.labels, values, strict=True)}


# --- hand-computed ---------------------------------------------------------------------------
PATHS = [["search", "social", "email"], ["social"], ["search", "search"], []]
CONV = [1, 1, 0, 1]
VALUE = [100.0, 50.0, 0.0, 10.0]
DAYS = [[14.0, 7.0, 0.0], [3.0], [2.0, 1.0], []]


@pytest.fixture
def t() -> Touches:
    return Touches.from_paths(PATHS, conversions=CONV, value=VALUE, days_before=DAYS)


@pytest.mark.parametrize(("model", "conversions", "value"), [
    ("first", {"search": 1, "social": 1, "email": 0, DIRECT: 1}, {"search": 100, "social": 50, "email": 0, DIRECT: 10}),
    ("last", {"search": 0, "social": 1, "email": 1, DIRECT: 1}, {"search": 0, "social": 50, "email": 100, DIRECT: 10}),
    ("linear", {"search": 1 / 3, "social": 4 / 3, "email": 1 / 3, DIRECT: 1},
     {"search": 100 / 3, "social": 50 + 100 / 3, "email": 100 / 3, DIRECT: 10}),
    # 40/20/40 on three touches; the one-touch journeys keep everything
    ("position", {"search": 0.4, "social": 1.2, "email": 0.4, DIRECT: 1},
     {"search": 40, "social": 70, "email": 40, DIRECT: 10}),
    # half-life 7 days: weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7
    ("time-decay", {"search": 1 / 7, "social": 2 / 7 + 1, "email": 4 / 7, DIRECT: 1},
     {"search": 100 / 7, "social": 200 / 7 + 50, "email": 400 / 7, DIRECT: 10}),
])
def test_heuristics_by_hand(t: Touches, model: str, conversions: dict[str, float], value: dict[str, float]) -> None:
    conv, val = heuristics.credit(t, model, half_life_days=7.0)
    assert by_label(t, conv) == pytest.approx(conversions)
    assert by_label(t, val) == pytest.approx(value)


def test_position_two_touches_split_by_the_end_shares() -> None:
    two = Touches.from_paths([["a", "b"]], conversions=[1])
    assert heuristics.credit(two, "position", first_share=0.3, last_share=0.6)[0].tolist() == pytest.approx([1 / 3, 2 / 3])
    with pytest.raises(ParameterError):
        heuristics.credit(two, "position", first_share=0.7, last_share=0.6)


def test_time_decay_needs_touch_times() -> None:
    aggregated = Touches.from_paths([["a", "b"]], conversions=[3])
    with pytest.raises(ParameterError, match="time-decay"):
        heuristics.credit(aggregated, "time-decay")


def test_markov_by_hand() -> None:
    # start→a 2/3, start→b 1/3; a→b 1/2, a→null 1/2; b→conv 1 (both b's converted)
    t = Touches.from_paths([["a", "b"], ["a"], ["b"]], conversions=[1, 0, 1])
    chain = markov.markov_chain(t)
    assert chain.conversion_probability == pytest.approx(2 / 3)
    # without a: only start→b survives (1/3); without b: nothing converts
    assert chain.removal_effects == pytest.approx((0.5, 1.0))
    conv, _ = markov.credit(t)
    assert conv.tolist() == pytest.approx([2 * 0.5 / 1.5, 2 * 1.0 / 1.5])


def test_markov_second_order_by_hand() -> None:
    # a>b converts, c>b does not: first order cannot tell the two b's apart, second order can.
    t = Touches.from_paths([["a", "b"], ["c", "b"]], conversions=[1, 0])
    first = markov.markov_chain(t, order=1)
    second = markov.markov_chain(t, order=2)
    assert first.removal_effects == pytest.approx((0.5, 1.0, 0.5))  # labels a, b, c: c looks useful
    # second order: states (a), (a,b), (c), (c,b); only a→(a,b) converts
    assert second.conversion_probability == pytest.approx(0.5)
    assert second.removal_effects == pytest.approx((1.0, 1.0, 0.0))


def test_shapley_by_hand() -> None:
    # v(a) = 1/2, v(b) = 0/2, v(ab) = 2/5 → φa = (0.5 + 0.4)/2, φb = (0 - 0.1)/2
    t = Touches.from_paths([["a"], ["a"], ["b"], ["b"], ["a", "b"]], conversions=[1, 0, 0, 0, 1])
    sv = shapley.shapley_values(t)
    assert sv.exact and sv.values.tolist() == pytest.approx([0.45, -0.05])
    conv, *_ = shapley.credit(t)
    assert conv.tolist() == pytest.approx([2 * 0.45 / 0.4, -2 * 0.05 / 0.4])


def test_shapley_sampling_states_its_error() -> None:
    rng = np.random.default_rng(3)
    labels = [f"c{i}" for i in range(6)]
    paths = [list(rng.choice(labels, size=rng.integers(1, 4))) for _ in range(300)]
    t = Touches.from_paths(paths, conversions=rng.integers(0, 2, 300).tolist())
    exact = shapley.shapley_values(t)
    sampled = shapley.shapley_values(t, exact_limit=2, samples=400, seed=1)
    assert not sampled.exact and (sampled.values_se > 0).all()
    assert np.all(np.abs(sampled.values - exact.values) < 5 * sampled.values_se + 1e-12)


def test_parse_models_names_the_allowed_ones() -> None:
    assert parse_models("first,markov") == ("first", "markov")
    with pytest.raises(ParameterError, match="allowed: first, last"):
        parse_models("first,magic")


def test_every_model_credits_all_conversions(t: Touches) -> None:
    rows = attribute(t).to_dict()
    for model in {r["model"] for r in rows}:
        total = sum(r["conversions"] for r in rows if r["model"] == model)
        assert total == pytest.approx(3.0), model


# --- independent implementation (plain Python, one journey at a time) -------------------------
def reference_credit(paths: list[list[str]], days: list[list[float]], conv: list[int], model: str,
                     half_life: float, first: float, last: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for path, ds, c in zip(paths, days, conv, strict=True):
        if not path:
            path, ds = [DIRECT], [0.0]
        n = len(path)
        if model == "first":
            w = [1.0] + [0.0] * (n - 1)
        elif model == "last":
            w = [0.0] * (n - 1) + [1.0]
        elif model == "linear":
            w = [1.0 / n] * n
        elif model == "time-decay":
            raw = [0.5 ** (d / half_life) for d in ds]
            w = [x / sum(raw) for x in raw]
        elif n == 1:
            w = [1.0]
        elif n == 2:
            w = [first / (first + last), last / (first + last)]
        else:
            w = [first] + [(1 - first - last) / (n - 2)] * (n - 2) + [last]
        for name, weight in zip(path, w, strict=True):
            out[name] = out.get(name, 0.0) + weight * c
    return out


journeys = st.lists(st.tuples(st.lists(st.sampled_from("abcd"), max_size=6), st.integers(0, 1)), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(journeys, st.sampled_from(heuristics.HEURISTIC_MODELS), st.floats(0.5, 30), st.floats(0.05, 0.5),
       st.floats(0.05, 0.5))
def test_heuristics_match_plain_python(data: list[tuple[list[str], int]], model: str, half_life: float,
                                       first: float, last: float) -> None:
    paths = [p for p, _ in data]
    conv = [c for _, c in data]
    days = [sorted((random.Random(i).uniform(0, 40) for _ in p), reverse=True) for i, p in enumerate(paths)]
    t = Touches.from_paths(paths, conversions=conv, days_before=days)
    ours = by_label(t, heuristics.credit(t, model, half_life_days=half_life, first_share=first, last_share=last)[0])
    expected = reference_credit(paths, days, conv, model, half_life, first, last)
    assert ours == pytest.approx({k: expected.get(k, 0.0) for k in ours}, abs=1e-9)


# --- exact Markov against a brute-force simulation ------------------------------------------
def simulate(chain: markov.MarkovChain, removed: int | None, draws: int, rng: np.random.Generator) -> float:
    """Random walks from start on the fitted chain (states containing ``removed`` → null)."""
    q, r = chain.probabilities()
    q = q.toarray()
    null = 1.0 - q.sum(axis=1) - r
    size = len(chain.states)
    cumulative = np.cumsum(np.c_[q, r, null], axis=1)
    blocked = np.array([removed is not None and removed in s for s in chain.states])
    state = np.zeros(draws, dtype=np.int64)
    alive = np.ones(draws, dtype=bool)
    converted = np.zeros(draws, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        u = rng.random(len(idx))
        nxt = (u[:, None] > cumulative[state[idx]]).sum(axis=1)
        done = nxt >= size
        converted[idx[done & (nxt == size)]] = True
        alive[idx[done]] = False
        moving = idx[~done]
        state[moving] = nxt[~done]
        hit = blocked[state[moving]]
        alive[moving[hit]] = False
    return float(converted.mean())


@pytest.mark.parametrize("order", [1, 2])
def test_exact_markov_matches_a_brute_force_simulation(order: int) -> None:
    rng = np.random.default_rng(11)
    labels = ["search", "social", "tv", "email"]
    bias = {"search": 0.3, "social": 0.1, "tv": 0.2, "email": 0.4}
    paths, conv = [], []
    for _ in range(400):
        path = list(rng.choice(labels, size=rng.integers(1, 5)))
        paths.append(path)
        conv.append(int(rng.random() < min(0.9, sum(bias[c] for c in set(path)))))
    t = Touches.from_paths(paths, conversions=conv)
    chain = markov.markov_chain(t, order=order)
    draws = 200_000
    base = simulate(chain, None, draws, rng)
    se = math.sqrt(base * (1 - base) / draws)
    assert abs(base - chain.conversion_probability) < 4 * se
    for code in range(len(t.labels)):
        p = simulate(chain, code, draws, rng)
        se = math.sqrt(max(p * (1 - p), 1e-12) / draws)
        assert abs(p - chain.conversion_probability * (1 - chain.removal_effects[code])) < 4 * se + 1e-12


@settings(max_examples=40, deadline=None)
@given(journeys)
def test_unique_paths_merge_exactly_the_identical_paths(data: list[tuple[list[str], int]]) -> None:
    t = Touches.from_paths([p for p, _ in data], conversions=[c for _, c in data])
    paths = t.unique_paths()
    seen = [tuple(t.labels[c] for c in paths.paths[paths.path_of[j]]) for j in range(t.n_journeys)]
    assert seen == [tuple(p) if p else (DIRECT,) for p, _ in data]
    assert len(paths.paths) == len(set(seen))
