"""Rule-based attribution: first touch, last touch, linear, time decay, position-based.

Each model gives every touch of a journey a weight; a journey's weights sum to 1 and its
conversions and value are split by them. All models are vectorised over the touch arrays of
:class:`~journeylens.analyses.marketing.touches.Touches` (no loop over journeys).

* ``first`` / ``last`` — all credit to the first / last touch.
* ``linear`` — equal shares.
* ``time-decay`` — weight ``2 ** (-days_before / half_life_days)`` (a touch ``half_life_days``
  before the conversion counts half as much as one at the conversion), normalised per journey.
* ``position`` — ``first_share`` to the first touch, ``last_share`` to the last, the rest shared
  equally by the touches between (40/20/40 by default). A one-touch journey gives it all; a
  two-touch journey splits ``first_share : last_share``.

>>> from journeylens.analyses.marketing.touches import Touches
>>> t = Touches.from_paths([["a", "b", "c"]], conversions=[1])
>>> credit(t, "position")[0].round(2).tolist()
[0.4, 0.2, 0.4]
"""

from __future__ import annotations

import numpy as np

from journeylens.analyses.marketing.touches import Touches
from journeylens.errors import ParameterError

HEURISTIC_MODELS: tuple[str, ...] = ("first", "last", "linear", "time-decay", "position")


def touch_weights(t: Touches, model: str, *, half_life_days: float = 7.0, first_share: float = 0.4,
                  last_share: float = 0.4) -> np.ndarray:
    """Weight of every touch within its journey (sums to 1 per journey)."""
    n = t.lengths[t.journey_of_touch].astype(np.float64)
    pos = np.arange(len(t.channel)) - t.offsets[:-1][t.journey_of_touch]
    if model == "first":
        return (pos == 0).astype(np.float64)
    if model == "last":
        return (pos == n - 1).astype(np.float64)
    if model == "linear":
        return 1.0 / n
    if model == "time-decay":
        if t.days_before is None:
            raise ParameterError("The time-decay model needs touch times; aggregated paths have none. "
                                 "Allowed with --paths: first, last, linear, position, markov, shapley.")
        if half_life_days <= 0:
            raise ParameterError(f"half_life_days must be > 0, got {half_life_days}.")
        raw = np.exp2(-np.maximum(t.days_before, 0.0) / half_life_days)
        total = np.bincount(t.journey_of_touch, raw, minlength=t.n_journeys)
        return raw / total[t.journey_of_touch]
    if model == "position":
        return _position_weights(pos, n, first_share, last_share)
    raise ParameterError(f"Unknown model {model!r}; allowed: {', '.join(HEURISTIC_MODELS)}.")


def _position_weights(pos: np.ndarray, n: np.ndarray, first_share: float, last_share: float) -> np.ndarray:
    if first_share < 0 or last_share < 0 or first_share + last_share > 1:
        raise ParameterError("position shares must be >= 0 and first + last <= 1 "
                             f"(got first={first_share}, last={last_share}).")
    ends = first_share + last_share
    middle = np.where(n > 2, (1.0 - ends) / np.maximum(n - 2, 1), 0.0)
    two_first = first_share / ends if ends > 0 else 0.5
    weights = np.where(pos == 0, np.where(n == 2, two_first, first_share), middle)
    weights = np.where((pos == n - 1) & (n >= 2), np.where(n == 2, 1.0 - two_first, last_share), weights)
    return np.where(n == 1, 1.0, weights)


def credit(t: Touches, model: str, **params: float) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and value credited to each channel (arrays indexed like ``t.labels``)."""
    w = touch_weights(t, model, **params)
    j = t.journey_of_touch
    k = len(t.labels)
    return (np.bincount(t.channel, w * t.conversions[j], minlength=k),
            np.bincount(t.channel, w * t.value[j], minlength=k))
