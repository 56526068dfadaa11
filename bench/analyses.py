"""Every analysis, cold in a fresh process, versus a hand-written DuckDB SQL reference.

Stable command line (the 100M run uses exactly this):

    .venv/bin/python bench/analyses.py --size 1M                 # demo bank, 50,000 customers (~1.06M events)
    .venv/bin/python bench/analyses.py --size 10M                # 500,000 customers (~10.6M events)
    .venv/bin/python bench/analyses.py --size 100M               # 5,000,000 customers (~106M events)
    .venv/bin/python bench/analyses.py --data DIR                # demo Parquet files in DIR (events/customers/
                                                                 #   feedback/spend.parquet + bank.journey.yaml);
                                                                 #   the warehouse DIR/wh.duckdb is built once
    .venv/bin/python bench/analyses.py --warehouse W.duckdb --journey J.yaml   # an existing demo warehouse
    options: --only "journey map" channels …   --memory-limit 6GB   --timeout 900   --json OUT.json
             --sides ours   (one side only: at 100M every analysis of ours first, then --sides reference;
             --combine OURS.json REF.json prints the joint table and compares the outputs)

``--size`` generates the demo once into bench/out/demo_<N>/ (``journeylens demo``). Each task
runs in its own subprocess (cold: a fresh process, nothing cached but the OS page cache):
ours opens the warehouse with ``journeylens.open`` and calls the analysis; the reference opens
the same file read-only with the ``duckdb`` module and runs the SQL a careful analyst would
write for the same numbers (``bench/analyses_reference.py``). Both run under the same DuckDB
memory limit. The table shows wall seconds of the analysis call, CPU seconds of the process
(all threads) and the child's peak RSS, the ratio ours ÷ reference (wall, then CPU), and
whether both outputs are the same (every number the engine computes; see
analyses_reference.py). Timings on a shared machine are noisy: compare within a run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import analyses_reference as ref  # bench/ is on sys.path when run as a script

OUT = Path(__file__).parent / "out"
SIZES = {"1M": 50_000, "10M": 500_000, "100M": 5_000_000}
TASKS = ["transitions", "variants", "funnel ordered", "funnel strict", "funnel any", "journey map", "channels",
         "switch impact", "conformance", "cohorts", "retention", "time to stage", "metrics", "feedback links"]


def _import_analyses() -> None:
    import importlib

    for name in ("transitions", "variants", "funnel", "journey_map", "channels", "switch_impact", "conformance",
                 "cohorts", "retention", "metrics", "feedback_links"):
        importlib.import_module(f"journeylens.analyses.{name}")
    importlib.import_module("journeylens.journeys.incremental")  # what lens.events() loads to check freshness


def child(side: str, task: str, warehouse: str, journey: str, memory_limit: str) -> None:
    """One measured run in this fresh process; prints a JSON line with the timings and the rows."""
    if side == "ours":
        import journeylens
        from journeylens.settings import Settings

        lens = journeylens.open(warehouse, journey, Settings(warehouse=warehouse, duckdb_memory_limit=memory_limit))
        _import_analyses()  # module imports are not the query: both sides start with their code loaded
        t0, c0 = time.perf_counter(), time.process_time()
        rows = ref.ours(task, lens)
    else:
        import duckdb

        con = duckdb.connect(warehouse, read_only=True)
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")

        def run(sql: str, params: dict[str, Any] | None) -> list[tuple[Any, ...]]:
            cursor = con.execute(sql, params) if params else con.execute(sql)
            return cursor.fetchall() if cursor.description else []

        t0, c0 = time.perf_counter(), time.process_time()
        rows = ref.reference(task, run, journey)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rows": rows},
                     default=str))


def measure(side: str, task: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", side, task, "--warehouse", args.warehouse,
           "--journey", args.journey, "--memory-limit", args.memory_limit]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, check=False)
    # This wrapper process ran only that child, so its children's peak RSS is the child's.
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    err = proc.stderr
    out = proc.stdout
    if proc.returncode != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1][:120]}
    return {**json.loads(out.strip().splitlines()[-1]), "rss_mb": rss_mb}


def run_isolated(side: str, task: str, args: argparse.Namespace) -> dict[str, Any]:
    """``measure`` in a wrapper process so RUSAGE_CHILDREN's peak is this run's alone."""
    cmd = [sys.executable, __file__, "--measure", side, task, "--warehouse", args.warehouse,
           "--journey", args.journey, "--memory-limit", args.memory_limit, "--timeout", str(args.timeout)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    except (IndexError, json.JSONDecodeError):
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:120]}


def ensure_demo(customers: int) -> tuple[str, str]:
    target = OUT / f"demo_{customers}"
    db = target / "wh.duckdb"
    if not db.exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "journeylens.surfaces.cli.main", "--warehouse", str(db), "demo",
                        "--customers", str(customers), "--out", str(target)], check=True)
    return str(db), str(target / "bank.journey.yaml")


def ensure_data(directory: str) -> tuple[str, str]:
    """A warehouse built once from demo Parquet files in ``directory`` (current ingest, events last)."""
    folder = Path(directory)
    db, journey = folder / "wh.duckdb", folder / "bank.journey.yaml"
    if not db.exists():
        import journeylens

        lens = journeylens.open(str(db), str(journey))
        for table in ("customers", "spend", "feedback", "events"):
            if (folder / f"{table}.parquet").exists():
                lens.ingest(table, str(folder / f"{table}.parquet"))
        lens.warehouse.close()
    return str(db), str(journey)


def _cells(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"error: {r['error']} | | "
    return f"{r['seconds']:.2f} | {r['cpu']:.2f} | {r['rss_mb']:.0f} "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), help="demo size: 1M, 10M or 100M events")
    parser.add_argument("--customers", type=int, help="demo size in customers (instead of --size)")
    parser.add_argument("--data", help="directory with the demo's Parquet files and bank.journey.yaml")
    parser.add_argument("--warehouse")
    parser.add_argument("--journey")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--only", nargs="*", help="task names (default: all)")
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--sides", choices=("both", "ours", "reference"), default="both",
                        help="run both sides (default) or only one")
    parser.add_argument("--combine", nargs=2, metavar=("OURS_JSON", "REF_JSON"),
                        help="print one table from a --sides ours and a --sides reference --json file")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "TASK"))
    parser.add_argument("--measure", nargs=2, metavar=("SIDE", "TASK"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.warehouse, args.journey, args.memory_limit)
        return
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], args)))
        return
    if args.combine:
        combine(*args.combine, args.json)
        return
    if args.data:
        args.warehouse, args.journey = ensure_data(args.data)
    elif not args.warehouse:
        args.warehouse, args.journey = ensure_demo(args.customers or SIZES[args.size or "1M"])
    unknown = sorted(set(args.only or ()) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {unknown}; tasks: {TASKS}")
    import duckdb

    with duckdb.connect(args.warehouse, read_only=True) as con:
        n_events = con.execute("SELECT count(*) FROM journey_events").fetchone()[0]
    print(f"warehouse {args.warehouse}: {n_events:,} journey events; memory limit {args.memory_limit}; "
          f"load average before {os.getloadavg()[0]:.1f}", flush=True)
    print(HEADER, flush=True)
    results = []
    for task in args.only or TASKS:
        skipped: dict[str, Any] = {"error": "not run (--sides)"}
        ours = _timed("ours", task, args) if args.sides != "reference" else dict(skipped)
        theirs = _timed("reference", task, args) if args.sides != "ours" else dict(skipped)
        line, result = _row(task, ours, theirs)
        print(line, flush=True)
        results.append(result)
    print(f"load average after {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"events": n_events, "results": results}, indent=1, default=str))


HEADER = ("| analysis | ours s | ours CPU s | ours RSS MB | reference s | ref CPU s | ref RSS MB | ours ÷ ref wall | "
          "ours ÷ ref CPU | same output | load before (ours / ref) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")


def _timed(side: str, task: str, args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    return {**run_isolated(side, task, args), "load": round(load, 1)}


def _row(task: str, ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The printed table row and the JSON result of one analysis (rows kept when a side is missing,
    so that ``--combine`` can compare two one-sided runs later)."""
    both = "seconds" in ours and "seconds" in theirs
    wall = f"{ours['seconds'] / theirs['seconds']:.2f}×" if both else "—"
    cpu = f"{ours['cpu'] / theirs['cpu']:.2f}×" if both and theirs["cpu"] else "—"
    same = ref.compare(ours.pop("rows"), theirs.pop("rows")) if both else "—"
    loads = f"{ours.get('load', '—')} / {theirs.get('load', '—')}"
    line = f"| {task} | {_cells(ours)}| {_cells(theirs)}| {wall} | {cpu} | {same} | {loads} |"
    return line, {"task": task, "ours": ours, "reference": theirs, "same": same}


def combine(ours_file: str, reference_file: str, out: str | None) -> None:
    """One table from a ``--sides ours`` run and a ``--sides reference`` run (outputs compared)."""
    ours_run, ref_run = (json.loads(Path(f).read_text()) for f in (ours_file, reference_file))
    theirs = {r["task"]: r["reference"] for r in ref_run["results"]}
    print(f"{ours_run['events']:,} journey events (ours from {ours_file}, reference from {reference_file})")
    print(HEADER)
    results = []
    for r in ours_run["results"]:
        line, result = _row(r["task"], r["ours"], theirs.get(r["task"], {"error": "not run"}))
        print(line)
        results.append(result)
    if out:
        Path(out).write_text(json.dumps({"events": ours_run["events"], "results": results}, indent=1, default=str))

if __name__ == "__main__":
    main()
