"""Attribution at scale: every JourneyLens model next to ChannelAttribution and
marketing-attribution-models (``mam``) on the same paths, in one run; time and peak memory.

    .venv/bin/python bench/attribution.py                                  # 100k customers (~1M events)
    .venv/bin/python bench/attribution.py --customers 1000000 --events-per-customer 10   # 10M events
    .venv/bin/python bench/attribution.py --from-warehouse demo/journeylens.duckdb --replicate 2
                  # a demo warehouse's journey_events (the bank's definition), customers copied N times

With ``--from-warehouse`` the events are the demo's own (``journeylens demo``): its journey
definition's conversion outcomes, its channels; ``--replicate N`` copies every customer N
times (ids suffixed ``#2``, ``#3`` …) to reach a size — the paths repeat, so the models see
the same number of distinct paths as the original, only heavier counts.

Synthetic journeys: each customer has 1 + Poisson touches over 8 channels (some with a
campaign), with a conversion probability that depends on the channels seen; the events go
into a DuckDB ``journey_events`` table (memory limit ``--duckdb-memory``), and JourneyLens
runs the whole pipeline from there: Ibis path building, then each model. The packages get
the aggregated paths (``path``, conversions, nulls) that JourneyLens built, so every tool sees
the same journeys. Each tool runs in a forked child process; "peak MB" is the child's peak
resident memory above what it inherited. A second table runs ChannelAttribution's
simulation-based Markov model with several seeds and reports how far its credit moves
between seeds, next to the exact removal effects (which do not move).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Imported before the children fork, so no tool's timing includes its import.
import ChannelAttribution as ca
import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
from mam import MAM

from journeylens.analyses.marketing.attribution import ModelSettings, model_credit
from journeylens.analyses.marketing.paths import build_touches
from journeylens.analyses.marketing.touches import Touches
from journeylens.journeys.definition import load_definition
from journeylens.settings import Settings
from journeylens.warehouse import open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

CHANNELS = ("search", "social", "display", "email", "affiliate", "video", "tv", "referral")
LIFT = np.array([0.05, 0.02, -0.01, 0.06, 0.03, 0.01, 0.02, 0.08])


def synthetic_events(customers: int, per_customer: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    n_touch = 1 + rng.poisson(per_customer - 2, customers)
    who = np.repeat(np.arange(customers), n_touch)
    channel = rng.choice(len(CHANNELS), size=len(who), p=[0.25, 0.15, 0.15, 0.15, 0.1, 0.08, 0.07, 0.05])
    seen = np.zeros((customers, len(CHANNELS)), dtype=bool)
    seen[who, channel] = True
    converts = rng.random(customers) < np.clip(0.03 + seen @ LIFT, 0, 1)
    start = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    gap = rng.exponential(2 * 86_400, len(who)).astype(np.int64) + 60
    first = np.r_[0, np.cumsum(n_touch)[:-1]]
    ts = start + rng.integers(0, 300 * 86_400, customers)[who] + np.cumsum(gap) - np.repeat(
        np.cumsum(gap)[first] - gap[first], n_touch)
    last_ts = ts[np.cumsum(n_touch) - 1]
    buyers = np.flatnonzero(converts)
    all_who = np.r_[who, buyers]
    all_ts = np.r_[ts, last_ts[buyers] + 3600]
    touchpoint = np.r_[np.array([f"{c} touch" for c in CHANNELS], dtype=object)[channel],
                       np.full(len(buyers), "Purchase", dtype=object)]
    chan = np.r_[np.array(CHANNELS, dtype=object)[channel], np.full(len(buyers), "web", dtype=object)]
    ids = np.char.add("c", np.arange(customers).astype(str)).astype(object)
    n = len(all_who)
    return pa.table({
        "customer_id": pa.array(ids[all_who], type=pa.string()), "anonymous_id": pa.nulls(n, pa.string()),
        "event_id": pa.nulls(n, pa.string()),
        "timestamp": pa.array(all_ts * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        "touchpoint": pa.array(touchpoint, type=pa.string()), "channel": pa.array(chan, type=pa.string()),
        "stage": pa.nulls(n, pa.string()), "stage_order": pa.nulls(n, pa.int32()), "category": pa.nulls(n, pa.string()),
        "critical": pa.nulls(n, pa.bool_()), "step": pa.nulls(n, pa.int64()),
        "seconds_since_previous": pa.nulls(n, pa.float64()), "episode": pa.nulls(n, pa.int64()),
        "properties": pa.nulls(n, pa.string()), "_seq": pa.array(np.arange(n), type=pa.int64()),
    }, schema=JOURNEY_EVENTS_SCHEMA.to_pyarrow())


def demo_events(wh: Any, source: Path, replicate: int) -> int:
    """``journey_events`` of another warehouse, every customer copied ``replicate`` times."""
    con = wh.con.con
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    top = con.execute("SELECT max(_seq) + 1 FROM src.journey_events").fetchone()[0]
    con.execute("DROP TABLE IF EXISTS journey_events")
    parts = [f"SELECT * REPLACE (customer_id || '{'' if k == 0 else f'#{k + 1}'}' AS customer_id, "
             f"_seq + {k * top} AS _seq) FROM src.journey_events" for k in range(replicate)]
    con.execute("CREATE TABLE journey_events AS " + " UNION ALL ".join(parts))
    con.execute("DETACH src")
    return int(con.execute("SELECT count(*) FROM journey_events").fetchone()[0])


def aggregated(t: Touches) -> pd.DataFrame:
    paths = t.unique_paths()
    conv, _, nulls = paths.counts(t)
    names = [" > ".join(t.labels[c] for c in p) for p in paths.paths]
    return pd.DataFrame({"path": names, "total_conversions": conv, "total_null": nulls})


CHILD_LIMIT_BYTES = 6 * 2**30  # the shared machine's rule: no process above ~6 GB resident


def _child(job: Callable[[], Any], queue: Any) -> None:
    base = psutil.Process().memory_info().rss
    start = time.perf_counter()
    try:
        out = job()
    except Exception as exc:  # reported by the parent as this tool's failure
        queue.put(exc)
        return
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put((seconds, max(peak - base, 0) / 2**20, out))


def measured(job: Callable[[], Any]) -> tuple[float, float, Any]:
    """Run ``job`` in a forked child; stop it (and say so) if its resident memory passes the limit."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(job, queue))
    proc.start()
    watched = psutil.Process(proc.pid)
    while True:
        try:
            result = queue.get(timeout=0.5)
            break
        except Exception:  # queue.Empty: still running
            if not proc.is_alive():
                raise RuntimeError(f"the child exited with code {proc.exitcode}") from None
            try:
                rss = watched.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            if rss > CHILD_LIMIT_BYTES:
                proc.kill()
                proc.join()
                raise RuntimeError(f"stopped above {CHILD_LIMIT_BYTES / 2**30:.0f} GB resident") from None
    proc.join()
    if isinstance(result, Exception):
        raise result
    return result


