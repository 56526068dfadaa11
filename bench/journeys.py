"""Benchmark: transitions, variants and funnels — JourneyLens vs raw DuckDB, pm4py, retentioneering.

    .venv/bin/python bench/journeys.py                      # 10M events, every task
    .venv/bin/python bench/journeys.py --events 1000000     # quicker
    .venv/bin/python bench/journeys.py --events 100000000 --transitions-only

A synthetic log (about 30 touchpoints in 6 stages, 10 events per customer on average) is
generated once and cached as Parquet in bench/out/. Every measurement runs in a fresh
subprocess and starts from that Parquet file:

* prep s — what the tool needs before it can answer, from Parquet: JourneyLens and raw
  DuckDB load it into a fresh DuckDB file as ``journey_events`` (JourneyLens through its
  warehouse and Ibis; both under the same ``--memory-limit``, default: JourneyLens's own
  default); pm4py and retentioneering read it into pandas (plus the Eventstream build).
* compute s / cpu s — the analysis itself: wall seconds and the process's CPU seconds
  (all threads; steadier than wall on a shared machine).
* wall s — the whole subprocess (interpreter start, imports, prep, compute); peak RSS is
  the child's maximum resident set (wait4).

The raw DuckDB peers are the queries a careful analyst would write: LEAD / ordered
aggregates over ``PARTITION BY customer_id ORDER BY timestamp, _seq``, exact
``quantile_cont`` / ``median``, and durations from ``epoch_us`` (``date_diff`` on
``TIMESTAMPTZ`` goes through ICU and is several times slower). Timings on a shared 2-core
machine are noisy: read ratios within one run, not milliseconds.
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


def _scratch_db(tag: str) -> Path:
    """A fresh DuckDB file for one task (removed by the runner afterwards)."""
    path = OUT / f"scratch_{tag}_{os.getpid()}.duckdb"
    path.unlink(missing_ok=True)
    return path


def cached_db(parquet: Path) -> Path:
    """``--cached-db``: one warehouse file with journey_events, loaded once and reused by every task."""
    db = parquet.with_suffix(".duckdb")
    if not db.exists():
        import duckdb

        con = duckdb.connect(str(db))
        con.execute("CREATE TABLE journey_events AS SELECT * FROM read_parquet(?)", [str(parquet)])
        con.close()
    return db


def _ours(parquet: Path) -> Any:
    """JourneyLens: a new warehouse file whose journey_events is loaded from the Parquet log."""
    from journeylens.settings import Settings
    from journeylens.warehouse import open_warehouse

    cached = os.environ.get("JOURNEYS_CACHED_DB")
    db = cached or str(_scratch_db("ours"))
    wh = open_warehouse(db, Settings(warehouse=db, duckdb_memory_limit=os.environ["JOURNEYS_MEMORY_LIMIT"]))
    if cached:
        return wh.table("journey_events")
    return wh.replace("journey_events", wh.con.read_parquet(str(parquet)))


def _raw_duckdb(parquet: Path) -> Any:
    """Raw DuckDB: the same load into a new file, under the same memory limit."""
    import duckdb

    cached = os.environ.get("JOURNEYS_CACHED_DB")
    con = duckdb.connect(cached or str(_scratch_db("duckdb")), read_only=bool(cached))
    con.execute(f"SET memory_limit = '{os.environ['JOURNEYS_MEMORY_LIMIT']}'")
    con.execute("SET enable_progress_bar = false")
    if not cached:
        con.execute("CREATE TABLE journey_events AS SELECT * FROM read_parquet(?)", [str(parquet)])
    return con


def _pandas(parquet: Path) -> Any:
    return pq.read_table(parquet, columns=["customer_id", "timestamp", "touchpoint", "_seq"]).to_pandas()


RAW_TRANSITIONS = """
WITH o AS (
  SELECT customer_id, touchpoint AS node, epoch_us(timestamp) AS us,
         LEAD(touchpoint) OVER w AS nxt, LEAD(epoch_us(timestamp)) OVER w AS next_us, ROW_NUMBER() OVER w AS rn
  FROM journey_events WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq)),
e AS (
  SELECT customer_id, node AS src, COALESCE(nxt, '__end__') AS dst, (next_us - us) / 1e6 AS s FROM o
  UNION ALL SELECT customer_id, '__start__', node, NULL FROM o WHERE rn = 1)
SELECT src, dst, count(*) AS n, count(DISTINCT customer_id) AS customers, quantile_cont(s, 0.5) AS median_s,
       avg(s) AS mean_s, quantile_cont(s, 0.9) AS p90_s
FROM e GROUP BY ALL
"""

RAW_VARIANTS = """
SELECT path, count(*) AS customers, median(secs) AS median_s FROM (
  SELECT customer_id, list(touchpoint ORDER BY timestamp, _seq) AS path,
         (epoch_us(max(timestamp)) - epoch_us(min(timestamp))) / 1e6 AS secs
  FROM journey_events GROUP BY customer_id)
