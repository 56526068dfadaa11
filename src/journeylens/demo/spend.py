"""Daily marketing spend per acquisition channel (GBP), with named campaigns.

TV runs in flights (bursts of a few weeks) and drives TV-acquired sign-ups; comparison sites
and referrals are paid per acquisition, so their spend follows the acquisitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from journeylens.demo.events import DAY_SECONDS, timestamps

SPEND_CHANNELS = ("paid_search", "social", "tv", "comparison_site", "referral")
COST_PER_ACQUISITION_GBP = {"comparison_site": 45.0, "referral": 50.0}
_SEASONS = ("Winter", "Spring", "Summer", "Autumn")
_TV_THEMES = ("Switch & save", "Your money, your way", "Bank better", "Rates that reward")


@dataclass(frozen=True)
class TvFlights:
    """TV spend per day of the window (GBP) and the flight number running that day (-1: none)."""

    daily_gbp: np.ndarray
    flight: np.ndarray


def tv_flights(rng: np.random.Generator, n_days: int, customers: int) -> TvFlights:
    """Flights of 14-28 days roughly every ten weeks; budget scales with the customer count."""
    daily = np.zeros(n_days)
    flight = np.full(n_days, -1, dtype=np.int64)
    day, number = int(rng.integers(0, 30)), 0
    while day < n_days:
        length = int(rng.integers(14, 29))
        stop = min(day + length, n_days)
        daily[day:stop] = customers * 0.4 * rng.uniform(0.8, 1.2, stop - day)
        flight[day:stop] = number
        day, number = stop + int(rng.integers(42, 70)), number + 1
    return TvFlights(daily, flight)


def _season(day_ts: np.ndarray) -> np.ndarray:
    months = day_ts.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) % 12
    return (months // 3 + (months == 11)) % 4  # Dec-Feb winter


def campaigns(channel: str, day_ts: np.ndarray, flight: np.ndarray) -> list[str]:
    """The campaign running on each day for ``channel`` (awareness events carry it too)."""
    years = day_ts.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64) + 1970
    if channel == "tv":
        return [f"TV flight {k + 1}: {_TV_THEMES[k % len(_TV_THEMES)]}" if k >= 0 else "" for k in flight]
    if channel == "social":
        return [f"Social {_SEASONS[s]} {y}" for s, y in zip(_season(day_ts), years, strict=True)]
    if channel == "paid_search":
        return ["Always-on search"] * len(day_ts)
    return ["Comparison site CPA"] * len(day_ts) if channel == "comparison_site" else ["Refer a friend"] * len(day_ts)


def spend_table(rng: np.random.Generator, start_ts: int, n_days: int, tv: TvFlights,
                acquisitions: dict[str, np.ndarray]) -> pa.Table:
    """One row per channel and day with spend > 0. ``acquisitions[channel]`` counts sign-ups per day."""
    day_ts = start_ts + np.arange(n_days, dtype=np.int64) * DAY_SECONDS
    weekday = ((day_ts // DAY_SECONDS) + 3) % 7  # 0 = Monday
    weekly = np.where(weekday >= 5, 0.8, 1.08)
    scale = max(sum(int(a.sum()) for a in acquisitions.values()), 1) / 1000.0
    amounts = {
        "paid_search": 120.0 * scale * weekly * rng.lognormal(0, 0.15, n_days),
        "social": 60.0 * scale * weekly * rng.lognormal(0, 0.25, n_days),
        "tv": tv.daily_gbp,
        "comparison_site": COST_PER_ACQUISITION_GBP["comparison_site"] * acquisitions["comparison_site"],
        "referral": COST_PER_ACQUISITION_GBP["referral"] * acquisitions["referral"],
    }
    parts = []
    for channel in SPEND_CHANNELS:
        amount = np.round(amounts[channel], 2)
        keep = amount > 0
        named = np.asarray(campaigns(channel, day_ts, tv.flight), dtype=object)[keep]
        parts.append(pa.table({
            "channel": pa.array([channel] * int(keep.sum()), type=pa.string()),
            "date": timestamps(day_ts[keep]),
            "amount": pa.array(amount[keep], type=pa.float64()),
            "currency": pa.array(["GBP"] * int(keep.sum()), type=pa.string()),
            "campaign": pa.array(named.tolist(), type=pa.string()),
        }))
    return pa.concat_tables(parts)
