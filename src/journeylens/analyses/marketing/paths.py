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


def journey_rows(events: ir.Table, *, by: str, conversion: str | None = None,
                 definition: JourneyDefinition | None = None, value_property: str | None = None) -> ir.Table:
    """One Ibis query: the rows that make journeys, in journey order (customer, time, ``_seq``).

    Columns ``customer_id, journey, timestamp, _seq, key, conv, value``: every conversion (``conv``) and
    every touch (an event with a ``by`` key) that a later conversion ends — or any touch of a
    customer who never converted. ``journey`` counts the customer's earlier conversions. Both window sums share one partition and order,
    so the engine sorts the events once."""
    e = events.filter(events.customer_id.notnull())
    key = e[by] if by in TOUCH_COLUMNS else property_text(e, by)
    value = _number(e, value_property) if value_property else ibis.literal(0.0)
    e = e.mutate(conv=conversion_test(e, conversion, definition).fill_null(False).cast("int64"),
                 key=key, value=value.cast("float64"))
    order = [e.timestamp, e._seq]
    before = ibis.window(group_by=e.customer_id, order_by=order, preceding=None, following=0)
    after = ibis.window(group_by=e.customer_id, order_by=order, preceding=0, following=None)
    e = e.mutate(journey=e.conv.sum().over(before) - e.conv, _after=e.conv.sum().over(after) - e.conv)
    kept = e.filter((e.conv == 1) | (e.key.notnull() & ((e._after > 0) | (e.journey == 0))))
    return kept.select("customer_id", "journey", "timestamp", "_seq", "key", "conv", "value").order_by(
        ["customer_id", "timestamp", "_seq"])


def _microseconds(column: pa.ChunkedArray) -> np.ndarray:
    """Epoch microseconds of a timestamp column (any unit; a naive one is read as UTC)."""
    array = column.combine_chunks()
    unit = array.type.unit if pa.types.is_timestamp(array.type) else "us"
    scale = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}[unit]
    raw = array.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(np.int64)
    return raw // 1_000 if unit == "ns" else raw * scale


def _in_order(table: pa.Table) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """``table`` in journey order, each row's customer code and epoch microseconds. The engine
    was asked to order the rows; an engine that does not keep that order through the transfer
    is sorted here."""
    codes = pc.dictionary_encode(table["customer_id"].combine_chunks()).indices.to_numpy(
        zero_copy_only=False).astype(np.int64)
    us = _microseconds(table["timestamp"])
    seq = table["_seq"].to_numpy(zero_copy_only=False)
    same = codes[1:] == codes[:-1]
    ordered = bool(np.all((codes[1:] >= codes[:-1]) & (~same | (us[1:] > us[:-1])
                                                          | ((us[1:] == us[:-1]) & (seq[1:] >= seq[:-1])))))
    if ordered:
        return table, codes, us
    order = np.lexsort((seq, us, codes))
    return table.take(pa.array(order)), codes[order], us[order]


def _customer_values(customer_ids: pa.Array, customer_values: ir.Table) -> np.ndarray:
    """Each id's value in ``customer_values`` ``(customer_id, value)``; 0 when absent."""
    cv = customer_values.select(customer_id=customer_values.customer_id.cast("string"),
                                value=customer_values.value.cast("float64")).to_pyarrow()
    index = pc.index_in(customer_ids.cast(pa.string()), value_set=cv["customer_id"].combine_chunks())
    values = pc.fill_null(pc.take(cv["value"].combine_chunks(), index), 0.0)
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)


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
    """Every journey (converting or not) with its touches, ready for the attribution models.

    ``customer_values`` ``(customer_id, value)`` gives a customer's value to their *first*
    conversion when the conversion event has no value (for example ``customers.revenue``).
    The engine windows, filters and orders the events in one query; the journeys are cut
    from the ordered rows with vectorised NumPy (no per-journey Python)."""
    if lookback_days < 0:
        raise ParameterError(f"lookback_days must be >= 0 (0 = unlimited), got {lookback_days}.")
    rows, codes, us = _in_order(journey_rows(events, by=by, conversion=conversion, definition=definition,
                                         value_property=value_property).to_pyarrow())
    journey = rows["journey"].to_numpy(zero_copy_only=False).astype(np.int64)
    seconds = us // 1_000_000
    conv = rows["conv"].to_numpy(zero_copy_only=False) == 1
    new = np.r_[True, (codes[1:] != codes[:-1]) | (journey[1:] != journey[:-1])] if len(codes) else np.zeros(0, bool)
    jid = np.cumsum(new) - 1
    n = int(new.sum())
    ends = np.r_[np.flatnonzero(new)[1:], len(jid)][:n] - 1
    end = seconds[ends]  # a conversion is the last row of the journey it ends
    converted = np.zeros(n)
    converted[jid[conv]] = 1.0
    value = np.zeros(n)
    conv_value = np.nan_to_num(rows["value"].to_numpy(zero_copy_only=False)[conv].astype(np.float64))
    if customer_values is not None:
        first_empty = (journey[conv] == 0) & (conv_value == 0)
        ids = rows["customer_id"].combine_chunks().filter(pa.array(conv)).filter(pa.array(first_empty))
        conv_value[first_empty] = _customer_values(ids, customer_values)
    value[jid[conv]] = conv_value
    touch = ~conv
    if lookback_days > 0:
        touch &= (end[jid] - seconds) <= lookback_days * DAY_SECONDS
    tj = jid[touch]
    has_touch = np.zeros(n, dtype=bool)
    has_touch[tj] = True
    labels, key_codes = _label_codes(pa.concat_arrays([rows["key"].combine_chunks().filter(pa.array(touch))
                                                       .cast(pa.string()), pa.array([DIRECT], pa.string())]))
    # Journeys whose every touch fell outside the lookback window (or that had none) get "direct / none".
    lonely = ~has_touch
    lengths = np.bincount(tj, minlength=n) + lonely
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    channel = np.empty(int(offsets[-1]), dtype=np.int32)
    days = np.zeros(int(offsets[-1]))
    position = np.arange(len(tj)) + (np.cumsum(lonely) - lonely)[tj]
    channel[position] = key_codes[:-1]
    days[position] = (end[tj] - seconds[touch]) / DAY_SECONDS
    channel[offsets[:-1][lonely]] = key_codes[-1]
    return Touches(labels=tuple(str(x) for x in labels), offsets=offsets, channel=channel, conversions=converted,
                   value=value, nulls=1.0 - converted, days_before=days, period=period_labels(end, period))
