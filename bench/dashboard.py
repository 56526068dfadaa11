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
each page (default :data:`ALL_PAGES`) is loaded in a *fresh process* with the pre-warmer off and
empty caches: the process opens the warehouse, signs in (without following the sign-in redirect,
which would render the overview before the clock starts), requests the page once and checks the
answer *is* the page (HTTP 200 and its heading, not the sign-in page), then requests its
``hx-trigger="load"`` fragments as a browser would ("+fragments"), then ``--repeat`` warm loads.
Wall and CPU seconds (CPU of the whole process: every DuckDB thread) and peak RSS are printed;
then, in another fresh process, every analysis the page and its fragments asked for is run alone
without the web layer (the reference: what the numbers themselves cost). Goal: < 3 s at 10M events.

    python bench/dashboard.py --cold --warehouse /work/scale/wh.duckdb --journey bank.journey.yaml
    python bench/dashboard.py --cold --pages / /journey-map --no-reference --repeat 1 --warehouse … --journey …

Timings on a shared 2-core machine are noisy; read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
GOAL_SECONDS = 3.0


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
    # Not following the redirect: following it would load (and warm) the overview before timing.
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)},
                           follow_redirects=False)
    assert response.status_code == 303, f"sign-in failed: HTTP {response.status_code} {response.text[:300]}"


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


#: What each page must contain to count as that page (not the sign-in page or an error page).
EXPECTED = {
    "/": "<h1>Overview</h1>", "/journey-map": "<h1>Journey map</h1>", "/journey-map?channel=app": "<h1>Journey map</h1>",
    "/journey-map/deviations": 'id="deviations"', "/variants": "<h1>Path variants</h1>",
    "/channels": "<h1>Channel hopping</h1>", "/micro-journeys?cohorts=online-only,blended": "<h1>Micro-journeys</h1>",
    "/touchpoints/Mobile%20app%20login": "<h1>Mobile app login</h1>", "/customers/C000042": "Customer C000042",
    "/customers": "Customer lookup", "/data-health": "<h1>Data health</h1>",
    "/journey-definition": "<h1>Journey definition</h1>", "/acquisition": "<h1>Acquisition",
    "/departures": "<h1>Departures", "/drivers": "<h1>Drivers &amp; priorities</h1>", "/what-if": "<h1>What-if</h1>",
    "/at-risk": "<h1>At-risk customers</h1>", "/aspects": 'id="aspects"', "/inbox": "<h1>Inbox</h1>",
    "/alerts": "<h1>Alerts</h1>", "/rules": "<h1>Rules</h1>", "/close-the-loop": "Closing the loop",
    "/definitions": "<h1>How the numbers are computed</h1>", "/views": "<h1>Saved views</h1>",
    "/surveys": "<h1>Surveys</h1>", "/maturity": "<h1>Journey-management maturity</h1>", "/reports": "<h1>Reports</h1>",
    "/settings": "<h1>Settings</h1>",
}
_FRAGMENT = re.compile(r'hx-get="([^"]+)"[^>]*hx-trigger="load"')


def expected_text(page: str) -> str:
    """The text that proves ``page`` answered itself (funnel: its heading)."""
    return EXPECTED.get(page, "<h1>Funnel builder</h1>" if page.startswith("/funnel") else "</html>")


def check_page(page: str, status: int, text: str) -> str:
    """``"ok"``, else why the answer is not the page (a redirect, the sign-in page, an error)."""
    if status != 200:
        return f"HTTP {status}"
    if "Sign in to JourneyLens" in text:
        return "sign-in page"
    return "ok" if expected_text(page) in text else f"no {expected_text(page)!r}"


def fragments_of(text: str) -> list[str]:
    """URLs of the page's ``hx-trigger="load"`` fragments (the browser fetches them at once)."""
    import html

    return [html.unescape(url) for url in _FRAGMENT.findall(text)]