def ours(t: Touches, model: str, settings: ModelSettings) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        conv, *_ = model_credit(t, model, settings)
        return dict(zip(t.labels, conv.tolist(), strict=True))
    return run


def channel_attribution(frame: pd.DataFrame, kind: str, seed: int = 0) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        if kind == "markov":
            out = ca.markov_model(frame, "path", "total_conversions", var_null="total_null", order=1, seed=seed,
                                  verbose=False, flg_pro=False)
            return dict(zip(out["channel_name"], out["total_conversions"], strict=True))
        out = ca.heuristic_models(frame, "path", "total_conversions", flg_pro=False)
        column = {"first": "first_touch", "last": "last_touch", "linear": "linear_touch"}[kind]
        return dict(zip(out["channel_name"], out[column], strict=True))
    return run


def mam_model(frame: pd.DataFrame, kind: str) -> Callable[[], dict[str, float]]:
    def run() -> dict[str, float]:
        grouped = pd.concat([
            pd.DataFrame({"journey": frame.path, "has_conv": True, "occurrences": frame.total_conversions}),
            pd.DataFrame({"journey": frame.path, "has_conv": False, "occurrences": frame.total_null})])
        grouped = grouped[grouped.occurrences > 0].astype({"occurrences": "int64"})
        model = MAM(grouped, "grouped_journey", channels_colname="journey", journey_with_conv_colname="has_conv",
                    occurrences_colname="occurrences")
        result = {"first": model.run_first_click, "last": model.run_last_click, "linear": model.run_linear,
                  "position": model.run_position_based, "markov": model.run_markov}[kind]().to_pandas()
        return dict(zip(result.iloc[:, 0], result.iloc[:, 1], strict=True))
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events-per-customer", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duckdb-memory", default="2GB")
    parser.add_argument("--markov-seeds", type=int, default=5)
    parser.add_argument("--from-warehouse", type=Path, help="a DuckDB warehouse whose journey_events to use "
                        "(a `journeylens demo` warehouse: the demo bank's definition gives the conversions)")
    parser.add_argument("--replicate", type=int, default=1, help="with --from-warehouse: copies of each customer")
    parser.add_argument("--temp-dir", type=Path, help="where the bench warehouse and DuckDB's spill files go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.temp_dir) as tmp:
        settings = Settings(warehouse=str(Path(tmp) / "bench.duckdb"), duckdb_memory_limit=args.duckdb_memory)
        wh = open_warehouse(settings.warehouse, settings)
        if args.from_warehouse:
            n_events = demo_events(wh, args.from_warehouse, args.replicate)
            definition = load_definition(Path(__file__).parents[1] / "src/journeylens/demo/bank.journey.yaml")
            build: dict[str, Any] = {"definition": definition}
        else:
            table = synthetic_events(args.customers, args.events_per_customer, args.seed)
            wh.replace(JOURNEY_EVENTS, table)
            n_events = table.num_rows
            del table
            build = {"conversion": "Purchase"}
        customers = int(wh.table(JOURNEY_EVENTS).customer_id.nunique().to_pyarrow().as_py())
        start = time.perf_counter()
        t = build_touches(wh.table(JOURNEY_EVENTS), by="channel", **build)
        path_seconds = time.perf_counter() - start
        wh.close()
    frame = aggregated(t)
    settings_m = ModelSettings()
    print(f"{n_events:,} events, {customers:,} customers, {t.n_journeys:,} journeys, "
          f"{int(t.conversions.sum()):,} conversions, {len(frame):,} distinct paths, {len(t.labels)} channels; "
          f"path building (Ibis on DuckDB → arrays): {path_seconds:.1f} s; "
          f"RSS now {psutil.Process().memory_info().rss / 2**20:,.0f} MB; {os.cpu_count()} cores shared; "
          f"load average {os.getloadavg()[0]:.1f}")
    jobs: list[tuple[str, str, Callable[[], Any]]] = []
    for model in ("first", "last", "linear", "time-decay", "position", "markov", "shapley"):
        jobs.append((model, "journeylens", ours(t, model, settings_m)))
    jobs.append(("markov (order 2)", "journeylens", ours(t, "markov", ModelSettings(order=2))))
    for model in ("first", "last", "linear", "markov"):
        jobs.append((model, "ChannelAttribution 2.2.5", channel_attribution(frame, model)))
    for model in ("first", "last", "linear", "position", "markov"):
        jobs.append((model, "marketing-attribution-models 2.1.1", mam_model(frame, model)))
    rows, results = [], {}
    for model, tool, job in jobs:
        try:
            seconds, peak, out = measured(job)
            results[(model, tool)] = out
            top = max(out, key=out.get)
            rows.append({"model": model, "tool": tool, "seconds": f"{seconds:.2f}", "peak MB": f"{peak:,.0f}",
                         "top channel": f"{top} {out[top]:,.0f}"})
        except Exception as exc:  # report a tool that fails instead of stopping the comparison
            rows.append({"model": model, "tool": tool, "seconds": "failed", "peak MB": "", "top channel": str(exc)[:60]})
    print(pd.DataFrame(rows).to_string(index=False))
    exact = results.get(("markov", "journeylens"), {})
    runs = [measured(channel_attribution(frame, "markov", seed))[2] for seed in range(args.markov_seeds)]
    table_rows = []
    for channel in t.labels:
        sims = np.array([r.get(channel, 0.0) for r in runs])
        table_rows.append({"channel": channel, "exact (JourneyLens)": f"{exact.get(channel, 0):,.1f}",
                           "simulated min": f"{sims.min():,.1f}", "simulated max": f"{sims.max():,.1f}",
                           "spread across seeds %": f"{100 * (sims.max() - sims.min()) / max(sims.mean(), 1e-9):.2f}",
                           "mean vs exact %": f"{100 * (sims.mean() - exact.get(channel, 0)) / max(exact.get(channel, 1e-9), 1e-9):+.2f}"})
    print(f"\nChannelAttribution Markov over {args.markov_seeds} seeds vs the exact removal effects:")
    print(pd.DataFrame(table_rows).to_string(index=False))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
