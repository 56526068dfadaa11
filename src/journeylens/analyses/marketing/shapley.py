"""Shapley-value attribution over the channels present, exact up to a size limit.

A coalition ``S`` of channels is worth the conversion rate of the journeys that touched
*only* channels in ``S``: ``v(S) = conversions(T ⊆ S) / journeys(T ⊆ S)`` over the journeys'
channel sets ``T`` (0 when no journey qualifies), so journeys that did not convert count —
a channel that shows up mostly on non-converting journeys lowers the rate and earns less
(possibly negative) credit. ``v`` of every coalition comes from one subset-sum (zeta)
transform over the ``2**n`` channel masks; the Shapley value of channel ``i`` is the
weighted average of ``v(S ∪ {i}) - v(S)``. The values sum to ``v(all)``, the overall rate,
and each channel's credit is its value's share of that rate, applied to the total
conversions (value: the same with value per journey in place of conversions).

Above ``exact_limit`` channels (default 20: about a million coalitions), values are estimated from
``samples`` random channel orders; each row then carries the standard error of its credit
(the standard deviation of the sampled marginal contributions over ``sqrt(samples)``).

>>> from journeylens.analyses.marketing.touches import Touches
>>> t = Touches.from_paths([["a"], ["a"], ["b"], ["b"], ["a", "b"]], conversions=[1, 0, 0, 0, 1])
>>> [round(float(v), 4) for v in shapley_values(t).values]
[0.45, -0.05]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from journeylens.analyses.marketing.touches import Touches
from journeylens.errors import ParameterError

EXACT_LIMIT = 20
DEFAULT_SAMPLES = 500


@dataclass(frozen=True)
class ShapleyValues:
    """Per channel: the Shapley value on the conversion-rate scale and on the value-per-journey
    scale; ``*_se`` are 0 when exact."""

    values: np.ndarray
    value_values: np.ndarray
    values_se: np.ndarray
    value_values_se: np.ndarray
    exact: bool
    samples: int


def _channel_sets(t: Touches) -> np.ndarray:
    """Boolean matrix journeys x channels: did the journey touch the channel?"""
    sets = np.zeros((t.n_journeys, len(t.labels)), dtype=bool)
    sets[t.journey_of_touch, t.channel] = True
    return sets


def _exact(masks: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Shapley values of ``v(S) = Σ_{T⊆S} num(T) / Σ_{T⊆S} den(T)`` for each of the weight
    columns (num, den pairs), via the zeta transform. ``weights``: (masks, 3) = journeys,
    conversions, value."""
    table = np.zeros((1 << n, weights.shape[1]))
    np.add.at(table, masks, weights)
    for bit in range(n):  # zeta transform: table[S] = Σ_{T ⊆ S} table[T]
        step = 1 << bit
        view = table.reshape(-1, 2 * step, weights.shape[1])
        view[:, step:, :] += view[:, :step, :]
    journeys = table[:, 0]
    rates = np.divide(table[:, 1:], journeys[:, None], out=np.zeros_like(table[:, 1:]), where=journeys[:, None] > 0)
    all_masks = np.arange(1 << n)
    sizes = np.array([bin(m).count("1") for m in range(1 << n)])
    factorial = np.array([math.factorial(k) for k in range(n + 1)], dtype=np.float64)
    out = np.zeros((n, rates.shape[1]))
    for i in range(n):
        without = all_masks[(all_masks >> i) & 1 == 0]
        s = sizes[without]
        w = factorial[s] * factorial[n - s - 1] / factorial[n]
        out[i] = (w[:, None] * (rates[without | (1 << i)] - rates[without])).sum(axis=0)
    return out


def _sampled(sets: np.ndarray, weights: np.ndarray, samples: int,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = sets.shape[1]
    contributions = np.zeros((samples, n, weights.shape[1] - 1))
    set_sizes = sets.sum(axis=1)
    for k in range(samples):
        order = rng.permutation(n)
        inside = np.zeros(len(sets), dtype=np.int64)  # channels of each set already in the coalition
        previous = np.zeros(weights.shape[1] - 1)
        for i in order:
            inside += sets[:, i]
            covered = inside == set_sizes
            den = weights[covered, 0].sum()
            current = weights[covered, 1:].sum(axis=0) / den if den > 0 else np.zeros(weights.shape[1] - 1)
            contributions[k, i] = current - previous
            previous = current
    se = contributions.std(axis=0, ddof=1) / math.sqrt(samples) if samples > 1 else np.zeros((n, 2))
    return contributions.mean(axis=0), se


def shapley_values(t: Touches, *, exact_limit: int = EXACT_LIMIT, samples: int = DEFAULT_SAMPLES,
                   seed: int = 0) -> ShapleyValues:
    """Shapley values of every channel in ``t.labels``."""
    n = len(t.labels)
    if exact_limit > 24:
        raise ParameterError(f"exact_limit above 24 channels would need {2 ** exact_limit:,} coalitions.")
    sets = _channel_sets(t)
    weights = np.c_[t.conversions + t.nulls, t.conversions, t.value]
    # Merge journeys with the same channel set first: far fewer rows for the sums.
    unique_sets, inverse = np.unique(sets, axis=0, return_inverse=True)
    merged = np.zeros((len(unique_sets), 3))
    np.add.at(merged, inverse.ravel(), weights)
    if n <= exact_limit:
        masks = (unique_sets.astype(np.int64) << np.arange(n)).sum(axis=1)
        out = _exact(masks, merged, n)
        zero = np.zeros(n)
        return ShapleyValues(out[:, 0], out[:, 1], zero, zero, True, 0)
    if samples < 2:
        raise ParameterError(f"samples must be at least 2, got {samples}.")
    mean, se = _sampled(unique_sets, merged, samples, np.random.default_rng(seed))
    return ShapleyValues(mean[:, 0], mean[:, 1], se[:, 0], se[:, 1], False, samples)


def _scaled(values: np.ndarray, se: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray]:
    rate = values.sum()
    if rate == 0:
        return np.zeros_like(values), np.zeros_like(values)
    return values / rate * total, se / abs(rate) * total


def credit(t: Touches, **params: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Conversions and value credited per channel, plus their standard errors (0 when exact)."""
    sv = shapley_values(t, **params)
    conv, conv_se = _scaled(sv.values, sv.values_se, float(t.conversions.sum()))
    value, value_se = _scaled(sv.value_values, sv.value_values_se, float(t.value.sum()))
    return conv, value, conv_se, value_se
