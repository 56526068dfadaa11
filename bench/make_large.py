"""A large, realistic demo bank by replicating a generated one: ×10 the 10.6M-event demo → 106M events.

Each copy ``r`` (0 … K-1) of the source demo gets its own customers, visitors, events and survey
responses: numeric ids are shifted by ``r`` × the source's count (``C000001`` → ``C0500001`` in copy 1,
one digit wider so every id keeps one width), anonymous ids get a ``-r``
suffix, and spend is the source's spend × K (the same campaigns for K times the customers).
Journeys, timestamps and planted problems are the source's, so every analysis sees the same shapes at
K times the volume. Deterministic: the same source gives byte-identical rows. Written with DuckDB
(``COPY … TO`` Parquet), one events file per copy so a load can be split into steps.

    .venv/bin/python bench/make_large.py --source /work/scale/d500k --copies 10 --out /work/scale/i8c/d5m

Then ``journeylens ingest`` customers, spend, feedback and ``events-*.parquet`` in order (default
settings), or ``bench/analyses.py --warehouse …`` on the result.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import duckdb


def _shift(column: str, prefix: str, width: int) -> str:
    """``prefix`` + (the column's number + $offset), zero-padded to ``width`` digits (NULL stays NULL)."""
    return (f"'{prefix}' || lpad(CAST(CAST(substr({column}, {len(prefix) + 1}) AS BIGINT) + $offset AS VARCHAR), "
            f"{width}, '0')")


def _count(con: duckdb.DuckDBPyConnection, path: str) -> int:
    row = con.execute("SELECT count(*) FROM read_parquet($p)", {"p": path}).fetchone()
    return int(row[0]) if row else 0


def _width(count: int) -> int:
    return len(str(count))


def replicate(source: Path, out: Path, copies: int, memory_limit: str) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute("SET memory_limit = ?", [memory_limit])
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    files = {name: str(source / f"{name}.parquet") for name in ("events", "customers", "feedback", "spend")}
    n_customers, n_events, n_responses = (_count(con, files[name]) for name in ("customers", "events", "feedback"))
    cust_w, event_w, resp_w = (_width(n * copies) for n in (n_customers, n_events, n_responses))
    rows: dict[str, int] = {"events": 0}
    started = time.perf_counter()
    copy = "COPY ({sql}) TO $target (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1048576)"
    for r in range(copies):
        sql = (f"SELECT {_shift('event_id', 'E', event_w)} AS event_id, "
               f"{_shift('customer_id', 'C', cust_w)} AS customer_id, "
               "anonymous_id || '-' || $r AS anonymous_id, timestamp, touchpoint, channel, app_version, campaign "
               "FROM read_parquet($src)")
        target = out / f"events-{r:02d}.parquet"
        con.execute(copy.format(sql=sql), {"src": files["events"], "target": str(target),
                                           "offset": r * n_events, "r": str(r)})
        rows["events"] += n_events
    # Customers and feedback: one file each (small), all copies in copy order.
    cust_sql = (f"SELECT {_shift('customer_id', 'C', cust_w).replace('$offset', 'r.i * $n')} AS customer_id, "
                "* EXCLUDE (customer_id) FROM read_parquet($src), range($copies) r(i) ORDER BY r.i, customer_id")
    con.execute(copy.format(sql=cust_sql), {"src": files["customers"], "target": str(out / "customers.parquet"),
                                            "n": n_customers, "copies": copies})
    resp = _shift("response_id", "R", resp_w).replace("$offset", "r.i * $nr")
    cust = _shift("customer_id", "C", cust_w).replace("$offset", "r.i * $nc")
    feedback_sql = (f"SELECT {resp} AS response_id, {cust} AS customer_id, timestamp, touchpoint, channel, survey, "
                    "respondent, "
                    "nps, csat, ces, comment, team FROM read_parquet($src), range($copies) r(i) ORDER BY r.i, response_id")
    con.execute(copy.format(sql=feedback_sql), {"src": files["feedback"], "target": str(out / "feedback.parquet"),
                                                "nr": n_responses, "nc": n_customers, "copies": copies})
    spend_sql = "SELECT channel, date, round(amount * $copies, 2) AS amount, currency, campaign FROM read_parquet($src)"
    con.execute(copy.format(sql=spend_sql), {"src": files["spend"], "target": str(out / "spend.parquet"),
                                             "copies": copies})
    rows.update(customers=n_customers * copies, feedback=n_responses * copies)
    shutil.copyfile(source / "bank.journey.yaml", out / "bank.journey.yaml")
    manifest = {"source": str(source), "copies": copies, "rows": rows,
                "seconds": round(time.perf_counter() - started, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="a demo directory (journeylens demo --out)")
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args()
    print(json.dumps(replicate(args.source, args.out, args.copies, args.memory_limit)))


if __name__ == "__main__":
    main()
