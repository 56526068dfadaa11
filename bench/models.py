"""Models at scale: key drivers on 1M responses × 12 drivers, churn training and scoring on 1M
customers, each next to the same work done by hand with pandas + scikit-learn, in one run.

    .venv/bin/python bench/models.py                                   # 1M responses, 1M customers × 10 events
    .venv/bin/python bench/models.py --responses 200000 --customers 200000 --events-per-customer 3
    .venv/bin/python bench/models.py --demo /path/to/demo --replicate 2 --work /tmp/models-1m   # churn on the demo

With ``--demo DIR`` (the output of ``journeylens demo``: a warehouse and ``bank.journey.yaml``)
the churn part runs on the demo's own journeys, every customer copied ``--replicate`` times
under a new id (events, journeys, feedback and customers alike), so the planted churn drivers
are there and the size is chosen: ``--replicate 2`` of a 500,000-customer demo is 1,000,000
customers. The copy is made in the warehouse with SQL (``--work`` keeps it between runs) and
the hand-made peer reads the same events and customers from Parquet. ``--steps`` picks parts.

Each measured step runs in its own process (so peak RSS is that step's own), with DuckDB
limited to 3 GB. Ours reads the warehouse through Ibis; the hand-made peer reads the same
data from Parquet into pandas. What each side computes:

* drivers — ours: the ratings read from the ``metrics`` JSON in one parse per row, LMG over
  all 4,096 subsets from the grouped cross-products (one pass over the rows) plus 200 bootstrap
  replicates that resample group totals and run their LMG in one batched call (ADR 0099), for
  95 % intervals, performance and quadrants; by hand: pandas ``corr()``, each subset's R² by
  ``LinearRegression`` on the correlation-standardised frame is far too slow at 1M rows, so the
  peer solves each subset from the correlation matrix in a plain Python loop (no intervals).
* churn — ours: Ibis journey features, LightGBM and logistic regression on a 500k sample (the
  better by held-out log loss), Platt calibration, SHAP reasons for every customer (LightGBM's TreeSHAP
  per tree on one row per group of rows the tree cannot tell apart, ADR 0100; a second row:
  the same without reasons, so the cost of the reasons is visible); by hand: pandas groupby features, scikit-learn
  ``HistGradientBoostingClassifier`` on the same sample, ``predict_proba`` for every customer
  (no calibration, no reasons).
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from queue import Empty
from typing import Any

import numpy as np
import pandas as pd

DRIVERS = [f"sat_{i:02d}" for i in range(12)]
TOUCHPOINTS = ["Login", "Transfer", "Statement", "Help search", "Chat", "Call", "Complaint", "Branch visit"]
CHANNELS = {"Login": "app", "Transfer": "app", "Statement": "web", "Help search": "web", "Chat": "chat",
            "Call": "call_centre", "Complaint": "call_centre", "Branch visit": "branch"}
START = datetime(2024, 1, 1, tzinfo=UTC)
HORIZON_DAYS = 90


def responses(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    common = rng.normal(size=n)
    ratings = {name: np.clip(np.round(3 + 0.8 * common + rng.normal(size=n)), 1, 5).astype(np.int32)
               for name in DRIVERS}
    latent = sum((12 - i) / 12 * ratings[name] for i, name in enumerate(DRIVERS)) + rng.normal(0, 3, n)
    nps = np.clip(np.round((latent - latent.mean()) / latent.std() * 2.2 + 7), 0, 10).astype(np.int32)
    return pd.DataFrame({"response_id": np.arange(n).astype(str), "timestamp": START, "nps": nps, **ratings})


def customers_and_events(n: int, per_customer: int, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.char.add("c", np.arange(n).astype(str))
    calls = rng.poisson(0.5, n)
    risk = 1 / (1 + np.exp(-(-2.5 + 0.6 * calls)))
    churned = rng.random(n) < risk
    span = 365 * 86400
    churn_ts = START.timestamp() + rng.integers(200 * 86400, span, n)
    m = n * per_customer
    who = rng.integers(0, n, m)
    tp = np.asarray(TOUCHPOINTS)[rng.integers(0, len(TOUCHPOINTS), m)]
    ts = START.timestamp() + rng.integers(0, span, m)
    keep = ~churned[who] | (ts < churn_ts[who])
    events = pd.DataFrame({"customer_id": ids[who[keep]], "timestamp": pd.to_datetime(ts[keep], unit="s", utc=True),
                           "touchpoint": tp[keep], "channel": [CHANNELS[t] for t in tp[keep]]})
    customers = pd.DataFrame({"customer_id": ids, "segment": rng.choice(["mass", "premium", "student"], n),
                              "value": np.round(rng.lognormal(5, 0.5, n), 2), "churned": churned,
                              "churn_date": pd.to_datetime(np.where(churned, churn_ts, np.nan), unit="s", utc=True)})
    return customers, events


# --- steps (each in its own process) ------------------------------------------------------------
def setup(root: str, n_responses: int, n_customers: int, per_customer: int) -> dict[str, Any]:
    import journeylens
    from journeylens.settings import Settings

    settings = Settings(warehouse=f"{root}/bench.duckdb", duckdb_memory_limit="3GB",
                        app_database_url=f"sqlite:///{root}/app.db")
    lens = journeylens.open(settings.warehouse, settings=settings)
    frame = responses(n_responses)
    frame.to_parquet(f"{root}/responses.parquet")
    lens.ingest("feedback", frame)
    customers, events = customers_and_events(n_customers, per_customer)
    customers.to_parquet(f"{root}/customers.parquet")
    events.to_parquet(f"{root}/events.parquet")
    lens.ingest("customers", customers)
    lens.ingest("events", events)
    return {"events": len(events)}


def setup_responses(root: str, n_responses: int) -> dict[str, Any]:
    """Responses in their own warehouse (with ``--demo`` the churn warehouse holds the demo)."""
    import journeylens

    lens = journeylens.open(f"{root}/responses.duckdb", settings=_settings(root))
    frame = responses(n_responses)
    frame.to_parquet(f"{root}/responses.parquet")
    lens.ingest("feedback", frame)
    return {"responses": len(frame)}


def ours_drivers(root: str, n_bootstrap: int = 200) -> dict[str, Any]:
    import journeylens

    path = f"{root}/responses.duckdb" if os.path.exists(f"{root}/responses.duckdb") else f"{root}/bench.duckdb"
    lens = journeylens.open(path, settings=_settings(root))
    result = lens.drivers(target="nps", drivers=DRIVERS, n_bootstrap=n_bootstrap)
    return {"top": result.to_dict()["drivers"][0]["driver"], "n": result.params["n"]}


def ours_drivers_no_intervals(root: str) -> dict[str, Any]:
    return ours_drivers(root, n_bootstrap=0)


def hand_drivers(root: str) -> dict[str, Any]:
    frame = pd.read_parquet(f"{root}/responses.parquet", columns=["nps", *DRIVERS]).dropna()
    corr = frame[[*DRIVERS, "nps"]].corr().to_numpy()
    k = len(DRIVERS)
    r2: dict[frozenset[int], float] = {frozenset(): 0.0}
    for size in range(1, k + 1):
        for subset in itertools.combinations(range(k), size):
            idx = list(subset)
            beta = np.linalg.solve(corr[np.ix_(idx, idx)], corr[idx, k])
            r2[frozenset(subset)] = float(beta @ corr[idx, k])
    shares = np.zeros(k)
    for j in range(k):
        for subset, value in r2.items():
            if j not in subset:
                s = len(subset)
                shares[j] += math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) * (r2[subset | {j}] - value)
    return {"top": DRIVERS[int(np.argmax(shares))], "n": len(frame)}


def _settings(root: str) -> Any:
    from journeylens.settings import Settings

    return Settings(duckdb_memory_limit="3GB", app_database_url=f"sqlite:///{root}/app.db")


_COPIED = {"customers": ("customer_id", "_key"), "events": ("customer_id", "event_id", "anonymous_id", "_key"),
           "journey_events": ("customer_id", "event_id", "anonymous_id"),
           "feedback": ("customer_id", "response_id", "_key"), "identities": ("customer_id", "anonymous_id")}


def prepare_demo(root: str, demo: str, replicate: int) -> dict[str, Any]:
    """Copy a demo warehouse with every customer ``replicate`` times (ids suffixed ``#k``), then
    write the peer's Parquet files. ``journey_state`` is carried over, so no journey rebuild."""
    import shutil

    import duckdb

    source = next(p for p in (f"{demo}/wh.duckdb", f"{demo}/journeylens.duckdb") if os.path.exists(p))
    shutil.copy(f"{demo}/bank.journey.yaml", f"{root}/bank.journey.yaml")
    con = duckdb.connect(f"{root}/bench.duckdb")
    con.execute("SET memory_limit = '3GB'")
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")  # a bench path, not user input
    tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_catalog = 'src'").fetchall()]
    for table in tables:
        ids = _COPIED.get(table, ())
        if not ids:
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM src."{table}"')
            continue
        cols = [r[0] for r in con.execute(f"SELECT column_name FROM information_schema.columns WHERE table_catalog"
                                          f" = 'src' AND table_name = '{table}'").fetchall()]
        seq = con.execute(f'SELECT max(_seq) + 1 FROM src."{table}"').fetchone()[0] if "_seq" in cols else 0
        parts = []
        for k in range(replicate):
            suffix = "" if k == 0 else f"#{k + 1}"
            moved = [f"{c} || '{suffix}' AS {c}" for c in ids if c in cols]
            if "_seq" in cols:
                moved.append(f"_seq + {k * seq} AS _seq")
            parts.append(f'SELECT * REPLACE ({", ".join(moved)}) FROM src."{table}"')
        con.execute(f'CREATE TABLE "{table}" AS ' + " UNION ALL ".join(parts) + (" ORDER BY _seq" if "_seq" in cols
                                                                               else ""))
    top = con.execute("SELECT max(_seq) FROM events").fetchone()[0]
    con.execute("UPDATE journey_state SET applied_seq = ?", [top])
    con.execute(f"COPY (SELECT customer_id, timestamp, touchpoint, channel FROM events WHERE customer_id IS NOT NULL) "
                f"TO '{root}/events.parquet' (FORMAT parquet)")
    con.execute(f"COPY (SELECT customer_id, segment, value, churned, churn_date FROM customers) "
                f"TO '{root}/customers.parquet' (FORMAT parquet)")
    out = {"events": con.execute("SELECT count(*) FROM events").fetchone()[0],
           "customers": con.execute("SELECT count(DISTINCT customer_id) FROM customers").fetchone()[0]}
    con.close()
    return out


def _open_lens(root: str) -> Any:
    import journeylens

    journey = f"{root}/bank.journey.yaml"
    return journeylens.open(f"{root}/bench.duckdb", journey if os.path.exists(journey) else None,
                            settings=_settings(root))


def ours_churn(root: str, reasons: int = 3) -> dict[str, Any]:
    lens = _open_lens(root)
    lens.events()  # journey_events built at ingest; nothing to time here
    started = time.perf_counter()
    result = lens.predict_churn(horizon_days=HORIZON_DAYS, reasons=reasons)
    return {"scored": len(result), "model": result.params["model"], "seconds_model": round(time.perf_counter() - started, 1)}


def ours_churn_no_reasons(root: str) -> dict[str, Any]:
    return ours_churn(root, reasons=0)


def _hand_features(events: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    seen = events[events["timestamp"] < cut]
    grouped = seen.groupby("customer_id", observed=True)
    out = pd.DataFrame({"events": grouped.size(),
                        "recency_days": (cut - grouped["timestamp"].max()).dt.total_seconds() / 86400,
                        "tenure_days": (cut - grouped["timestamp"].min()).dt.total_seconds() / 86400})
    counts = seen.groupby(["customer_id", "touchpoint"], observed=True).size().unstack(fill_value=0)
    out = out.join(counts, how="left").fillna(0)
    out.index = out.index.astype(str)
    return out


def hand_churn(root: str) -> dict[str, Any]:
    import pyarrow.parquet as pq
    from sklearn.ensemble import HistGradientBoostingClassifier

    # categories, as a careful hand would: 10M+ rows of repeated strings as objects do not fit in 6 GB
    events = pq.read_table(f"{root}/events.parquet").to_pandas(strings_to_categorical=True)
    customers = pd.read_parquet(f"{root}/customers.parquet").drop_duplicates("customer_id", keep="last")
    customers = customers.set_index("customer_id")
    end = events["timestamp"].max()
    cut = end - pd.Timedelta(days=HORIZON_DAYS)
    train = _hand_features(events, cut)
    churn_at = customers["churn_date"].reindex(train.index)
    train = train[churn_at.isna() | (churn_at >= cut)]
    y = (churn_at.reindex(train.index) < end).to_numpy()
    sample = train.sample(min(len(train), 500_000), random_state=0)
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05).fit(sample, y[train.index.get_indexer(sample.index)])
    score = _hand_features(events, end + pd.Timedelta(seconds=1))
    alive = customers["churn_date"].reindex(score.index)
    score = score[alive.isna() | (alive > end)].reindex(columns=train.columns, fill_value=0)
    p = model.predict_proba(score)[:, 1]
    return {"scored": len(p), "model": "HistGradientBoosting"}


def _child(step: Callable[..., dict[str, Any]], args: tuple[Any, ...], queue: Any) -> None:
    started = time.perf_counter()
    out = step(*args)
    out["seconds"] = time.perf_counter() - started
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(out)


def run(step: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(step, args, queue))
    process.start()
    while True:  # a child that dies without an answer must not leave this process (and its lock) waiting
        try:
            out: dict[str, Any] = queue.get(timeout=5)
            break
        except Empty:
            if not process.is_alive():
                raise RuntimeError(f"{step.__name__} failed (exit code {process.exitcode})") from None
    process.join()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=int, default=10)
    parser.add_argument("--demo", help="churn on this demo's journeys (a `journeylens demo` output directory)")
    parser.add_argument("--replicate", type=int, default=1, help="with --demo: copies of every customer")
    parser.add_argument("--work", help="keep the data here between runs (default: a temporary directory)")
    parser.add_argument("--steps", default="drivers,churn,churn-no-reasons",
                        help="comma-separated: drivers, churn, churn-no-reasons")
    args = parser.parse_args()
    steps = set(args.steps.split(","))
    with tempfile.TemporaryDirectory(prefix="jl-bench-models-") as scratch:
        root = args.work or scratch
        os.makedirs(root, exist_ok=True)
        if not os.path.exists(f"{root}/bench.duckdb"):
            if args.demo:
                made = run(prepare_demo, root, args.demo, args.replicate)
                sys.stdout.write(f"data: demo {args.demo} × {args.replicate}: {made['customers']:,} customers, "
                                 f"{made['events']:,} events (copy {made['seconds']:.0f} s, not counted)\n")
            else:
                made = run(setup, root, args.responses, args.customers, args.events_per_customer)
                sys.stdout.write(f"data: {args.responses:,} responses × {len(DRIVERS)} drivers; {args.customers:,} "
                                 f"customers, {made['events']:,} events (setup {made['seconds']:.0f} s, not counted)\n")
        if "drivers" in steps and not os.path.exists(f"{root}/responses.parquet"):
            run(setup_responses, root, args.responses)
        sys.stdout.write(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared)\n")
        sys.stdout.write(f"{'task':<10} {'system':<48} {'seconds':>8} {'peak RSS MB':>12}  result\n")
        for task, system, step in (
                ("drivers", "JourneyLens (Ibis + LMG + 200 bootstraps)", ours_drivers),
                ("drivers", "JourneyLens, no intervals (n_bootstrap=0)", ours_drivers_no_intervals),
                ("drivers", "by hand (pandas corr + subset loop, no CI)", hand_drivers),
                ("churn", "JourneyLens (Ibis features, LightGBM, reasons)", ours_churn),
                ("churn-no-reasons", "JourneyLens, no reasons (reasons=0)", ours_churn_no_reasons),
                ("churn", "by hand (pandas groupby + sklearn HGB)", hand_churn)):
            if task not in steps:
                continue
            out = run(step, root)
            detail = ", ".join(f"{k}={v}" for k, v in out.items() if k not in ("seconds", "peak_rss_mb"))
            sys.stdout.write(f"{task:<10} {system:<48} {out['seconds']:>8.1f} {out['peak_rss_mb']:>12.0f}  {detail}\n")
            sys.stdout.flush()
        sys.stdout.write(f"load average after: {os.getloadavg()[0]:.1f}\n")


if __name__ == "__main__":
    main()
