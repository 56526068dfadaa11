"""Benchmark: building journey_events (stitching + definition rules + step/gap/episode).

Compares JourneyLens on DuckDB (the Ibis code path every engine runs) with the same
computation hand-written in pandas and in polars, on synthetic web/app/store events with
anonymous ids linked by login events. Prints one table; timings on a shared machine are noisy.

    .venv/bin/python bench/journey_events.py --events 1000000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from journeylens.journeys.definition import parse_definition
from journeylens.journeys.enrich import build_journey_events
from journeylens.settings import Settings
from journeylens.warehouse import open_warehouse

DEFINITION = parse_definition("""
name: Bench
stages: [{name: Discover}, {name: Buy}, {name: Help}]
touchpoints:
  - {name: Browse, match: ["view *", landing], stage: Discover, channel: web}
  - {name: Checkout, match: checkout, stage: Buy, channel: web, critical: true}
  - {name: Store, regex: "^pos ", stage: Buy, channel: store}
  - {name: Call, match: ["call *"], stage: Help, channel: call_centre}
""")
NAMES = np.array(["landing", "view product", "view cart", "checkout", "pos sale", "call billing", "other"])
GAP_SECONDS = 30 * 60


def synthetic(n_events: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    n_customers = max(1, n_events // 20)
    customer = rng.integers(0, n_customers, n_events)
    ts = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 90 * 86400, n_events), unit="s")
    known = rng.random(n_events) < 0.6  # 40 % anonymous-only events
    cust = np.where(known, np.char.add("c", customer.astype(str)), None)
    anon = np.char.add("a", customer.astype(str))
    return pa.table({"customer_id": pa.array(cust, pa.string()), "anonymous_id": pa.array(anon),
                     "timestamp": pa.array(ts), "touchpoint": pa.array(NAMES[rng.integers(0, len(NAMES), n_events)]),
                     "channel": pa.nulls(n_events, pa.string()), "_seq": pa.array(np.arange(n_events))})


def run_journeylens(events: pa.Table) -> int:
    wh = open_warehouse("duckdb://", Settings(warehouse="duckdb://", duckdb_memory_limit="4GB"))
    wh.append("events", events)
    started = time.perf_counter()
    n = int(build_journey_events(wh, DEFINITION).count().execute())
    run_journeylens.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    wh.close()
    return n


def run_pandas(events: pa.Table) -> int:
    df = events.to_pandas()
    started = time.perf_counter()
    both = df[df.customer_id.notna()].sort_values(["timestamp", "_seq"]).drop_duplicates("anonymous_id")
    df = df.merge(both[["anonymous_id", "customer_id"]].rename(columns={"customer_id": "linked"}),
                  on="anonymous_id", how="left")
    df["customer_id"] = df.customer_id.fillna(df.linked).fillna("anon:" + df.anonymous_id)
    rules = {r.name: r for r in DEFINITION.touchpoints}
    mapping = {n: DEFINITION.rule_for(n) for n in df.touchpoint.unique()}
    df["stage"] = df.touchpoint.map({n: (r.stage if r else None) for n, r in mapping.items()})
    df["channel"] = df.channel.fillna(df.touchpoint.map({n: (r.channel if r else None) for n, r in mapping.items()}))
    df = df.sort_values(["customer_id", "timestamp", "_seq"])
    g = df.groupby("customer_id", sort=False)
    df["step"] = g.cumcount() + 1
    df["seconds_since_previous"] = g.timestamp.diff().dt.total_seconds()
    df["episode"] = (df.seconds_since_previous.isna() | (df.seconds_since_previous > GAP_SECONDS)).astype(int)
    df["episode"] = df.groupby("customer_id", sort=False).episode.cumsum()
    run_pandas.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    assert rules
    return len(df)


def run_polars(events: pa.Table) -> int:
    df = pl.from_arrow(events)
    assert isinstance(df, pl.DataFrame)
    started = time.perf_counter()
    links = (df.filter(pl.col("customer_id").is_not_null()).sort(["timestamp", "_seq"])
             .unique("anonymous_id", keep="first").select("anonymous_id", pl.col("customer_id").alias("linked")))
    names = df.get_column("touchpoint").unique().to_list()
    stage_map = {n: (r.stage if (r := DEFINITION.rule_for(n)) else None) for n in names}
    out = (df.join(links, on="anonymous_id", how="left")
           .with_columns(pl.coalesce("customer_id", "linked", pl.lit("anon:") + pl.col("anonymous_id"))
                         .alias("customer_id"),
                         pl.col("touchpoint").replace_strict(stage_map, default=None).alias("stage"))
           .sort(["customer_id", "timestamp", "_seq"])
           .with_columns(pl.int_range(1, pl.len() + 1).over("customer_id").alias("step"),
                         pl.col("timestamp").diff().over("customer_id").dt.total_milliseconds().alias("ms"))
           .with_columns(((pl.col("ms").is_null()) | (pl.col("ms") > GAP_SECONDS * 1000)).cast(pl.Int64)
                         .cum_sum().over("customer_id").alias("episode")))
    run_polars.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return out.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    events = synthetic(args.events)
    runners: list[tuple[str, Callable[[pa.Table], int]]] = [
        ("journeylens (Ibis on DuckDB, materialised)", run_journeylens),
        ("pandas 2 (hand-written, in memory)", run_pandas),
        ("polars (hand-written, in memory)", run_polars)]
    print(f"journey_events on {args.events:,} synthetic events (40 % anonymous-only), 2-core shared VM")
    print(f"{'implementation':<46} {'rows':>10} {'seconds':>9} {'events/s':>12}")
    for name, fn in runners:
        rows = fn(events)
        seconds = fn.seconds  # type: ignore[attr-defined]
        print(f"{name:<46} {rows:>10,} {seconds:>9.2f} {args.events / seconds:>12,.0f}")


if __name__ == "__main__":
    main()