def child(page: str, warehouse: str, journey: str, repeat: int, reference: bool) -> None:
    """One fresh process: sign in (not following the redirect), load ``page`` once cold, then its
    ``hx-trigger="load"`` fragments, then ``repeat`` warm loads; prints one JSON line. With
    ``reference``: only the page's analyses (the views it asks for), called without the web layer."""
    import base64
    import json
    import pickle
    import resource

    import journeylens
    from journeylens.settings import get_settings
    from journeylens.surfaces.web import views as web_views

    timings: list[tuple[str, float]] = []
    depth = [0]

    def timed(name: str, compute: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            started = time.perf_counter()
            try:
                return compute(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:  # a view asked by another view counts inside it
                    timings.append((name, time.perf_counter() - started))
        return run

    web_views.VIEWS = {name: web_views.View(timed(name, v.compute), v.parse, v.title)
                       for name, v in web_views.VIEWS.items()}
    settings = get_settings()
    lens = journeylens.open(warehouse, journey, settings=settings)
    if reference:
        calls = pickle.loads(base64.b64decode(os.environ["BENCH_VIEWS"]))
        from types import SimpleNamespace

        from journeylens.lens_pool import lens_pool
        from journeylens.surfaces.web.cache import ResultCache

        results = web_views.Results(lens_pool(SimpleNamespace(), lens), ResultCache())
        started, cpu_started = time.perf_counter(), time.process_time()
        for view, params in calls:
            with contextlib.suppress(journeylens.JourneyLensError):
                results.get(view, **params)
        print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu_started}),
              flush=True)
        os._exit(0)

    from fastapi.testclient import TestClient

    from journeylens.surfaces.api.app import create_app

    app = create_app(settings, lens=lens)
    app.state.web_prewarm = False
    asked: list[tuple[str, dict[str, str]]] = []
    original_get = web_views.Results.get

    def recording_get(self: Any, view: str, **params: Any) -> Any:
        if depth[0] == 0:
            asked.append((view, params))
        return original_get(self, view, **params)

    web_views.Results.get = recording_get  # type: ignore[method-assign]
    with TestClient(app, follow_redirects=False) as client:
        _sign_in(client)
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(page)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        verdict = check_page(page, response.status_code, response.text)
        page_views = list(timings)
        fragment_rows = []
        for url in ([] if os.environ.get("BENCH_NO_FRAGMENTS") else fragments_of(response.text)):
            began = time.perf_counter()
            answer = client.get(url)
            fragment_rows.append((url, answer.status_code, time.perf_counter() - began))
        complete, complete_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        warm = []
        for _ in range(repeat):
            began = time.perf_counter()
            again = client.get(page)
            warm.append(time.perf_counter() - began)
            assert check_page(page, again.status_code, again.text) == verdict
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    unique = list({(view, web_views._freeze(params)): (view, params) for view, params in asked}.values())
    print(json.dumps({"status": response.status_code, "check": verdict, "seconds": seconds, "complete": complete,
                      "cpu": cpu, "complete_cpu": complete_cpu,
                      "fragments": fragment_rows, "warm": statistics.median(warm) if warm else None,
                      "views": page_views, "rss_mb": rss,
                      "calls": base64.b64encode(pickle.dumps(unique)).decode()}), flush=True)
    os._exit(0)  # do not wait for background computations the page started


def _run_child(args: list[str], env: dict[str, str], timeout_s: float) -> dict[str, Any]:
    import json

    try:
        done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args], env=env,
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({timeout_s:.0f} s)", "check": "timeout", "seconds": float("inf")}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1][:80] if done.stderr.strip() else "?"
        return {"status": "failed", "check": f"failed ({tail})", "seconds": float("nan")}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def one_cold_page(page: str, warehouse: str, journey: str, env: dict[str, str], timeout_s: float = 300,
                  repeat: int = 3, reference: bool = True) -> dict[str, Any]:
    """Load ``page`` once in a fresh process (pre-warmer off) and ``repeat`` more times warm; then,
    in another fresh process, only the analyses the page asked for (the reference)."""
    result = _run_child([page, warehouse, journey, str(repeat)], env, timeout_s)
    result["reference"] = None
    if reference and result.get("calls") and result.get("views"):
        fresh = {**env, "BENCH_VIEWS": result["calls"],  # its own empty cache directory (text models' cache)
                 "JOURNEYLENS_CACHE_DIR": env["JOURNEYLENS_CACHE_DIR"] + "-reference"}
        ref = _run_child([page, warehouse, journey, "0", "reference"], fresh, timeout_s)
        result["reference"], result["reference_cpu"] = ref.get("seconds"), ref.get("cpu")
    return result


