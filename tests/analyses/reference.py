"""Plain-Python reference implementations of transitions, variants and funnels.

Deliberately naive (dicts and lists, one customer at a time) so that they are easy to check
by eye; the Ibis implementations must give the same answers on any log.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

START, END = "__start__", "__end__"
Row = Mapping[str, Any]


# --- building journey_events -----------------------------------------------------------------
def journey_events(rows: Sequence[Row]) -> pa.Table:
    """``rows`` (customer_id, timestamp, touchpoint, optional stage/channel/_seq) as a
    ``journey_events`` Arrow table, with step / seconds_since_previous / episode filled in."""
    records = [dict(r, _seq=r.get("_seq", i + 1)) for i, r in enumerate(rows)]
    previous: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r["customer_id"], r["timestamp"], r["_seq"])):
        prev = previous.get(record["customer_id"])
        gap = None if prev is None else (record["timestamp"] - prev["timestamp"]).total_seconds()
        record["step"] = 1 if prev is None else prev["step"] + 1
        record["seconds_since_previous"] = gap
        record["episode"] = 1 if prev is None else prev["episode"] + int(gap is not None and gap > 1800)
        previous[record["customer_id"]] = record
    schema = JOURNEY_EVENTS_SCHEMA.to_pyarrow()
    return pa.table({f.name: pa.array([r.get(f.name) for r in records], type=f.type) for f in schema},
                    schema=schema)


def load(wh: Warehouse, rows: Sequence[Row]) -> ir.Table:
    wh.replace(JOURNEY_EVENTS, journey_events(rows))
    return wh.table(JOURNEY_EVENTS)


def ts(seconds: float) -> datetime:
    return datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)


# --- shared --------------------------------------------------------------------------------------
def journeys(rows: Iterable[Row], level: str = "touchpoint", collapse_repeats: bool = False,
             raw: bool = False) -> dict[str, list[tuple[str, datetime]]]:
    """Customer → [(node, timestamp)] in (timestamp, _seq) order; stage level collapses unless ``raw``."""
    by_customer: dict[str, list[Row]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.get(level) is not None:
            by_customer[row["customer_id"]].append(dict(row, _seq=row.get("_seq", i + 1)))
    out = {}
    for customer, events in by_customer.items():
        events.sort(key=lambda r: (r["timestamp"], r["_seq"]))
        path: list[tuple[str, datetime]] = []
        for event in events:
            if (collapse_repeats or (level == "stage" and not raw)) and path and path[-1][0] == event[level]:
                continue
            path.append((event[level], event["timestamp"]))
        out[customer] = path
    return out


def seconds(later: datetime, earlier: datetime) -> float:
    return (later - earlier) / timedelta(microseconds=1) / 1_000_000


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); q=0.5 is the exact median."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- transitions -----------------------------------------------------------------------------
def transitions(rows: Iterable[Row], level: str = "touchpoint", min_share: float = 0.0) -> list[dict[str, Any]]:
    edges: dict[tuple[str, str], list[tuple[str, float | None]]] = defaultdict(list)
    for customer, path in journeys(rows, level).items():
        nodes = [START, *(n for n, _ in path), END]
        times: list[datetime | None] = [None, *(t for _, t in path), None]
        for i in range(len(nodes) - 1):
            t0, t1 = times[i], times[i + 1]
            edges[(nodes[i], nodes[i + 1])].append(
                (customer, None if t0 is None or t1 is None else seconds(t1, t0)))
    total = sum(len(v) for v in edges.values())
    out = []
    for (source, target), hits in edges.items():
        if len(hits) < min_share * total:
            continue
        durations = [s for _, s in hits if s is not None]
        out.append({"from": source, "to": target, "count": len(hits), "customers": len({c for c, _ in hits}),
                    "median_seconds": quantile(durations, 0.5),
                    "mean_seconds": sum(durations) / len(durations) if durations else None,
                    "p90_seconds": quantile(durations, 0.9)})
    return sorted(out, key=lambda r: (-r["count"], r["from"], r["to"]))


# --- variants ---------------------------------------------------------------------------------
def variants(rows: Sequence[Row], level: str = "touchpoint", collapse_repeats: bool = False,
             outcomes: Sequence[str] = ()) -> list[dict[str, Any]]:
    full = journeys(rows, level, raw=True)
    paths = journeys(rows, level, collapse_repeats)
    reached = {r["customer_id"] for r in rows if r["touchpoint"] in outcomes}
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for customer, path in paths.items():
        groups[tuple(n for n, _ in path)].append(customer)
    total = len(paths)
    out = []
    for path, customers in groups.items():
        spans = [seconds(full[c][-1][1], full[c][0][1]) for c in customers]
        row = {"path": list(path), "customers": len(customers), "share": len(customers) / total,
               "median_seconds": quantile(spans, 0.5)}
        if outcomes:
            row["outcome_rate"] = sum(c in reached for c in customers) / len(customers)
        out.append(row)
    return sorted(out, key=lambda r: (-r["customers"], r["path"]))


# --- funnels -----------------------------------------------------------------------------------
def _within(later: datetime, start: datetime, within_days: float | None) -> bool:
    return within_days is None or (later - start) / timedelta(microseconds=1) <= round(within_days * 86_400_000_000)


def _match_ordered(path: list[tuple[str, datetime]], steps: Sequence[str],
                   within_days: float | None) -> list[int]:
    nodes = [n for n, _ in path]
    matched = [nodes.index(steps[0])]
    for step in steps[1:]:
        after = [j for j in range(matched[-1] + 1, len(nodes)) if nodes[j] == step]
        if not after or not _within(path[after[0]][1], path[matched[0]][1], within_days):
            break
        matched.append(after[0])
    return matched


def _match_strict(path: list[tuple[str, datetime]], steps: Sequence[str],
                  within_days: float | None) -> list[int]:
    nodes = [n for n, _ in path]
    matched = [nodes.index(steps[0])]
    for k, step in enumerate(steps[1:], start=1):
        j = matched[0] + k
        if j >= len(nodes) or nodes[j] != step or not _within(path[j][1], path[matched[0]][1], within_days):
            break
        matched.append(j)
    return matched


def _match_any(path: list[tuple[str, datetime]], steps: Sequence[str], within_days: float | None) -> list[int]:
    nodes = [n for n, _ in path]
    matched: list[int] = []
    for step in steps:
        if step not in nodes:
            break
        candidate = [*matched, nodes.index(step)]
        times = [path[i][1] for i in candidate]
        if not _within(max(times), min(times), within_days):
            break
        matched = candidate
    return matched


def funnel(rows: Sequence[Row], steps: Sequence[str], level: str = "touchpoint", mode: str = "ordered",
           within_days: float | None = None, exclude: Sequence[str] = ()) -> list[dict[str, Any]]:
    match = {"ordered": _match_ordered, "strict": _match_strict, "any": _match_any}[mode]
    reached: list[list[datetime]] = []  # per customer: the time each reached step was completed
    for path in journeys(rows, level).values():
        nodes = [n for n, _ in path]
        if steps[0] not in nodes:
            continue
        matched = match(path, steps, within_days)
        if mode != "strict" and exclude:
            lo, hi = min(matched), max(matched)
            if any(nodes[j] in exclude for j in range(lo + 1, hi)):
                continue
        done, latest = [], None
        for i in matched:
            latest = path[i][1] if latest is None else max(latest, path[i][1])
            done.append(latest)
        reached.append(done)
    out = []
    for k, step in enumerate(steps):
        at_k = [d for d in reached if len(d) > k]
        start, previous = len(reached), len([d for d in reached if len(d) > k - 1]) if k else 0
        out.append({"step": step, "customers": len(at_k),
                    "conversion_from_start": len(at_k) / start if start else None,
                    "conversion_from_previous": (len(at_k) / previous if previous else None) if k else None,
                    "median_seconds_from_previous": quantile([seconds(d[k], d[k - 1]) for d in at_k], 0.5) if k else None})
    return out
