"""Every analysis on Spark (local[2]) versus hand-written Spark SQL, cold, in one run.

    .venv/bin/python bench/analyses_spark.py --data bench/out/demo_50000      # about 1M events
    .venv/bin/python bench/analyses_spark.py --data DIR --only "journey map" channels
    .venv/bin/python bench/analyses_spark.py --data DIR --export   # tables copied from DIR/wh.duckdb

``DIR`` holds the demo's Parquet files and ``bank.journey.yaml`` (``journeylens demo --out``).
The Spark warehouse ``DIR/spark_wh`` is built once through JourneyLens's own ingest on Spark.
Each side runs in a fresh process with its own SparkSession (local[2], the project's defaults:
2 GB driver, UTC) and runs the tasks one after another (one JVM start per side instead of one
per task; Spark's cache is cleared after each task); the session start is not timed. "Ours" calls the analysis on
``journeylens.open("pyspark://DIR/spark_wh")``; the reference runs the same hand-written
queries as ``bench/analyses.py`` (``analyses_reference.py``), rewritten for Spark SQL by
``spark_sql``, with ANSI mode off so a division by zero is a null as in DuckDB. Wall seconds,
CPU seconds of the JVM plus the Python driver, and whether both outputs are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import analyses_reference as ref  # bench/ is on sys.path when run as a script

TASKS = ["transitions", "variants", "funnel ordered", "funnel strict", "funnel any", "journey map", "channels",
         "switch impact", "conformance", "cohorts", "retention", "time to stage", "metrics", "feedback links"]


def _jvm_cpu(session: Any) -> float:
    """CPU seconds (user + system) of the Spark JVM so far."""
    pid = int(session.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_spark_warehouse(data: Path, export: bool) -> str:
    """``DIR/spark_wh``, built once: through JourneyLens's ingest on Spark, or with ``export``
    by copying the tables of the DuckDB warehouse ``DIR/wh.duckdb`` (built by the same ingest)
    to the Parquet directories a Spark warehouse keeps (much faster on a loaded machine)."""
    target = data / "spark_wh"
    if (target / "journey_events").exists():
        return str(target)
    if export:
        import duckdb

        target.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(data / "wh.duckdb"), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                con.execute(f"COPY {table} TO '{target / table}' (FORMAT parquet, PER_THREAD_OUTPUT true)")
        return str(target)
    import journeylens

    lens = journeylens.open(f"pyspark://{target}", str(data / "bank.journey.yaml"))
    for table in ("customers", "spend", "feedback", "events"):
        lens.ingest(table, str(data / f"{table}.parquet"))
    return str(target)


def child(side: str, tasks: list[str], warehouse: str, journey: str) -> None:
    """Runs ``tasks`` one after another in this process's SparkSession; one JSON line each."""
    import journeylens
    from journeylens.warehouse.engines import spark_session

    os.environ.setdefault("JOURNEYLENS_SPARK_SHUFFLE_PARTITIONS", "2")
    session = spark_session("local[2]", warehouse)
    lens = journeylens.open(f"pyspark://{warehouse}", journey)  # registers the warehouse's tables
    lens.warehouse.table("journey_events").count().execute()  # session and catalogue warm, data cold
    if side == "reference":
        session.conf.set("spark.sql.ansi.enabled", "false")

    def run(sql: str, params: dict[str, Any] | None) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in session.sql(ref.spark_sql(sql), args=params or None).collect()]

    for task in tasks:
        t0, c0, j0 = time.perf_counter(), time.process_time(), _jvm_cpu(session)
        try:
            rows = ref.ours(task, lens) if side == "ours" else ref.reference(task, run, journey, spark=True)
        except Exception as exc:
            print(json.dumps({"task": task, "error": f"{type(exc).__name__}: {exc}"[:160]}), flush=True)
            continue
        finally:
            session.catalog.clearCache()
        cpu = time.process_time() - c0 + _jvm_cpu(session) - j0
        print(json.dumps({"task": task, "seconds": time.perf_counter() - t0, "cpu": cpu, "rows": rows}, default=str),
              flush=True)


def measure(side: str, tasks: list[str], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    cmd = [sys.executable, __file__, "--child", side, *tasks, "--warehouse", args.warehouse, "--journey", args.journey]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    results: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            results[record.pop("task")] = record
    tail = (done.stderr.strip().splitlines() or ["failed"])[-1][:160]
    return {task: results.get(task, {"error": tail}) for task in tasks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="directory with the demo's Parquet files and bank.journey.yaml")
    parser.add_argument("--warehouse")
    parser.add_argument("--journey")
    parser.add_argument("--export", action="store_true",
                        help="build the Spark warehouse from DIR/wh.duckdb instead of ingesting on Spark")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--child", nargs="+", metavar="SIDE TASK")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:], args.warehouse, args.journey)
        return
    if args.data:
        args.warehouse = ensure_spark_warehouse(Path(args.data), args.export)
        args.journey = str(Path(args.data) / "bank.journey.yaml")
    tasks = args.only or TASKS
    print(f"Spark warehouse {args.warehouse}; local[2]; load average before {os.getloadavg()[0]:.1f}", flush=True)
    ours, theirs = measure("ours", tasks, args), measure("reference", tasks, args)
    print("| analysis | ours s | ours CPU s | reference s | ref CPU s | ours ÷ ref wall | ours ÷ ref CPU | same output |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for task in tasks:
        a, b = ours[task], theirs[task]

        def cells(r: dict[str, Any]) -> str:
            return f"error: {r['error']} | " if "error" in r else f"{r['seconds']:.2f} | {r['cpu']:.2f} "

        both = "seconds" in a and "seconds" in b
        wall = f"{a['seconds'] / b['seconds']:.2f}×" if both else "—"
        cpu = f"{a['cpu'] / b['cpu']:.2f}×" if both and b["cpu"] else "—"
        same = ref.compare(a["rows"], b["rows"]) if both else "—"
        print(f"| {task} | {cells(a)}| {cells(b)}| {wall} | {cpu} | {same} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
