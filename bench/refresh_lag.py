"""Incremental refresh lag under a steady collector load: acknowledged → in ``journey_events``.

    .venv/bin/python bench/refresh_lag.py --warehouse bench/out/demo_500000/wh.duckdb \\
        --journey bench/out/demo_500000/bank.journey.yaml --seconds 120 --rate 200

Copies the warehouse (a demo warehouse with ``journey_events`` built), starts the HTTP
collector in-process (FastAPI test client, the real spool and loader, load interval 1 s by
default), and posts batches of events at a steady rate — a mix of existing customers, new
customers and anonymous visitors who log in later. A ``rows_landed`` plugin records when each
event's batch is in ``journey_events`` (the incremental update runs before the hook). The lag
of an event is hook time minus the time its POST was answered (durably acknowledged). Prints
p50 / p99 / max lag and the update times the loader logged. Also prints, for comparison,
how long a full rebuild of ``journey_events`` takes on the same warehouse.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from journeylens.hooks import hookimpl

OUT = Path(__file__).parent / "out"


class Landed:
    """rows_landed plugin: when each event id reached journey_events."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    @hookimpl
    def journeylens_rows_landed(self, lens: Any, table: str, batch: str) -> None:
        if table != "events":
            return
        now = time.perf_counter()
        events = lens.warehouse.table("events")
        ids = events.filter(events._batch == batch).event_id.to_list()
        with self.lock:
            for event_id in ids:
                self.at[event_id] = now


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--journey", required=True)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="events per second")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    parser.add_argument("--interval", type=float, default=1.0, help="collector load interval, seconds")
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    import journeylens
    from journeylens import hooks
    from journeylens.operations.appdb import AppDatabase
    from journeylens.operations.keys import create_key
    from journeylens.settings import Settings
    from journeylens.surfaces.api.app import create_app

    work = Path(tempfile.mkdtemp(dir=OUT if OUT.exists() else None, prefix="lag_"))
    db_path = work / "wh.duckdb"
    shutil.copy(args.warehouse, db_path)
    settings = Settings(warehouse=str(db_path), journey=Path(args.journey), duckdb_memory_limit=args.memory_limit,
                        app_database_url=f"sqlite:///{work / 'app.db'}", collector_spool=work / "spool",
                        collector_load_interval_seconds=args.interval)
    appdb = AppDatabase(settings.app_database_url)
    with appdb.session() as session:
        _, key = create_key(session, "bench", ["ingest"])
    lens = journeylens.open(str(db_path), args.journey, settings)
    n_events = lens.warehouse.count("journey_events")
    customers = lens.warehouse.table("customers").customer_id.to_list()[:200_000]
    landed = Landed()
    hooks.plugin_manager().register(landed, name="bench-lag")
    acked: dict[str, float] = {}
    rng = random.Random(1)
    touchpoints = ["Mobile app login", "Transfer", "Online banking login", "Card activation", "Website product page"]
    per_request_s = args.batch / args.rate
    with TestClient(create_app(settings, lens=lens, app_db=appdb)) as client:
        auth = {"authorization": f"Bearer {key}"}
        started = time.perf_counter()
        i = 0
        while time.perf_counter() - started < args.seconds:
            tick = time.perf_counter()
            body = []
            for _ in range(args.batch):
                i += 1
                kind = rng.random()
                event: dict[str, Any] = {"event_id": f"lag-{i}", "touchpoint": rng.choice(touchpoints),
                                         "timestamp": datetime.now(UTC).isoformat()}
                if kind < 0.7:
                    event["customer_id"] = rng.choice(customers)
                elif kind < 0.85:
                    event["customer_id"] = f"NEW{i}"
                elif kind < 0.95:
                    event["anonymous_id"] = f"lag-anon-{i // 3}"
                else:  # a login linking an anonymous visitor seen earlier
                    event["anonymous_id"] = f"lag-anon-{max(0, i // 3 - 5)}"
                    event["customer_id"] = rng.choice(customers)
                body.append(event)
            response = client.post("/v1/events", content=json.dumps(body), headers=auth)
            now = time.perf_counter()
            assert response.status_code == 200, response.text
            for event in body:
                acked[event["event_id"]] = now
            time.sleep(max(0.0, per_request_s - (now - tick)))
        sent_s = time.perf_counter() - started
        deadline = time.perf_counter() + 300
        while len(landed.at) < len(acked) and time.perf_counter() < deadline:
            time.sleep(0.2)
        load = os.getloadavg()
    hooks.plugin_manager().unregister(name="bench-lag")
    lags = sorted(landed.at[k] - acked[k] for k in acked if k in landed.at)
    q = statistics.quantiles(lags, n=100) if len(lags) >= 2 else lags * 99
    print(f"warehouse: {n_events:,} journey events before the run; {len(acked):,} events posted in "
          f"{sent_s:.0f} s ({len(acked) / sent_s:.0f}/s, batches of {args.batch}); load interval {args.interval} s; "
          f"load average {load[0]:.1f} / {load[1]:.1f}")
    print("| events visible | lag p50 s | lag p99 s | lag max s |")
    print("|---:|---:|---:|---:|")
    print(f"| {len(lags):,} of {len(acked):,} | {q[49]:.2f} | {q[98]:.2f} | {lags[-1]:.2f} |")
    if not args.skip_rebuild:
        t0 = time.perf_counter()
        update = lens.refresh(full=True)
        print(f"full rebuild of journey_events on the same warehouse, for comparison: "
              f"{time.perf_counter() - t0:.1f} s ({update.mode})")
    lens.warehouse.close()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
