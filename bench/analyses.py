"""Every analysis, cold in a fresh process, versus a hand-written DuckDB SQL reference.

    .venv/bin/python bench/analyses.py --customers 50000      # about 1M events
    .venv/bin/python bench/analyses.py --customers 500000     # about 10.6M events
    .venv/bin/python bench/analyses.py --warehouse W.duckdb --journey J.yaml   # an existing demo warehouse

The data is the demo bank (``journeylens demo``; generated once into bench/out/demo_<N>/).
Each task runs in its own subprocess: ours opens the warehouse with ``journeylens.open`` and
calls the analysis (``.to_dict()``), the reference opens the same file read-only with the
``duckdb`` module and runs the SQL a careful analyst would write for the same numbers. Both
run under the same DuckDB memory limit (``--memory-limit``). The table shows wall seconds of
the analysis call, CPU seconds of the process (all threads) and the child's peak RSS, and a
check value computed from both outputs (they must agree). Timings on a shared 2-core machine
are noisy: compare within a run. References are written for the analyses listed in
``REFERENCES``; the others show ``—``.
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

from journeys import RAW_TRANSITIONS, RAW_VARIANTS  # bench/ is on sys.path when run as a script

OUT = Path(__file__).parent / "out"
FUNNEL = ["Open account online", "KYC document upload", "Account approved", "Card activation"]

# The transitions and variants references are the ones bench/journeys.py measures.
TRANSITIONS_SQL, VARIANTS_SQL = RAW_TRANSITIONS, RAW_VARIANTS

# Funnel steps $1..$4. ordered: each step the earliest event after the previous step's match.
FUNNEL_ORDERED_SQL = """
WITH e AS (SELECT customer_id, touchpoint, epoch_us(timestamp) AS us, _seq FROM journey_events
           WHERE touchpoint IN ($1, $2, $3, $4)),
s1 AS (SELECT customer_id, min(us) AS t FROM e WHERE touchpoint = $1 GROUP BY ALL),
s2 AS (SELECT s.customer_id, min(e.us) AS t FROM s1 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $2 AND e.us >= s.t GROUP BY ALL),
s3 AS (SELECT s.customer_id, min(e.us) AS t FROM s2 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $3 AND e.us >= s.t GROUP BY ALL),
s4 AS (SELECT s.customer_id, min(e.us) AS t FROM s3 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $4 AND e.us >= s.t GROUP BY ALL)
SELECT (SELECT count(*) FROM s1), (SELECT count(*) FROM s2), (SELECT count(*) FROM s3), (SELECT count(*) FROM s4)"""

# any: first event at each step, in any order; step k reached when steps 1..k all occurred.
FUNNEL_ANY_SQL = """
WITH f AS (SELECT customer_id, min(timestamp) FILTER (touchpoint = $1) AS t1,
                  min(timestamp) FILTER (touchpoint = $2) AS t2, min(timestamp) FILTER (touchpoint = $3) AS t3,
                  min(timestamp) FILTER (touchpoint = $4) AS t4
           FROM journey_events WHERE touchpoint IN ($1, $2, $3, $4) GROUP BY customer_id)
SELECT count(t1), count(t1) FILTER (t2 IS NOT NULL),
       count(t1) FILTER (t2 IS NOT NULL AND t3 IS NOT NULL),
       count(t1) FILTER (t2 IS NOT NULL AND t3 IS NOT NULL AND t4 IS NOT NULL) FROM f"""

# strict: the steps as consecutive events, starting at the first event at step 1.
FUNNEL_STRICT_SQL = """
WITH o AS (SELECT customer_id, touchpoint AS a, LEAD(touchpoint, 1) OVER w AS b, LEAD(touchpoint, 2) OVER w AS c,
                  LEAD(touchpoint, 3) OVER w AS d,
                  ROW_NUMBER() OVER (PARTITION BY customer_id, touchpoint ORDER BY timestamp, _seq) AS k
           FROM journey_events WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq))
