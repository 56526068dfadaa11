"""Customer attributes: micro-journey, segment, region, plan, value, acquisition channel and date."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journeylens.demo import catalogue as cat
from journeylens.demo.events import DAY_SECONDS

#: Customers start their journey at least this long before the end of the window.
LATEST_START_DAYS = 45


@dataclass(frozen=True)
class Population:
    """Per-customer attribute codes (positions in the :mod:`.catalogue` tuples)."""

    micro: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    plan: np.ndarray
    acquisition: np.ndarray
    value_gbp: np.ndarray
    started: np.ndarray  # epoch seconds of the first (awareness) moment

    def __len__(self) -> int:
        return len(self.micro)


def _choice(rng: np.random.Generator, shares: tuple[float, ...], n: int) -> np.ndarray:
    p = np.asarray(shares) / np.sum(shares)
    return rng.choice(len(p), size=n, p=p).astype(np.int8)


def _conditional_choice(rng: np.random.Generator, table: tuple[tuple[float, ...], ...],
                        given: np.ndarray) -> np.ndarray:
    """Draw one column per row from the share row selected by ``given`` (vectorised)."""
    cum = np.cumsum(np.asarray(table) / np.sum(table, axis=1, keepdims=True), axis=1)
    u = rng.random(len(given))
    return (u[:, None] > cum[given]).sum(axis=1).astype(np.int8)


def population(rng: np.random.Generator, n: int, start_ts: int, n_days: int,
               tv_daily_gbp: np.ndarray) -> Population:
    """``n`` customers; TV-acquired ones start on days weighted by TV spend."""
    micro = _choice(rng, cat.MICRO_JOURNEY_SHARES, n)
    segment = _choice(rng, cat.SEGMENT_SHARES, n)
    acquisition = _conditional_choice(rng, cat.ACQUISITION_SHARES, micro)
    sigma = 0.6
    value = np.asarray(cat.SEGMENT_VALUE_GBP)[segment] * rng.lognormal(-sigma**2 / 2, sigma, n)
    last_day = n_days - LATEST_START_DAYS
    day = rng.integers(0, last_day, n)
    tv = acquisition == cat.ACQUISITION_CHANNELS.index("tv")
    weights = tv_daily_gbp[:last_day] + 1e-9
    day[tv] = rng.choice(last_day, size=int(tv.sum()), p=weights / weights.sum())
    started = start_ts + day.astype(np.int64) * DAY_SECONDS + daytime_seconds(rng, n)
    return Population(
        micro=micro, segment=segment,
        region=_choice(rng, cat.REGION_SHARES, n), plan=_choice(rng, cat.PLAN_SHARES, n),
        acquisition=acquisition, value_gbp=np.round(value, 2), started=started,
    )


_HOUR_WEIGHTS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 5, 6, 6, 6, 7, 7, 6, 6, 6, 7, 8, 9, 9, 7, 4, 2], float)


def daytime_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds into the day, busier in the day and evening than at night."""
    hour = rng.choice(24, size=n, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
    return hour.astype(np.int64) * 3600 + rng.integers(0, 3600, n)