GROUP BY path ORDER BY customers DESC, path LIMIT 20
"""


def _timed(prepare: Callable[[], Any], compute: Callable[[Any], str]) -> dict[str, Any]:
    """Run ``prepare`` then ``compute`` on its result; wall and CPU seconds of each."""
    t0 = time.perf_counter()
    prepared = prepare()
    t1, c1 = time.perf_counter(), time.process_time()
    check = compute(prepared)
    return {"prep_s": t1 - t0, "compute_s": time.perf_counter() - t1, "cpu_s": time.process_time() - c1,
            "check": check}


def _keys() -> dict[str, str]:
    return {"activity_key": "touchpoint", "timestamp_key": "timestamp", "case_id_key": "customer_id"}


def task_ours_transitions(parquet: Path) -> dict[str, Any]:
    from journeylens.analyses.transitions import transitions

    def compute(events: Any) -> str:
        rows = transitions(events).records
        return f"{len(rows)} edges, {sum(r['count'] for r in rows):,} moves"
    return _timed(lambda: _ours(parquet), compute)


def task_duckdb_transitions(parquet: Path) -> dict[str, Any]:
    def compute(con: Any) -> str:
        rows = con.execute(RAW_TRANSITIONS).fetchall()
        return f"{len(rows)} edges, {sum(r[2] for r in rows):,} moves"
    return _timed(lambda: _raw_duckdb(parquet), compute)


def task_pm4py_dfg(parquet: Path) -> dict[str, Any]:
    import pm4py

    def compute(frame: Any) -> str:
        dfg, starts, ends = pm4py.discover_dfg(frame, **_keys())
        return (f"{len(dfg) + len(starts) + len(ends)} edges, "
                f"{sum(dfg.values()) + sum(starts.values()) + sum(ends.values()):,} moves (counts only)")
    return _timed(lambda: _pandas(parquet), compute)


def task_pm4py_dfg_median(parquet: Path) -> dict[str, Any]:
    import pm4py

    def compute(frame: Any) -> str:
        dfg, starts, ends = pm4py.discover_dfg(frame, **_keys())
        perf, _, _ = pm4py.discover_performance_dfg(frame, **_keys())
        return f"{len(dfg) + len(starts) + len(ends)} edges, {len(perf)} timed"
    return _timed(lambda: _pandas(parquet), compute)


def task_pm4py_polars_dfg(parquet: Path) -> dict[str, Any]:
    import pm4py
    import polars as pl

    def compute(frame: Any) -> str:
        dfg, _, _ = pm4py.discover_dfg(frame, **_keys())
        return f"{len(dfg)} edges (counts only)"
    return _timed(lambda: pl.read_parquet(parquet, columns=["customer_id", "timestamp", "touchpoint", "_seq"]),
                  compute)


def task_retentioneering_graph(parquet: Path) -> dict[str, Any]:
    os.environ["RETENTIONEERING_NO_TRACK"] = "1"
    from retentioneering import Eventstream

    def prepare() -> Any:
        frame = _pandas(parquet).drop(columns=["_seq"])
        return Eventstream(frame, schema={"path_cols": ["customer_id"], "event_col": "touchpoint",
                                          "timestamp_col": "timestamp"})

    def compute(stream: Any) -> str:
        counts = stream.transition_graph_data(edge_weight="count")
        medians = stream.transition_graph_data(edge_weight="time_median")
        return (f"{int((counts.fillna(0) > 0).sum().sum())} edges, {int(counts.fillna(0).sum().sum()):,} "
                f"moves, {medians.shape[0]} nodes")
    return _timed(prepare, compute)


def task_ours_variants(parquet: Path) -> dict[str, Any]:
    from journeylens.analyses.variants import variants

    def compute(events: Any) -> str:
        rows = variants(events, top=20).records
        return f"top {rows[0]['customers']:,} customers, 20th {rows[-1]['customers']:,}"
    return _timed(lambda: _ours(parquet), compute)


def task_duckdb_variants(parquet: Path) -> dict[str, Any]:
    def compute(con: Any) -> str:
        rows = con.execute(RAW_VARIANTS).fetchall()
        return f"top {rows[0][1]:,} customers, 20th {rows[-1][1]:,}"
    return _timed(lambda: _raw_duckdb(parquet), compute)


def task_pm4py_variants(parquet: Path) -> dict[str, Any]:
    import pm4py

    def compute(frame: Any) -> str:
        found = pm4py.get_variants(frame, **_keys())
        counts = sorted(((v if isinstance(v, int) else len(v)) for v in found.values()), reverse=True)[:20]
        return f"top {counts[0]:,} customers, 20th {counts[-1]:,}"
    return _timed(lambda: _pandas(parquet), compute)


def _funnel_task(mode: str) -> Callable[[Path], dict[str, Any]]:
    def run(parquet: Path) -> dict[str, Any]:
        from journeylens.analyses.funnel import funnel

        def compute(events: Any) -> str:
            rows = funnel(events, steps=FUNNEL_STEPS, mode=mode, within_days=30).records
            return " → ".join(f"{r['customers']:,}" for r in rows)
        return _timed(lambda: _ours(parquet), compute)
    return run


TASKS: dict[str, tuple[str, Callable[[Path], dict[str, Any]]]] = {
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
def run_task(name: str, n_events: int, timeout_s: float, memory_limit: str, cached: Path | None) -> dict[str, Any]:
    """Run one task in a fresh interpreter; wall time and peak RSS (wait4) come from the parent."""
    env = {**os.environ, "RETENTIONEERING_NO_TRACK": "1", "PYTHONWARNINGS": "ignore",
           "JOURNEYS_MEMORY_LIMIT": memory_limit, **({"JOURNEYS_CACHED_DB": str(cached)} if cached else {})}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, "--events", str(n_events), "--task", name],
                                stdout=out, stderr=err, env=env)
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
    for scratch in OUT.glob(f"scratch_*_{proc.pid}.duckdb*"):
        scratch.unlink()
    rss_mb = usage.ru_maxrss / 1024
    if not lines:
        messages = [line for line in errors if "Error" in line or "Exception" in line] or errors or ["failed"]
        reason = f"killed after {timeout_s:.0f} s" if wall >= timeout_s else messages[-1][:120]
        return {"task": name, "wall_s": wall, "peak_rss_mb": rss_mb, "error": reason}
    return {"task": name, "wall_s": wall, "peak_rss_mb": rss_mb, **json.loads(lines[-1])}


def print_table(results: list[dict[str, Any]], n_events: int, memory_limit: str, cached: Path | None) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        groups.setdefault(TASKS[result["task"]][0], []).append(result)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{n_events:,} events from Parquet; DuckDB memory_limit {memory_limit}; load average now {load} "
          f"on {os.cpu_count()} cores.\nwall = whole subprocess; prep = Parquet to the tool's table/frame"
          f"{' (DuckDB tools: opening the --cached-db file only)' if cached else ''}; "
          f"compute = the analysis (wall s, and CPU s of all threads); x = this tool's compute / ours")
    header = (f"{'task':<26}{'wall s':>8}{'prep s':>8}{'compute s':>11}{'cpu s':>8}{'peak RSS MB':>13}"
              f"{'compute x':>11}{'cpu x':>8}  check")
    for group, rows in groups.items():
        print(f"\n[{group}]\n{header}")
        ours = next((r for r in rows if r["task"].startswith("ours") and "error" not in r), None)
        for r in rows:
            if "error" in r:
                print(f"{r['task']:<26}{r['wall_s']:>8.1f}{'':>27}{r['peak_rss_mb']:>13.0f}{'':>19}  "
                      f"FAILED: {r['error']}")
                continue
            compute_x = r["compute_s"] / ours["compute_s"] if ours else float("nan")
            cpu_x = r["cpu_s"] / ours["cpu_s"] if ours else float("nan")
            print(f"{r['task']:<26}{r['wall_s']:>8.1f}{r['prep_s']:>8.1f}{r['compute_s']:>11.2f}{r['cpu_s']:>8.2f}"
                  f"{r['peak_rss_mb']:>13.0f}{compute_x:>11.2f}{cpu_x:>8.2f}  {r['check']}")


def main() -> None:
    from journeylens.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--task", choices=sorted(TASKS), help="(internal) run one task and print JSON")
    parser.add_argument("--prepare", action="store_true", help="(internal) generate the Parquet log")
    parser.add_argument("--only", help="comma-separated task names to run (default: all)")
    parser.add_argument("--transitions-only", action="store_true", help="ours + raw DuckDB transitions only")
    parser.add_argument("--memory-limit", default=Settings().duckdb_memory_limit,
                        help="DuckDB memory_limit for JourneyLens and raw DuckDB alike (default: JourneyLens's)")
    parser.add_argument("--cached-db", action="store_true",
                        help="load the log into one DuckDB file once and let the DuckDB tasks open it "
                             "(their prep then excludes the load; for 100M-event runs)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per task before it is killed")
    args = parser.parse_args()
    parquet = OUT / f"journeys_{args.events}.parquet"
    if args.prepare:
        generate(args.events)
        if args.cached_db:
            cached_db(parquet)
        return
    if args.task:
        print(json.dumps(TASKS[args.task][1](parquet)))
        return
    t0 = time.perf_counter()
    # In a child: Linux children inherit the parent's peak RSS at fork, so the parent stays small.
    subprocess.run([sys.executable, __file__, "--events", str(args.events), "--prepare",
                    *(["--cached-db"] if args.cached_db else [])], check=True)
    cached = parquet.with_suffix(".duckdb") if args.cached_db else None
    print(f"data ready in {time.perf_counter() - t0:.1f} s: {parquet}")
    names = list(TRANSITIONS_ONLY) if args.transitions_only else list(TASKS)
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    results = []
    for name in names:
        results.append(run_task(name, args.events, args.timeout, args.memory_limit, cached))
        print(f"  {name}: {results[-1]['wall_s']:.1f} s", file=sys.stderr, flush=True)
    print_table(results, args.events, args.memory_limit, cached)


if __name__ == "__main__":
    main()