SELECT count(*), count(*) FILTER (b = $2), count(*) FILTER (b = $2 AND c = $3),
       count(*) FILTER (b = $2 AND c = $3 AND d = $4) FROM o WHERE a = $1 AND k = 1"""

JOURNEY_MAP_SQL = """
WITH s AS (SELECT customer_id, stage, touchpoint, epoch_us(timestamp) AS us FROM journey_events WHERE stage IS NOT NULL),
per AS (SELECT stage, customer_id, (max(us) - min(us)) / 1e6 AS secs FROM s GROUP BY ALL)
SELECT 'stage' AS level, stage AS name, count(*) AS customers, NULL AS events, median(secs) AS median_s FROM per GROUP BY ALL
UNION ALL
SELECT 'touchpoint', touchpoint, count(DISTINCT customer_id), count(*), NULL FROM s GROUP BY ALL"""

CHANNELS_SQL = """
WITH o AS (SELECT customer_id, channel AS a, LEAD(channel) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS b
           FROM journey_events WHERE channel IS NOT NULL)
SELECT a, b, count(*) AS transitions, count(DISTINCT customer_id) AS customers FROM o WHERE b IS NOT NULL GROUP BY ALL"""

RETENTION_SQL = """
WITH a AS (SELECT DISTINCT customer_id, date_trunc('week', timestamp) AS p FROM journey_events),
f AS (SELECT customer_id, min(p) AS cohort FROM a GROUP BY ALL)
SELECT cohort, round((epoch(p) - epoch(cohort)) / 604800)::BIGINT AS k, count(*) AS n
FROM a JOIN f USING (customer_id) GROUP BY ALL"""

TIME_TO_STAGE_SQL = """
WITH r AS (SELECT customer_id, stage, min(stage_order) AS o, min(epoch_us(timestamp)) AS t
           FROM journey_events WHERE stage IS NOT NULL GROUP BY ALL)
SELECT a.stage, b.stage, count(*) AS n, avg((b.t - a.t) / 1e6), quantile_cont((b.t - a.t) / 1e6, [0.25, 0.5, 0.75, 0.9])
FROM r a JOIN r b ON a.customer_id = b.customer_id AND b.t >= a.t AND a.stage <> b.stage AND b.o > a.o GROUP BY ALL"""

METRICS_SQL = """
SELECT touchpoint, date_trunc('month', timestamp) AS month, count(nps) AS n,
       100.0 * (count(*) FILTER (nps >= 9) - count(*) FILTER (nps <= 6)) / count(nps) AS nps,
       avg(csat) AS csat, avg(ces) AS ces
