"""Journeys for attribution, built from ``journey_events`` with Ibis (DuckDB and Spark alike).

A customer's events are cut at each conversion (the journey definition's conversion outcome,
or the touchpoint named by ``conversion``): the touches since the previous conversion form
the journey that the conversion ends. A customer who never converted has one journey that
did not convert (its end is its last touch); touches after a customer's last conversion
follow the purchase and are no journey. A touch is an event other than the conversion whose
``by`` key is present: the event's ``channel`` or ``touchpoint``, or any other name = that
event property (for example ``campaign``). With ``lookback_days`` > 0 only touches within
that many days before the journey's end count; a conversion left without a touch is credited
to ``direct / none``. ``value_property`` names the conversion event's property holding its
value (for example ``value``); missing values count 0.

The engine does the windowing (one cumulative count per customer) and the two filters; the
rows come back ordered and are packed into :class:`~journeylens.analyses.marketing.touches.Touches`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.analyses.marketing.touches import DIRECT, Touches
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition

DAY_SECONDS = 86_400.0
TOUCH_COLUMNS: tuple[str, ...] = ("channel", "touchpoint")
PERIODS: dict[str, str] = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


def property_text(table: ir.Table, name: str) -> ir.StringValue:
    """A string value of the ``properties`` JSON object, null when absent (a regular expression,
    native on every engine; no trimming: Ibis' ``strip`` on Spark also strips the letters
    t, n, r, v and f — ADR 0044)."""
    pattern = '"' + re.escape(name) + r'"\s*:\s*"([^"]*)"'
    return table.properties.re_extract(ibis.literal(pattern), 1).nullif("")


def _number(events: ir.Table, name: str) -> ir.FloatingValue:
    """A numeric event property — a JSON number or numeric string — null when absent (a regular
    expression, native on every engine; ADR 0044)."""
    pattern = '"' + re.escape(name) + r'"\s*:\s*"?(-?[0-9][0-9.eE+-]*)'
    return events.properties.re_extract(ibis.literal(pattern), 1).nullif("").cast("float64")


def conversion_test(events: ir.Table, conversion: str | None,
                    definition: JourneyDefinition | None) -> ir.BooleanValue:
    """Is an event a conversion? ``conversion`` (a touchpoint name) wins over the definition."""
    if conversion:
        return events.touchpoint == ibis.literal(conversion)
    if definition is None or not definition.outcomes.conversion:
        raise ParameterError("Name the conversion touchpoint (--conversion TOUCHPOINT), or declare "
                             "outcomes.conversion in the journey definition.")
    return definition.outcome_expr("conversion", events.touchpoint)


def touch_rows(events: ir.Table, *, by: str, conversion: str | None = None,
               definition: JourneyDefinition | None = None, lookback_days: float = 0,
               value_property: str | None = None,
               customer_values: ir.Table | None = None) -> tuple[ir.Table, ir.Table]:
    """Two Ibis tables: the touches ``(customer_id, journey, ts, _seq, key, end_ts)`` and the
    conversions ``(customer_id, journey, end_ts, value)``; ``ts`` in epoch seconds.

    ``customer_values`` ``(customer_id, value)`` gives a customer's value to their *first*
    conversion when the conversion event has no value (for example ``customers.revenue``)."""
    if lookback_days < 0:
        raise ParameterError(f"lookback_days must be >= 0 (0 = unlimited), got {lookback_days}.")
    e = events.filter(events.customer_id.notnull())
    key = e[by] if by in TOUCH_COLUMNS else property_text(e, by)
    value = _number(e, value_property) if value_property else ibis.literal(0.0)
    e = e.mutate(_conv=conversion_test(e, conversion, definition).fill_null(False).cast("int64"),
                 _key=key, _value=value.cast("float64"), ts=e.timestamp.epoch_seconds().cast("int64"))
    running = ibis.cumulative_window(group_by=e.customer_id, order_by=[e.timestamp, e._seq])
    e = e.mutate(journey=e._conv.sum().over(running) - e._conv,
                 _total=e._conv.sum().over(ibis.window(group_by=e.customer_id)))
    conversions = e.filter(e._conv == 1).select("customer_id", "journey", end_ts=e.ts,
                                                 value=e._value.fill_null(0.0))
    if customer_values is not None:
        cv = customer_values.select(customer_id=customer_values.customer_id, _cv=customer_values.value.cast("float64"))
        joined_cv = conversions.left_join(cv, "customer_id")
        conversions = joined_cv.select(customer_id=joined_cv.customer_id, journey=joined_cv.journey,
                                       end_ts=joined_cv.end_ts, value=ibis.ifelse(
                                           (joined_cv.value == 0) & (joined_cv.journey == 0),
                                           joined_cv._cv.fill_null(0.0), joined_cv.value))
    touches = e.filter((e._conv == 0) & e._key.notnull() & ((e.journey < e._total) | (e._total == 0)))
    touches = touches.mutate(_last=touches.ts.max().over(ibis.window(group_by=[touches.customer_id, touches.journey])))
    joined = touches.left_join(conversions, ["customer_id", "journey"])
    joined = joined.select(customer_id=joined.customer_id, journey=joined.journey, ts=joined.ts, _seq=joined._seq,
                           key=joined._key, end_ts=joined.end_ts.fill_null(joined._last))
    if lookback_days > 0:
        joined = joined.filter((joined.end_ts - joined.ts) <= ibis.literal(float(lookback_days * DAY_SECONDS)))
    return joined, conversions


def _journey_codes(conversions: pa.Table, touches: pa.Table) -> tuple[np.ndarray, np.ndarray, int]:
    """Dense journey numbers for (customer_id, journey) of both tables (vectorised)."""
    customers = pa.concat_arrays([c.cast(pa.string()) for c in (*conversions["customer_id"].chunks,
                                                                  *touches["customer_id"].chunks)]
                                 or [pa.array([], pa.string())]).dictionary_encode()
    cust = customers.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    journey = np.r_[conversions["journey"].to_numpy(zero_copy_only=False),
                    touches["journey"].to_numpy(zero_copy_only=False)].astype(np.int64)
    keys = cust * (int(journey.max(initial=0)) + 1) + journey
    _, codes = np.unique(keys, return_inverse=True)
    codes = codes.ravel()
    n_conv = conversions.num_rows
    return codes[:n_conv], codes[n_conv:], int(codes.max(initial=-1)) + 1


def _label_codes(keys: pa.Array) -> tuple[list[str], np.ndarray]:
    """Sorted distinct labels and each key's index into them (dictionary-encoded, no Python loop)."""
    encoded = pc.fill_null(keys, "").dictionary_encode()
    names = encoded.dictionary.to_pylist()
    order = sorted(range(len(names)), key=names.__getitem__)
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    return [names[i] for i in order], rank[encoded.indices.to_numpy(zero_copy_only=False)]


