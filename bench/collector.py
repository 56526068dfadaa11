"""Collector throughput with durable acknowledgement, against its "no durability" peer.

Starts ``journeylens serve`` (real uvicorn, one worker) once per commit mode, creates an
ingest key, sends N events in batches from a bounded pool of concurrent HTTP connections,
and reports acknowledged events/s, request latency p50/p99, fsyncs, and the warehouse load
lag (time from the last acknowledgement until ``POST /v1/flush`` says everything is in the
warehouse). Afterwards it opens the warehouse and checks that every event landed.

    .venv/bin/python bench/collector.py                   # 200k events, batches of 100, 32 conns
    .venv/bin/python bench/collector.py --events 50000 --modes group,off

Modes: ``group`` (default: concurrent requests share one fsync), ``each`` (one fsync per
request) and ``off`` (no fsync: page cache only — the peer without durability). The client
runs on the same machine as the server, so both compete for the same cores: numbers are a
lower bound and noisy when other work runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.warehouse import open_warehouse

TOUCHPOINTS = ["home", "search", "product", "basket", "checkout", "payment", "confirmation", "support"]


@dataclass(frozen=True)
class Run:
    mode: str
    events: int
    seconds: float
    latencies_ms: list[float]
    flush_seconds: float
    status: dict
    in_warehouse: int
    server_cpu_seconds: float
    client_cpu_seconds: float

    def events_per_server_cpu_second(self) -> float:
        return self.events / self.server_cpu_seconds if self.server_cpu_seconds else float("nan")

    def row(self) -> dict[str, str]:
        lat = sorted(self.latencies_ms)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return {
            "commit": self.mode + (" (NOT durable)" if self.mode == "off" else ""),
            "events/s": f"{self.events / self.seconds:,.0f}",
            "req p50 ms": f"{statistics.median(lat):.1f}",
            "req p99 ms": f"{p99:.1f}",
            "fsyncs": str(self.status.get("fsyncs")),
            "server CPU s": f"{self.server_cpu_seconds:.1f}",
            "events/server-CPU-s": f"{self.events_per_server_cpu_second():,.0f}",
            "client CPU s": f"{self.client_cpu_seconds:.1f}",
            "load lag s": f"{self.flush_seconds:.2f}",
            "max seg lag s": f"{self.status.get('max_lag_seconds')}",
            "in warehouse": f"{self.in_warehouse:,}",
        }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_bodies(events: int, batch: int) -> list[bytes]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    bodies = []
    for first in range(0, events, batch):
        rows = [{
            "event_id": f"ev-{i}",
            "customer_id": f"c{i % 5000}",
            "timestamp": (start + timedelta(seconds=i)).isoformat(),
            "touchpoint": TOUCHPOINTS[i % len(TOUCHPOINTS)],
            "channel": "web" if i % 3 else "app",
            "properties": {"page": f"/p/{i % 50}", "value": i % 97},
        } for i in range(first, min(first + batch, events))]
        bodies.append(json.dumps(rows).encode())
    return bodies


def start_server(workdir: Path, mode: str, port: int, key_db: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": key_db,
           "JOURNEYLENS_COLLECTOR_SPOOL": str(workdir / "spool"), "JOURNEYLENS_COLLECTOR_COMMIT": mode}
    command = [sys.executable, "-m", "journeylens.surfaces.cli.main", "--warehouse", str(workdir / "wh.duckdb"),
               "serve", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(base: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/v1/collector", headers=headers, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not start within 60 s")


async def send_all(base: str, headers: dict[str, str], bodies: list[bytes], concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers={**headers, "content-type": "application/json"},
                                 limits=limits, timeout=60) as client:
        async def worker() -> None:
            for body in queue:
                started = time.perf_counter()
                response = await post_with_retry(client, body)
                latencies.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code}: {response.text}")

        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return time.perf_counter() - started, latencies


async def post_with_retry(client: httpx.AsyncClient, body: bytes, attempts: int = 3) -> httpx.Response:
    """Resend when a kept-alive connection was closed under us (safe: event_id dedupes)."""
    for attempt in range(attempts):
        try:
            return await client.post("/v1/events", content=body)
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def bench_mode(mode: str, bodies: list[bytes], events: int, concurrency: int) -> Run:
    with tempfile.TemporaryDirectory(prefix=f"jl-bench-{mode}-", dir=os.environ.get("BENCH_TMP")) as tmp:
        workdir = Path(tmp)
        key_db = f"sqlite:///{workdir / 'app.db'}"
        db = AppDatabase(key_db)
        with db.session() as session:
            _, raw_key = create_key(session, "bench", ["ingest"])
        db.dispose()
        headers = {"authorization": f"Bearer {raw_key}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(workdir, mode, port, key_db)
        try:
            wait_ready(base, headers, server)
            cpu_before, client_before = _cpu_seconds(server.pid), time.process_time()
            seconds, latencies = asyncio.run(send_all(base, headers, bodies, concurrency))
            server_cpu = _cpu_seconds(server.pid) - cpu_before  # includes the background loader
            client_cpu = time.process_time() - client_before
            flush_started = time.perf_counter()
            httpx.post(f"{base}/v1/flush", headers=headers, timeout=600).raise_for_status()
            flush_seconds = time.perf_counter() - flush_started
            status = httpx.get(f"{base}/v1/collector", headers=headers, timeout=10).json()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        warehouse = open_warehouse(str(workdir / "wh.duckdb"))
        in_warehouse = warehouse.count("events")
        warehouse.close()
        return Run(mode, events, seconds, latencies, flush_seconds, status, in_warehouse, server_cpu, client_cpu)


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def print_table(runs: list[Run], args: argparse.Namespace) -> None:
    rows = [run.row() for run in runs]
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    load = os.getloadavg()[0]
    print(f"\nCollector: {args.events:,} events, batches of {args.batch}, {args.concurrency} connections, "
          f"{os.cpu_count()} cores shared by client and server, load average {load:.1f} at the end")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--modes", default="group,each,off")
    args = parser.parse_args()
    bodies = make_bodies(args.events, args.batch)
    runs = []
    for mode in args.modes.split(","):
        run = bench_mode(mode, bodies, args.events, args.concurrency)
        runs.append(run)
        print(f"{mode}: {run.row()}", file=sys.stderr)
    print_table(runs, args)
    missing = [r.mode for r in runs if r.in_warehouse != args.events]
    if missing:
        sys.exit(f"events missing from the warehouse in modes {missing}")


if __name__ == "__main__":
    main()
