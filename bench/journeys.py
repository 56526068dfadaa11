"""Benchmark: transitions, variants and funnels — JourneyLens vs raw DuckDB, pm4py, retentioneering.

    .venv/bin/python bench/journeys.py                      # 10M events, every task
    .venv/bin/python bench/journeys.py --events 1000000     # quicker
    .venv/bin/python bench/journeys.py --events 100000000 --transitions-only

A synthetic log (about 30 touchpoints in 6 stages, 10 events per customer on average) is
generated once and cached as Parquet in bench/out/; JourneyLens's own warehouse (a DuckDB
file holding ``journey_events``) is built from it once as well. Every measurement then runs
in a fresh subprocess: wall time includes what each tool needs before it can answer
(opening the warehouse; reading Parquet into pandas and pm4py's formatting; building a
retentioneering Eventstream), and peak RSS is the child's maximum resident set (wait4).
Timings on a shared 2-core machine are noisy: read ratios, not milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).parent / "out"
N_TOUCHPOINTS, N_STAGES = 30, 6
FUNNEL_STEPS = ["tp00", "tp03", "tp06", "tp09"]
CHUNK_CUSTOMERS = 1_000_000


# --- data ----------------------------------------------------------------------------------------
def _chunk(rng: np.random.Generator, first_customer: int, n_customers: int, seq_offset: int) -> pa.Table:
    lengths = np.maximum(1, rng.poisson(9, n_customers) + 1)
    n = int(lengths.sum())
    customer = np.repeat(np.arange(first_customer, first_customer + n_customers), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    step = np.arange(n) - starts + 1
    moves = rng.choice([0, 1, 1, 1, 2, 3, -1, 5], size=n)  # drifts forward through the journey
    first = np.repeat(rng.choice([0, 0, 0, 1, 2, 4], size=n_customers), lengths)
    walk = np.cumsum(np.where(step == 1, 0, moves))
    walk -= np.repeat(walk[np.cumsum(lengths) - lengths], lengths)
    touchpoint = (first + walk) % N_TOUCHPOINTS
    gaps = np.where(step == 1, 0, rng.exponential(6 * 3600, n).astype(np.int64) // 60 * 60)
    base = np.repeat(1_704_067_200 + rng.integers(0, 365 * 86_400, n_customers), lengths)
    cumulative = np.cumsum(gaps)
    seconds = base + cumulative - np.repeat(cumulative[np.cumsum(lengths) - lengths], lengths)
    names = np.array([f"tp{i:02d}" for i in range(N_TOUCHPOINTS)])
    stages = np.array([f"stage{i // (N_TOUCHPOINTS // N_STAGES)}" for i in range(N_TOUCHPOINTS)])
    channels = np.array(["web", "app", "store", "call"])
    return pa.table({
        "customer_id": pa.array(np.char.add("c", customer.astype(str))),
        "timestamp": pa.array(seconds * 1_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        "touchpoint": pa.array(names[touchpoint]).dictionary_encode().cast(pa.string()),
        "channel": pa.array(channels[rng.integers(0, 4, n)]),
        "stage": pa.array(stages[touchpoint]),
        "stage_order": pa.array((touchpoint // (N_TOUCHPOINTS // N_STAGES)).astype(np.int32)),
        "step": pa.array(step.astype(np.int64)),
        "seconds_since_previous": pa.array(np.where(step == 1, np.nan, gaps).astype(np.float64), from_pandas=True),
        "episode": pa.array(np.ones(n, np.int64)),
        "_seq": pa.array(np.arange(seq_offset + 1, seq_offset + n + 1, dtype=np.int64)),
    })


def generate(n_events: int) -> Path:
    path = OUT / f"journeys_{n_events}.parquet"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    written, customer = 0, 0
    tmp = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    while written < n_events:
        n_customers = min(CHUNK_CUSTOMERS, max(1, (n_events - written) // 10 + 1))
        table = _chunk(rng, customer, n_customers, written)
        table = table.slice(0, min(table.num_rows, n_events - written))
        writer = writer or pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
        written += table.num_rows
        customer += n_customers
    assert writer is not None
    writer.close()
    tmp.rename(path)
    return path


def build_warehouse(parquet: Path) -> Path:
    """JourneyLens's warehouse: a DuckDB file whose journey_events holds the log."""
    db = parquet.with_suffix(".duckdb")
    if db.exists():
        return db
    import duckdb

    from journeylens.warehouse import open_warehouse

    open_warehouse(str(db)).close()  # creates the canonical tables
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE journey_events_tmp AS SELECT * FROM read_parquet(?)", [str(parquet)])
    con.execute("DROP TABLE IF EXISTS journey_events")
    con.execute("ALTER TABLE journey_events_tmp RENAME TO journey_events")
    con.close()
    return db