def period_labels(epoch_seconds: np.ndarray, period: str) -> np.ndarray:
    """``YYYY-MM`` (month), ``YYYY-MM-DD`` (day, week: its Monday), ``YYYY-Qn``, ``YYYY``."""
    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    days = epoch_seconds.astype("datetime64[s]").astype("datetime64[D]")
    if period == "week":
        days = days - ((days.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
    if period == "quarter":
        months = days.astype("datetime64[M]").astype(np.int64)
        return np.array([f"{1970 + m // 12}-Q{m % 12 // 3 + 1}" for m in months.tolist()], dtype=object)
    unit = {"day": "D", "week": "D", "month": "M", "year": "Y"}[period]
    return days.astype(f"datetime64[{unit}]").astype(str).astype(object)


def build_touches(events: ir.Table, *, by: str = "channel", conversion: str | None = None,
                  definition: JourneyDefinition | None = None, lookback_days: float = 0,
                  value_property: str | None = None, period: str = "month",
                  customer_values: ir.Table | None = None) -> Touches:
    """Every journey (converting or not) with its touches, ready for the attribution models."""
    touch_expr, conv_expr = touch_rows(events, by=by, conversion=conversion, definition=definition,
                                       lookback_days=lookback_days, value_property=value_property,
                                       customer_values=customer_values)
    touches = touch_expr.to_pyarrow()
    # the engine returns rows in any order: sorted, journeys are numbered and summed alike every run
    conversions = conv_expr.to_pyarrow().sort_by([("customer_id", "ascending"), ("journey", "ascending")])
    touches = touches.sort_by([("customer_id", "ascending"), ("journey", "ascending"), ("ts", "ascending"),
                               ("_seq", "ascending")])
    conv_codes, touch_codes, n = _journey_codes(conversions, touches)
    converted = np.zeros(n)
    converted[conv_codes] = 1.0
    value = np.zeros(n)
    value[conv_codes] = conversions["value"].to_numpy(zero_copy_only=False)
    end = np.zeros(n, dtype=np.int64)
    end[touch_codes] = touches["end_ts"].to_numpy(zero_copy_only=False)
    end[conv_codes] = conversions["end_ts"].to_numpy(zero_copy_only=False)
    # Journeys whose every touch fell outside the lookback window get "direct / none".
    has_touch = np.zeros(n, dtype=bool)
    has_touch[touch_codes] = True
    labels, codes = _label_codes(pa.concat_arrays([c.cast(pa.string()) for c in touches["key"].chunks]
                                                  + [pa.array([DIRECT], pa.string())]))
    direct_code = int(codes[-1])
    lonely = np.flatnonzero(~has_touch)
    journey = np.r_[touch_codes, lonely]
    channel = np.r_[codes[:-1], np.full(len(lonely), direct_code)].astype(np.int32)
    days = np.r_[(end[touch_codes] - touches["ts"].to_numpy(zero_copy_only=False)) / DAY_SECONDS, np.zeros(len(lonely))]
    order = np.lexsort((np.arange(len(journey)), journey))  # stable: keeps time order within a journey
    lengths = np.bincount(journey, minlength=n)
    return Touches(labels=tuple(str(x) for x in labels), offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
                   channel=channel[order], conversions=converted, value=value, nulls=1.0 - converted,
                   days_before=days[order], period=period_labels(end, period))
