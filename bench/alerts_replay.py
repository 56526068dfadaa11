"""Alert rules on the demo bank, replayed in time order; and what response rules cost ingest.

1. **Replay.** The demo's feedback is ingested day by day from ``--days-before`` the planted app
   release to ``--days-after`` it; after each day the metric rule
   (CSAT at "Mobile app login" below 0.6, whole 95 % interval, 1-day window) is judged. Prints
   the release date, the first day the rule fired, and any day it fired before the release
   (false alarms), plus the seconds per replayed day.
2. **Ingest overhead.** The same feedback file is ingested into fresh warehouses without rules
   (the reference), with three active response rules fired row by row (the ORM path of
   session 2, still the fallback when a concurrent writer conflicts) and set-based (the
   default: one read per question and one INSERT per table per batch); prints responses/s,
   the overhead per response, and checks both paths wrote the same alerts, tickets, trail
   rows and outbox messages.

    .venv/bin/python bench/alerts_replay.py                       # 50,000 customers, seed 42
    .venv/bin/python bench/alerts_replay.py --customers 20000 --days-before 120

Numbers are from a shared 2-core machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
from sqlalchemy import func, select

import journeylens
from journeylens.demo import generate
from journeylens.operations import users
from journeylens.operations.alerts import actions, responses
from journeylens.operations.alerts.models import Alert
from journeylens.operations.alerts.replay import APP_RELEASE_RULE, replay
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.outbox_models import OutboxMessage
from journeylens.operations.tickets.models import Ticket, TicketEvent
from journeylens.settings import Settings

RESPONSE_RULES = [
    """name: detractors\non: response\nwhen: {nps: "<= 6"}\n"""
    """ticket: {team: service, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72}\n"""
    """notify:\n  - webhook: https://hooks.example.com/cx\n""",
    """name: fraud\non: response\nwhen: {comment: {any: [fraud, scam, stolen]}}\n"""
    """ticket: {team: fraud, owner: agent@bank.example, priority: urgent, first_contact_hours: 4}\n""",
    """name: unhappy-csat\non: response\nwhen: {csat: "<= 2", channel: [app, web]}\n""",
]


def _settings(workdir: Path, name: str) -> Settings:
    return Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{workdir / f'{name}.db'}",
                    duckdb_memory_limit="2GB")


def bench_replay(feedback: pa.Table, release: object, workdir: Path, before: int, after: int) -> None:
    settings = _settings(workdir, "replay")
    lens = journeylens.open("duckdb://", settings=settings)
    db = AppDatabase(settings.app_database_url)
    with db.session() as s:
        actions.add(s, lens, APP_RELEASE_RULE, source="app-login-csat.yaml", actor="bench")
    start = release - timedelta(days=before)  # type: ignore[operator]
    began = time.perf_counter()
    days = list(replay(lens, db, feedback, start=start, end=release + timedelta(days=after)))  # type: ignore[operator]
    seconds = time.perf_counter() - began
    fired = [d.day for d in days if d.fired]
    early = [d for d in fired if d < release.date()]  # type: ignore[attr-defined]
    print("| replay | value |\n|---|---|")
    print(f"| days replayed | {len(days)} ({before} before the release, {after} from it) |")
    print(f"| planted release | {release.date()} |")  # type: ignore[attr-defined]
    print(f"| first day the metric rule fired | {fired[0] if fired else 'never'} |")
    print(f"| days it fired before the release (false alarms) | {len(early)} {early[:5]} |")
    print(f"| days it fired in all | {len(fired)} |")
    print(f"| seconds per replayed day (ingest + judge) | {seconds / len(days):.3f} |")
    lens.warehouse.close()
    db.dispose()


def _ingest(feedback: pa.Table, workdir: Path, name: str, rules: list[str], *,
            row_by_row: bool = False) -> tuple[float, dict[str, int]]:
    settings = _settings(workdir, name)
    db = AppDatabase(settings.app_database_url)
    lens = journeylens.open("duckdb://", settings=settings)
    with db.session() as s:
        if rules:
            users.create_user(s, "agent@bank.example", "correct horse battery", role="agent", actor="bench")
        for text in rules:
            actions.add(s, None, text, source="rule.yaml", actor="bench")
    original = responses.fire_batch
    if row_by_row:
        responses.fire_batch = lambda *args, **kwargs: None  # type: ignore[assignment]  # the fallback path
    began = time.perf_counter()
    try:
        lens.ingest("feedback", feedback)
    finally:
        responses.fire_batch = original
    seconds = time.perf_counter() - began
    with db.session() as s:
        counts = {model.__tablename__: s.scalar(select(func.count()).select_from(model))
                  for model in (Alert, Ticket, TicketEvent, OutboxMessage)}
    lens.warehouse.close()
    db.dispose()
    return seconds, counts


def bench_overhead(feedback: pa.Table, workdir: Path, repeat: int = 1) -> None:
    """Each variant ``repeat`` times, interleaved; the fastest run of each counts (load is noisy)."""
    runs: dict[str, list[float]] = {"plain": [], "row-by-row": [], "set-based": []}
    counts: dict[str, dict[str, int]] = {}
    for round_ in range(repeat):
        runs["plain"].append(_ingest(feedback, workdir, f"plain-{round_}", [])[0])
        for name in ("row-by-row", "set-based"):
            seconds, counts[name] = _ingest(feedback, workdir, f"{name}-{round_}", RESPONSE_RULES,
                                            row_by_row=name == "row-by-row")
            runs[name].append(seconds)
    plain, slow, fast = (min(runs[k]) for k in ("plain", "row-by-row", "set-based"))
    n = feedback.num_rows
    print(f"\n| ingest of the demo feedback (fastest of {repeat}) | seconds | responses/s | overhead µs/response "
          "| alerts | tickets | trail rows | outbox rows |\n|---|---|---|---|---|---|---|---|")
    print(f"| without rules (reference) | {plain:.2f} | {n / plain:,.0f} | 0 | 0 | 0 | 0 | 0 |")
    for label, seconds, c in (("3 response rules, row by row (ORM, before)", slow, counts["row-by-row"]),
                              ("3 response rules, set-based (now)", fast, counts["set-based"])):
        print(f"| {label} | {seconds:.2f} | {n / seconds:,.0f} | {max(seconds - plain, 0) / n * 1e6:.0f} "
              f"| {c['alerts']:,} | {c['tickets']:,} | {c['ticket_events']:,} | {c['outbox']:,} |")
    print(f"\nall runs (s): {', '.join(f'{k} {[round(x, 1) for x in v]}' for k, v in runs.items())}")
    print(f"load average after the runs (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"set-based vs row by row: {slow / fast:.1f}x faster; same rows written: "
          f"{counts['row-by-row'] == counts['set-based']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--days-before", type=int, default=60)
    parser.add_argument("--days-after", type=int, default=7)
    parser.add_argument("--skip-replay", action="store_true", help="Only measure the ingest overhead.")
    parser.add_argument("--repeat", type=int, default=2, help="Runs of each ingest variant (the fastest counts).")
    args = parser.parse_args()
    data = generate(customers=args.customers, seed=args.seed)
    print(f"demo: {args.customers:,} customers, seed {args.seed}, {data.feedback.num_rows:,} responses\n")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.skip_replay:
            bench_replay(data.feedback, data.window.release, workdir, args.days_before, args.days_after)
        bench_overhead(data.feedback, workdir, args.repeat)


if __name__ == "__main__":
    main()