def _num(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}"


def cold_pages(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="cold_pages_"))
    env = {**os.environ, "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{work / 'app.db'}",
           "JOURNEYLENS_CACHE_DIR": str(work / "cache"), "JOURNEYLENS_COLLECTOR_SPOOL": str(work / "spool"),
           "JOURNEYLENS_WORKER_IN_SERVE": "false", **({"BENCH_NO_FRAGMENTS": "1"} if args.no_fragments else {})}
    _cli("user", "add", EMAIL, "--role", "admin", "--password", PASSWORD, "--exist-ok", env=env)
    rows = []
    before = os.getloadavg()[0]
    try:
        for page in args.pages or ALL_PAGES:
            result = one_cold_page(page, args.warehouse, args.journey, env, args.page_timeout, args.repeat,
                                   not args.no_reference)
            rows.append((page, result))
            slowest = sorted(result.get("views") or [], key=lambda v: -v[1])[:4]
            print(f"  {page}: {result['seconds']:.2f} s ({result['check']}); complete "
                  f"{result.get('complete', float('nan')):.2f} s; views "
                  + ", ".join(f"{v} {s:.2f}" for v, s in slowest), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = (before, *os.getloadavg())
    print(f"\nDashboard pages, each in a fresh process, pre-warmer off ({args.warehouse}); load average "
          f"{load[0]:.1f} before, {load[1]:.1f} after")
    print("cold: the first request; +fragments: until its hx-trigger=load fragments answered too (fetched one after "
          f"the other); warm: median of {args.repeat} more; reference: every analysis the page and its fragments asked "
          "for, alone (no web), in another fresh process with its own empty caches; CPU: seconds of CPU of the "
          "whole process (all DuckDB threads) — less sensitive to the load")
    print("\n| page | answer | cold s | cold CPU s | +fragments s | +fragments CPU s | warm s | reference s | "
          "reference CPU s | goal s | met? | peak RSS MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    slow = []
    for page, r in rows:
        seconds, complete = float(r["seconds"]), float(r.get("complete", float("nan")))
        met = r["check"] == "ok" and complete < GOAL_SECONDS
        slow += [] if met else [page]
        ref, ref_cpu = r.get("reference"), r.get("reference_cpu")
        print(f"| `{page}` | {r['check']} | {seconds:.2f} | {_num(r.get('cpu'))} | {complete:.2f} | "
              f"{_num(r.get('complete_cpu'))} | {_num(r.get('warm'))} | {_num(ref)} | {_num(ref_cpu)} | "
              f"{GOAL_SECONDS:g} | {'yes' if met else 'NO'} | {float(r.get('rss_mb', float('nan'))):,.0f} |")
    print(f"\n{len(rows) - len(slow)} of {len(rows)} pages under {GOAL_SECONDS:g} s with their fragments; over: "
          f"{', '.join(slow) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="First load of every page, each in a fresh process.")
    parser.add_argument("--warehouse", help="With --cold: an existing warehouse.")
    parser.add_argument("--journey", help="With --cold: its journey definition.")
    parser.add_argument("--pages", nargs="*", help="With --cold: only these pages.")
    parser.add_argument("--page-timeout", type=float, default=300, help="With --cold: seconds before a page counts as failed.")
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None, help="Directory for the demo warehouse (reused).")
    parser.add_argument("--repeat", type=int, default=None, help="Warm loads per page (default 30; --cold 3).")
    parser.add_argument("--no-reference", action="store_true", help="With --cold: skip the analyses-alone runs.")
    parser.add_argument("--no-fragments", action="store_true",
                        help="With --cold: the page only, not its hx-trigger=load fragments (+fragments = cold).")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--with-topics", action="store_true")
    args = parser.parse_args()
    if args.child:
        page, warehouse, journey, repeat, *flags = args.child
        child(page, warehouse, journey, int(repeat), "reference" in flags)
        return
    args.repeat = args.repeat if args.repeat is not None else (3 if args.cold else 30)
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