# --- tasks (each runs in its own subprocess) ---------------------------------------------------------
def _ours(db: Path) -> Any:
    from journeylens.settings import Settings
    from journeylens.warehouse import open_warehouse

    return open_warehouse(str(db), Settings(warehouse=str(db))).table("journey_events")


def _raw_duckdb(db: Path) -> Any:
    import duckdb

    from journeylens.settings import Settings

    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"SET memory_limit = '{Settings().duckdb_memory_limit}'")  # same limit as ours
    return con


def _pandas(parquet: Path) -> Any:
    return pq.read_table(parquet, columns=["customer_id", "timestamp", "touchpoint", "_seq"]).to_pandas()


RAW_TRANSITIONS = """
WITH o AS (
  SELECT customer_id, touchpoint AS node, timestamp,
         LEAD(touchpoint) OVER w AS nxt, LEAD(timestamp) OVER w AS nts, ROW_NUMBER() OVER w AS rn
  FROM journey_events WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq)),
e AS (
  SELECT customer_id, node AS src, COALESCE(nxt, '__end__') AS dst,
         CASE WHEN nxt IS NULL THEN NULL ELSE date_diff('microsecond', timestamp, nts) / 1e6 END AS s FROM o
  UNION ALL SELECT customer_id, '__start__', node, NULL FROM o WHERE rn = 1)
SELECT src, dst, count(*) AS n, count(DISTINCT customer_id) AS customers, quantile_cont(s, 0.5) AS median_s,
       avg(s) AS mean_s, quantile_cont(s, 0.9) AS p90_s
FROM e GROUP BY ALL
"""

RAW_VARIANTS = """
SELECT path, count(*) AS customers, median(secs) AS median_s FROM (
  SELECT customer_id, string_agg(touchpoint, '>' ORDER BY timestamp, _seq) AS path,
         date_diff('microsecond', min(timestamp), max(timestamp)) / 1e6 AS secs
  FROM journey_events GROUP BY customer_id)
GROUP BY path ORDER BY customers DESC, path LIMIT 20
"""


def task_ours_transitions(parquet: Path, db: Path) -> dict[str, Any]:
    from journeylens.analyses.transitions import transitions

    t0 = time.perf_counter()
    events = _ours(db)
    t1 = time.perf_counter()
    rows = transitions(events).records
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"{len(rows)} edges, {sum(r['count'] for r in rows):,} moves"}


def task_duckdb_transitions(parquet: Path, db: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    con = _raw_duckdb(db)
    t1 = time.perf_counter()
    rows = con.execute(RAW_TRANSITIONS).fetchall()
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"{len(rows)} edges, {sum(r[2] for r in rows):,} moves"}


def task_pm4py_dfg(parquet: Path, db: Path) -> dict[str, Any]:
    import pm4py

    t0 = time.perf_counter()
    frame = _pandas(parquet)
    t1 = time.perf_counter()
    dfg, starts, ends = pm4py.discover_dfg(frame, activity_key="touchpoint", timestamp_key="timestamp",
                                           case_id_key="customer_id")
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"{len(dfg) + len(starts) + len(ends)} edges, "
                     f"{sum(dfg.values()) + sum(starts.values()) + sum(ends.values()):,} moves (counts only)"}