FROM feedback WHERE coalesce(respondent, 'customer') = 'customer' GROUP BY ALL"""

#: task -> (reference SQL, parameters)
REFERENCES: dict[str, tuple[str, list[Any]]] = {
    "transitions": (TRANSITIONS_SQL, []),
    "variants": (VARIANTS_SQL, []),
    "funnel ordered": (FUNNEL_ORDERED_SQL, FUNNEL),
    "funnel strict": (FUNNEL_STRICT_SQL, FUNNEL),
    "funnel any": (FUNNEL_ANY_SQL, FUNNEL),
    "journey map": (JOURNEY_MAP_SQL, []),
    "channels": (CHANNELS_SQL, []),
    "retention": (RETENTION_SQL, []),
    "time to stage": (TIME_TO_STAGE_SQL, []),
    "metrics": (METRICS_SQL, []),
}
TASKS = ["transitions", "variants", "funnel ordered", "funnel strict", "funnel any", "journey map", "channels",
         "switch impact", "conformance", "cohorts", "retention", "time to stage", "metrics", "feedback links"]


# --- what each side computes, reduced to a check value both must agree on --------------------------
def run_ours(task: str, lens: Any) -> str:
    if task == "transitions":
        rows = lens.transitions().records
        return f"{len(rows)} edges, {sum(r['count'] for r in rows)} moves"
    if task == "variants":
        rows = lens.variants(top=20).records
        return f"top {rows[0]['customers']}, 20th {rows[-1]['customers']}"
    if task.startswith("funnel"):
        rows = lens.funnel(FUNNEL, mode=task.split()[1]).records
        return "/".join(str(r["customers"]) for r in rows)
    if task == "journey map":
        d = lens.journey_map().to_dict()
        return f"{len(d['stages'])} stages, {sum(s['customers'] for s in d['stages'])} stage-customers"
    if task == "channels":
        d = lens.channels().to_dict()
        return f"{len(d['matrix'])} pairs, {sum(r['transitions'] for r in d['matrix'])} moves"
    if task == "retention":
        d = lens.retention().to_dict()
        return f"{len(d['cohorts'])} cohorts, {sum(c['customers'] for c in d['cohorts'])} customers"
    if task == "time to stage":
        rows = lens.time_to_stage().records
        return f"{len(rows)} pairs, {sum(r['n'] for r in rows)} customers"
    if task == "metrics":
        rows = lens.metrics().records
        return f"{len(rows)} groups"
    method = {"switch impact": "switch_impact", "conformance": "conformance", "cohorts": "cohorts",
              "feedback links": "feedback_links"}[task]
    result = getattr(lens, method)()
    payload = result.to_dict()
    return f"{len(payload) if isinstance(payload, list) else len(json.dumps(payload, default=str))} (size)"


def run_reference(task: str, con: Any) -> str:
    sql, params = REFERENCES[task]
    rows = con.execute(sql, params).fetchall()
    if task == "transitions":
        return f"{len(rows)} edges, {sum(r[2] for r in rows)} moves"
    if task == "variants":
        return f"top {rows[0][1]}, 20th {rows[-1][1]}"
    if task.startswith("funnel"):
        return "/".join(str(v) for v in rows[0])
    if task == "journey map":
        stages = [r for r in rows if r[0] == "stage"]
        return f"{len(stages)} stages, {sum(r[2] for r in stages)} stage-customers"
    if task == "channels":
        return f"{len(rows)} pairs, {sum(r[2] for r in rows)} moves"
    if task == "retention":
        cohorts = {r[0]: r[2] for r in rows if r[1] == 0}
        return f"{len(cohorts)} cohorts, {sum(cohorts.values())} customers"
    if task == "time to stage":
        return f"{len(rows)} pairs, {sum(r[2] for r in rows)} customers"
    if task == "metrics":
        return f"{len(rows)} groups"
    raise KeyError(task)


def _import_analyses() -> None:
    import importlib

    for name in ("transitions", "variants", "funnel", "journey_map", "channels", "switch_impact", "conformance",
                 "cohorts", "retention", "metrics", "feedback_links"):
        importlib.import_module(f"journeylens.analyses.{name}")


def child(side: str, task: str, warehouse: str, journey: str, memory_limit: str) -> None:
    """One measured run in this fresh process; prints a JSON line."""
    started = time.perf_counter()
    if side == "ours":
        import journeylens
        from journeylens.settings import Settings

        lens = journeylens.open(warehouse, journey, Settings(warehouse=warehouse, duckdb_memory_limit=memory_limit))
        _import_analyses()  # module imports are not the query: both sides start with their code loaded
        t0, c0 = time.perf_counter(), time.process_time()
        check = run_ours(task, lens)
    else:
        import duckdb

        con = duckdb.connect(warehouse, read_only=True)
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        t0, c0 = time.perf_counter(), time.process_time()
        check = run_reference(task, con)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                      "total": time.perf_counter() - started, "check": check}))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--warehouse")
    parser.add_argument("--journey")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--only", nargs="*", help="task names (default: all)")
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "TASK"))
    parser.add_argument("--measure", nargs=2, metavar=("SIDE", "TASK"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.warehouse, args.journey, args.memory_limit)
        return
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.measure[1], args)))
        return
    if not args.warehouse:
        args.warehouse, args.journey = ensure_demo(args.customers)
    import duckdb

    with duckdb.connect(args.warehouse, read_only=True) as con:
        n_events = con.execute("SELECT count(*) FROM journey_events").fetchone()[0]
    print(f"warehouse {args.warehouse}: {n_events:,} journey events; memory limit {args.memory_limit}; "
          f"load average before {os.getloadavg()[0]:.1f}", flush=True)
    print("| analysis | ours s | ours CPU s | ours RSS MB | reference s | ref CPU s | ref RSS MB | ours ÷ ref | "
          "check (ours / reference) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for task in args.only or TASKS:
        ours = run_isolated("ours", task, args)
        ref = run_isolated("reference", task, args) if task in REFERENCES else {}
        ratio = f"{ours['seconds'] / ref['seconds']:.2f}×" if "seconds" in ours and "seconds" in ref else "—"

        def cells(r: dict[str, Any]) -> str:
            if "error" in r:
                return f"error: {r['error']} | | "
            if not r:
                return "— | | "
            return f"{r['seconds']:.2f} | {r['cpu']:.2f} | {r['rss_mb']:.0f} "

        check = f"{ours.get('check', '')} / {ref.get('check', '—')}"
        print(f"| {task} | {cells(ours)}| {cells(ref)}| {ratio} | {check} |", flush=True)
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
