"""Dashboard page latency: cold (first request computes) and warm (cached per data version).

Generates the demo bank (``--customers``; 475,000 customers ≈ 10M events) unless the
warehouse exists already, starts ``journeylens serve`` in a subprocess (its pre-warmer starts
computing the main views at once), signs in with httpx, first requests a few pages the
pre-warmer does not compute (they must not wait for it), then each main page once ("first":
computed, joined while the pre-warmer computes it, or already warm; "ready": seconds after
the server answered), then ``--repeat`` more times and prints p50 / p95 per page. Goal: warm
p95 < 500 ms. The topic-discovery partial is left out by default
(``--with-topics``): it embeds every comment with MiniLM on the CPU.

    python bench/dashboard.py                        # default demo size (50,000 customers)
    python bench/dashboard.py --customers 475000     # ≈ 10M events

With ``--cold`` (and ``--warehouse``/``--journey`` of an existing warehouse, e.g. 10.6M events)
every page of :data:`ALL_PAGES` is loaded once in a *fresh process* with the pre-warmer off:
the process opens the warehouse, signs in and requests the page; the table shows that first
request's seconds (goal < 3 s at 10M events) and the process's peak RSS.

    python bench/dashboard.py --cold --warehouse /work/scale/wh.duckdb --journey bank.journey.yaml

Timings on a shared 2-core machine are noisy; read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).parent
PAGES = (
    "/", "/journey-map", "/journey-map/deviations",
    "/funnel?steps=Open+account+online,KYC+document+upload,Account+approved&mode=ordered",
    "/variants", "/channels", "/micro-journeys?cohorts=online-only,blended",
    "/touchpoints/Mobile%20app%20login", "/customers/C000042", "/data-health", "/journey-definition",
    "/journey-map?channel=app",
)
#: Computed on demand (not pre-warmed): answered while the pre-warmer works on the slow views.
COLD_PAGES = ("/customers/C000042", "/funnel?steps=Website+product+page,Open+account+online&mode=ordered",
              "/touchpoints/Mobile%20app%20login")
#: Every dashboard page (GET, no path parameters to invent beyond a demo customer and touchpoint).
ALL_PAGES = (
    "/", "/journey-map", "/journey-map/deviations", "/journey-map?channel=app",
    "/funnel?steps=Open+account+online,KYC+document+upload,Account+approved&mode=ordered",
    "/variants", "/channels", "/micro-journeys?cohorts=online-only,blended",
    "/touchpoints/Mobile%20app%20login", "/customers/C000042", "/customers", "/data-health",
    "/journey-definition", "/acquisition", "/departures", "/drivers", "/what-if", "/at-risk", "/aspects",
    "/inbox", "/alerts", "/rules", "/close-the-loop", "/definitions", "/views", "/surveys", "/maturity",
    "/reports", "/settings",
)
EMAIL, PASSWORD = "bench@journeylens.local", "bench-password-1"


def _cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "journeylens.surfaces.cli.main", *args], check=True, env=env)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(out: Path, customers: int, env: dict[str, str]) -> tuple[Path, Path]:
    warehouse, journey = out / "demo.duckdb", out / "data" / "bank.journey.yaml"
    if not warehouse.exists():
        started = time.perf_counter()
        _cli("--warehouse", str(warehouse), "demo", "--customers", str(customers), "--out", str(out / "data"),
             env=env)
        print(f"generated and ingested {customers:,} customers in {time.perf_counter() - started:,.0f} s")
    _cli("user", "add", EMAIL, "--role", "admin", "--password", PASSWORD, "--exist-ok", env=env)
    return warehouse, journey


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit("the server did not start")


def _sign_in(client: httpx.Client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token, "no CSRF token on /login"
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code in (200, 303), response.text[:300]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def during_warm_up(base: str, pages: tuple[str, ...]) -> list[tuple[str, int, float]]:
    """First requests of pages the pre-warmer does not compute, sent while it works on the others."""
    rows = []
    with httpx.Client(base_url=base, timeout=3600, follow_redirects=False) as client:
        _sign_in(client)
        for page in pages:
            started = time.perf_counter()
            status = client.get(page).status_code
            rows.append((page, status, time.perf_counter() - started))
            print(f"  during warm-up {page}: {rows[-1][2]:,.2f} s", file=sys.stderr)
    return rows


def measure(base: str, pages: tuple[str, ...], repeat: int,
            started_at: float) -> list[tuple[str, int, float, float, float, float]]:
    rows = []
    with httpx.Client(base_url=base, timeout=3600, follow_redirects=False) as client:
        _sign_in(client)
        for page in pages:
            started = time.perf_counter()
            status = client.get(page).status_code
            cold = time.perf_counter() - started
            ready = time.perf_counter() - started_at
            warm = []
            for _ in range(repeat):
                started = time.perf_counter()
                client.get(page).raise_for_status()
                warm.append(time.perf_counter() - started)
            rows.append((page, status, cold, ready, statistics.median(warm), _percentile(warm, 0.95)))
            print(f"  {page}: first {cold:,.2f} s, warm p95 {rows[-1][5] * 1000:,.0f} ms", file=sys.stderr)
    return rows


def one_cold_page(page: str, warehouse: str, journey: str, env: dict[str, str],
                  timeout_s: float = 300) -> dict[str, object]:
    """Load ``page`` once in a fresh process (pre-warmer off); seconds of that request and peak RSS."""
    import json

    code = (
        "import json, os, resource, sys, time\n"
        "from fastapi.testclient import TestClient\n"
        "import journeylens\n"
        "from journeylens.settings import get_settings\n"
        "from journeylens.surfaces.api.app import create_app\n"
        "sys.path.insert(0, sys.argv[4])\n"
        "from dashboard import _sign_in\n"
        "settings = get_settings()\n"
        "lens = journeylens.open(sys.argv[1], sys.argv[2], settings=settings)\n"
        "app = create_app(settings, lens=lens)\n"
        "app.state.web_prewarm = False\n"
        "with TestClient(app) as client:\n"
        "    _sign_in(client)\n"
        "    started = time.perf_counter()\n"
        "    status = client.get(sys.argv[3]).status_code\n"
        "    seconds = time.perf_counter() - started\n"
        "rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps({'status': status, 'seconds': seconds, 'rss_mb': rss}), flush=True)\n"
        "os._exit(0)  # do not wait for background computations the page started\n"
    )
    try:
        done = subprocess.run([sys.executable, "-c", code, warehouse, journey, page, str(HERE)], env=env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({timeout_s:.0f} s)", "seconds": float("inf"), "rss_mb": float("nan")}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"status": f"failed ({done.stderr.strip().splitlines()[-1][:60] if done.stderr.strip() else '?'})",
                "seconds": float("nan"), "rss_mb": float("nan")}
    result: dict[str, object] = json.loads(lines[-1])
    return result


def cold_pages(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="cold_pages_"))
    env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{work / 'app.db'}",
           "JOURNEYLENS_CACHE_DIR": str(work / "cache"), "JOURNEYLENS_COLLECTOR_SPOOL": str(work / "spool"),
           "JOURNEYLENS_WORKER_IN_SERVE": "false"}
    _cli("user", "add", EMAIL, "--role", "admin", "--password", PASSWORD, "--exist-ok", env=env)
    rows = []
    try:
        for page in args.pages or ALL_PAGES:
            result = one_cold_page(page, args.warehouse, args.journey, env, args.page_timeout)
            rows.append((page, result))
            print(f"  {page}: {result['seconds']:.2f} s ({result['status']})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"\nFirst load of each dashboard page, each in a fresh process, pre-warmer off ({args.warehouse}); "
          f"load average {load[0]:.1f}")
    print("\n| page | status | first load s | peak RSS MB | < 3 s |")
    print("|---|---:|---:|---:|---|")
    for page, r in rows:
        seconds = float(r["seconds"])  # type: ignore[arg-type]
        print(f"| `{page}` | {r['status']} | {seconds:.2f} | {float(r['rss_mb']):,.0f} | "  # type: ignore[arg-type]
              f"{'yes' if seconds < 3 else 'NO'} |")
    slow = [page for page, r in rows if not float(r["seconds"]) < 3]  # type: ignore[arg-type]
    print(f"\n{len(rows) - len(slow)} of {len(rows)} pages under 3 s; over: {', '.join(slow) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="First load of every page, each in a fresh process.")
    parser.add_argument("--warehouse", help="With --cold: an existing warehouse.")
    parser.add_argument("--journey", help="With --cold: its journey definition.")
    parser.add_argument("--pages", nargs="*", help="With --cold: only these pages.")
    parser.add_argument("--page-timeout", type=float, default=300, help="With --cold: seconds before a page counts as failed.")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None, help="Directory for the demo warehouse (reused).")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--with-topics", action="store_true")
    args = parser.parse_args()
    if args.cold:
        if not (args.warehouse and args.journey):
            parser.error("--cold needs --warehouse and --journey")
        cold_pages(args)
        return
    out = args.out or HERE / "out" / f"dashboard_{args.customers}"
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{out / 'app.db'}",
           "JOURNEYLENS_CACHE_DIR": str(out / "cache"), "JOURNEYLENS_COLLECTOR_SPOOL": str(out / "spool"),
           "JOURNEYLENS_DUCKDB_MEMORY_LIMIT": os.environ.get("JOURNEYLENS_DUCKDB_MEMORY_LIMIT", "6GB")}
    warehouse, journey = _prepare(out, args.customers, env)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "journeylens.surfaces.cli.main", "--warehouse", str(warehouse),
                               "--journey", str(journey), "serve", "--port", str(port), "--log-level", "warning"],
                              env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base, server)
        started_at = time.perf_counter()
        early = during_warm_up(base, COLD_PAGES)
        pages = PAGES + (("/touchpoints/Mobile%20app%20login/topics",) if args.with_topics else ())
        rows = measure(base, pages, args.repeat, started_at)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nJourneyLens dashboard, {args.customers:,} demo customers, {args.repeat} warm requests per page")
    print("\nPages the pre-warmer does not compute, requested right after the server started:")
    print(f"{'page':<78} {'status':>6} {'first s':>8}")
    for page, status, first in early:
        print(f"{page:<78} {status:>6} {first:>8.2f}")
    print("\nMain pages in order (first: that request; ready: seconds after the server answered):")
    print(f"{'page':<78} {'status':>6} {'first s':>8} {'ready s':>8} {'warm p50 ms':>12} {'warm p95 ms':>12}")
    for page, status, cold, ready, p50, p95 in rows:
        print(f"{page:<78} {status:>6} {cold:>8.2f} {ready:>8.1f} {p50 * 1000:>12.1f} {p95 * 1000:>12.1f}")
    worst = max(r[5] for r in rows)
    print(f"\nworst warm p95: {worst * 1000:.0f} ms (goal < 500 ms): {'met' if worst < 0.5 else 'NOT met'}")


if __name__ == "__main__":
    main()