def task_pm4py_dfg_median(parquet: Path, db: Path) -> dict[str, Any]:
    import pm4py

    t0 = time.perf_counter()
    frame = _pandas(parquet)
    t1 = time.perf_counter()
    keys = {"activity_key": "touchpoint", "timestamp_key": "timestamp", "case_id_key": "customer_id"}
    dfg, starts, ends = pm4py.discover_dfg(frame, **keys)
    perf, _, _ = pm4py.discover_performance_dfg(frame, **keys)
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"{len(dfg) + len(starts) + len(ends)} edges, {len(perf)} timed"}


def task_pm4py_polars_dfg(parquet: Path, db: Path) -> dict[str, Any]:
    import pm4py
    import polars as pl

    t0 = time.perf_counter()
    frame = pl.read_parquet(parquet, columns=["customer_id", "timestamp", "touchpoint", "_seq"])
    t1 = time.perf_counter()
    dfg, _, _ = pm4py.discover_dfg(frame, activity_key="touchpoint", timestamp_key="timestamp",
                                   case_id_key="customer_id")
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1, "check": f"{len(dfg)} edges"}


def task_retentioneering_graph(parquet: Path, db: Path) -> dict[str, Any]:
    os.environ["RETENTIONEERING_NO_TRACK"] = "1"
    from retentioneering import Eventstream

    t0 = time.perf_counter()
    frame = _pandas(parquet).drop(columns=["_seq"])
    stream = Eventstream(frame, schema={"path_cols": ["customer_id"], "event_col": "touchpoint",
                                        "timestamp_col": "timestamp"})
    t1 = time.perf_counter()
    counts = stream.transition_graph_data(edge_weight="count")
    medians = stream.transition_graph_data(edge_weight="time_median")
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"{int((counts.fillna(0) > 0).sum().sum())} edges, {int(counts.fillna(0).sum().sum()):,} "
                     f"moves, {medians.shape[0]} nodes"}


def task_ours_variants(parquet: Path, db: Path) -> dict[str, Any]:
    from journeylens.analyses.variants import variants

    t0 = time.perf_counter()
    events = _ours(db)
    t1 = time.perf_counter()
    rows = variants(events, top=20).records
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"top {rows[0]['customers']:,} customers, 20th {rows[-1]['customers']:,}"}


def task_duckdb_variants(parquet: Path, db: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    con = _raw_duckdb(db)
    t1 = time.perf_counter()
    rows = con.execute(RAW_VARIANTS).fetchall()
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"top {rows[0][1]:,} customers, 20th {rows[-1][1]:,}"}


def task_pm4py_variants(parquet: Path, db: Path) -> dict[str, Any]:
    import pm4py

    t0 = time.perf_counter()
    frame = _pandas(parquet)
    t1 = time.perf_counter()
    found = pm4py.get_variants(frame, activity_key="touchpoint", timestamp_key="timestamp", case_id_key="customer_id")
    counts = sorted(((v if isinstance(v, int) else len(v)) for v in found.values()), reverse=True)[:20]
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
            "check": f"top {counts[0]:,} customers, 20th {counts[-1]:,}"}


def _funnel_task(mode: str) -> Callable[[Path, Path], dict[str, Any]]:
    def run(parquet: Path, db: Path) -> dict[str, Any]:
        from journeylens.analyses.funnel import funnel

        t0 = time.perf_counter()
        events = _ours(db)
        t1 = time.perf_counter()
        rows = funnel(events, steps=FUNNEL_STEPS, mode=mode, within_days=30).records
        return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1,
                "check": " → ".join(f"{r['customers']:,}" for r in rows)}
    return run


TASKS: dict[str, tuple[str, Callable[[Path, Path], dict[str, Any]]]] = {
    "ours_transitions": ("transitions", task_ours_transitions),
    "duckdb_sql_transitions": ("transitions", task_duckdb_transitions),
    "pm4py_dfg_counts": ("transitions", task_pm4py_dfg),
    "pm4py_dfg_counts+median": ("transitions", task_pm4py_dfg_median),
    "pm4py_polars_dfg": ("transitions", task_pm4py_polars_dfg),
    "retentioneering5_graph": ("transitions", task_retentioneering_graph),
    "ours_variants_top20": ("variants", task_ours_variants),
    "duckdb_sql_variants_top20": ("variants", task_duckdb_variants),
    "pm4py_variants": ("variants", task_pm4py_variants),
    "ours_funnel_ordered_4": ("funnel", _funnel_task("ordered")),
    "ours_funnel_strict_4": ("funnel", _funnel_task("strict")),
    "ours_funnel_any_4": ("funnel", _funnel_task("any")),
}
TRANSITIONS_ONLY = ("ours_transitions", "duckdb_sql_transitions")


# --- runner -------------------------------------------------------------------------------------------
def run_task(name: str, n_events: int, timeout_s: float) -> dict[str, Any]:
    """Run one task in a fresh interpreter; wall time and peak RSS (wait4) come from the parent."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--events", str(n_events), "--task", name],
                                stdout=out, stderr=err,
                                env={**os.environ, "RETENTIONEERING_NO_TRACK": "1", "PYTHONWARNINGS": "ignore"})
        timer = threading.Timer(timeout_s, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        errors = err.read().strip().splitlines()
    rss_mb = usage.ru_maxrss / 1024
    if not lines:
        reason = f"killed after {timeout_s:.0f} s" if wall >= timeout_s else (errors or ["failed"])[-1][:100]
        return {"task": name, "wall_s": wall, "peak_rss_mb": rss_mb, "error": reason}
    return {"task": name, "wall_s": wall, "peak_rss_mb": rss_mb, **json.loads(lines[-1])}


def print_table(results: list[dict[str, Any]], n_events: int) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(TASKS[result["task"]][0], []).append(result)
    print(f"\n{n_events:,} events — wall = whole subprocess (imports + preparation + compute); "
          f"ratio = this tool / ours (wall, and compute)")
    header = f"{'task':<26}{'wall s':>9}{'prep s':>9}{'compute s':>11}{'peak RSS MB':>13}{'wall x':>9}{'compute x':>11}  check"
    for group, rows in groups.items():
        print(f"\n[{group}]\n{header}")
        ours = next((r for r in rows if r["task"].startswith("ours") and "error" not in r), None)
        for r in rows:
            if "error" in r:
                print(f"{r['task']:<26}{r['wall_s']:>9.2f}{'':>9}{'':>11}{r['peak_rss_mb']:>13.0f}{'':>20}  "
                      f"FAILED: {r['error']}")
                continue
            wall_x = r["wall_s"] / ours["wall_s"] if ours else float("nan")
            compute_x = r["compute_s"] / ours["compute_s"] if ours else float("nan")
            print(f"{r['task']:<26}{r['wall_s']:>9.2f}{r['prep_s']:>9.2f}{r['compute_s']:>11.2f}"
                  f"{r['peak_rss_mb']:>13.0f}{wall_x:>9.2f}{compute_x:>11.2f}  {r['check']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--task", choices=sorted(TASKS), help="(internal) run one task and print JSON")
    parser.add_argument("--prepare", action="store_true", help="(internal) generate the log and warehouse")
    parser.add_argument("--only", help="comma-separated task names to run (default: all)")
    parser.add_argument("--transitions-only", action="store_true", help="ours + raw DuckDB transitions only")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per task before it is killed")
    args = parser.parse_args()
    parquet = OUT / f"journeys_{args.events}.parquet"
    if args.prepare:
        build_warehouse(generate(args.events))
        return
    if args.task:
        print(json.dumps(TASKS[args.task][1](parquet, parquet.with_suffix(".duckdb"))))
        return
    t0 = time.perf_counter()
    # In a child: Linux children inherit the parent's peak RSS at fork, so the parent stays small.
    subprocess.run([sys.executable, __file__, "--events", str(args.events), "--prepare"], check=True)
    print(f"data ready in {time.perf_counter() - t0:.1f} s: {parquet}")
    names = list(TRANSITIONS_ONLY) if args.transitions_only else list(TASKS)
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    results = []
    for name in names:
        results.append(run_task(name, args.events, args.timeout))
        print(f"  {name}: {results[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    print_table(results, args.events)


if __name__ == "__main__":
    main()
