"""The demo dataset: a seeded, omnichannel retail bank with planted CX problems.

>>> data = generate(customers=300, seed=7)
>>> data.customers.num_rows
300
>>> generate(customers=300, seed=7).events.equals(data.events)
True
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from journeylens.demo import catalogue as cat
from journeylens.demo.acquisition import (
    BLENDED,
    awareness,
    consideration,
    onboarding,
    opens_online,
    visitors,
)
from journeylens.demo.catalogue import TOUCHPOINTS, TP
from journeylens.demo.events import (
    DAY_SECONDS,
    EventChunk,
    concat,
    identity_masks,
    ids,
    names,
    sort_strictly,
    timestamps,
)
from journeylens.demo.feedback import (
    employee_surveys,
    feedback_table,
    relationship_surveys,
    touchpoint_surveys,
)
from journeylens.demo.lifecycle import Lifecycle, after_onboarding
from journeylens.demo.planted import (
    APP_RELEASE,
    PLANTED_PROBLEMS,
    WINDOW_DAYS,
    DemoWindow,
    demo_window,
)
from journeylens.demo.population import Population, population
from journeylens.demo.spend import SPEND_CHANNELS, TvFlights, campaigns, spend_table, tv_flights
from journeylens.errors import ParameterError

log = logging.getLogger(__name__)

DEFAULT_CUSTOMERS = 50_000
DEFAULT_SEED = 42
MIN_CUSTOMERS = 100
MAX_CUSTOMERS = 2_000_000
#: Touchpoints that link the cookie to the customer: web logins, and branch appointments that
#: blended customers book on the website.
LINKING_TOUCHPOINTS = ("Open account online", "Online banking login", "Branch appointment")
JOURNEY_FILE = "bank.journey.yaml"
TABLES = ("customers", "spend", "feedback", "events")
#: Rows per Parquet row group (pyarrow's default), and per slice when events are built.
ROW_GROUP_ROWS = 1024 * 1024


@dataclass(frozen=True)
class DemoDataset:
    """The four input tables (Arrow), in the data contract's column names."""

    seed: int
    window: DemoWindow
    event_rows: EventRows
    feedback: pa.Table
    customers: pa.Table
    spend: pa.Table

    @cached_property
    def events(self) -> pa.Table:
        """The whole events table (built on first use; :func:`write_dataset` streams instead)."""
        return self.event_rows.table()

    def tables(self) -> dict[str, pa.Table]:
        return {name: getattr(self, name) for name in TABLES}

    def rows(self) -> dict[str, int]:
        """Rows per table, without building the events table."""
        return {name: len(self.event_rows) if name == "events" else getattr(self, name).num_rows for name in TABLES}


def generate(customers: int = DEFAULT_CUSTOMERS, seed: int = DEFAULT_SEED) -> DemoDataset:
    """Build the whole dataset in memory; the same ``customers`` and ``seed`` give identical tables."""
    if not MIN_CUSTOMERS <= customers <= MAX_CUSTOMERS:
        raise ParameterError(f"customers must be between {MIN_CUSTOMERS:,} and {MAX_CUSTOMERS:,}; got {customers:,}.")
    rng = np.random.default_rng(seed)
    window = demo_window(seed)
    start_ts, end_ts = int(window.start.timestamp()), int(window.end.timestamp())
    release_ts = int(window.release.timestamp())
    tv = tv_flights(rng, WINDOW_DAYS, customers)
    pop = population(rng, customers, start_ts, WINDOW_DAYS, tv.daily_gbp)
    online_opening = opens_online(rng, pop)
    chunks = awareness(rng, pop)
    considered, ready = consideration(rng, pop, online_opening)
    opened, onboarded = onboarding(rng, pop, online_opening, ready)
    later, life = after_onboarding(rng, pop, onboarded, end_ts, release_ts)
    n_visitors = customers // 10
    chunks += [*considered, *opened, *later, visitors(rng, customers, n_visitors, start_ts, WINDOW_DAYS)]
    del considered, opened, later  # the chunks' arrays are freed as soon as they are merged
    merged = concat(chunks)
    chunks.clear()
    events = sort_strictly(merged)
    del merged
    events = events.keep((events.ts >= start_ts) & (events.ts < end_ts))
    blended = np.r_[pop.micro == BLENDED, np.zeros(n_visitors, dtype=bool)]
    booked_online = (events.tp == TP["Branch appointment"]) & blended[events.cust]
    identified, anonymous = identity_masks(events, [TP[t] for t in LINKING_TOUCHPOINTS],
                                           customers + n_visitors, booked_online)
    customer_ids = ids("C", np.arange(1, customers + 1), 6)
    anonymous_ids = _anonymous_ids(rng, customers + n_visitors)
    parts = [touchpoint_surveys(rng, events, identified, customers, life, release_ts),
             relationship_surveys(rng, onboarded, life, end_ts)]
    employees = employee_surveys(rng, max(20, customers // 200), start_ts, end_ts)
    acquired = _acquisitions(pop, onboarded.opened, start_ts, end_ts)
    log.info("demo: %s events for %s customers", f"{len(events):,}", f"{customers:,}")
    event_rows = EventRows.of(events, identified, anonymous, customer_ids, anonymous_ids, window, tv)
    del events, identified, anonymous, booked_online  # now in time order inside event_rows
    return DemoDataset(
        seed=seed, window=window, event_rows=event_rows,
        feedback=feedback_table(rng, parts, customer_ids, employees, end_ts),
        customers=_customers_table(pop, onboarded.active, onboarded.opened, onboarded.activated, life,
                                   customer_ids, end_ts),
        spend=spend_table(rng, start_ts, WINDOW_DAYS, tv, acquired),
    )


def _anonymous_ids(rng: np.random.Generator, n: int) -> pa.Array:
    raw = rng.integers(0, 2**63 - 1, n, dtype=np.int64)
    return pa.array([f"anon-{v:016x}" for v in raw.tolist()], type=pa.string())


@dataclass(frozen=True)
class EventRows:
    """The events in export (time) order as code arrays; Arrow columns are built per slice.

    Holding ~20 bytes per event instead of the ~120 of the finished Arrow table (string ids,
    names) keeps a 2M-customer demo (42M events) in a few GB: :func:`write_dataset` writes it a
    row group at a time, and ``table()`` builds the whole table only when asked.
    """

    cust: np.ndarray
    ts: np.ndarray
    tp: np.ndarray
    ch: np.ndarray
    identified: np.ndarray
    anonymous: np.ndarray
    customer_ids: pa.Array
    anonymous_ids: pa.Array
    window: DemoWindow
    tv: TvFlights

    @classmethod
    def of(cls, ev: EventChunk, identified: np.ndarray, anonymous: np.ndarray, customer_ids: pa.Array,
           anonymous_ids: pa.Array, window: DemoWindow, tv: TvFlights) -> EventRows:
        order = np.argsort(ev.ts, kind="stable")  # an export in time order; per customer already strict
        return cls(ev.cust[order], ev.ts[order], ev.tp[order], ev.ch[order], identified[order], anonymous[order],
                   customer_ids, anonymous_ids, window, tv)

    def __len__(self) -> int:
        return len(self.cust)

    def batches(self, rows: int = ROW_GROUP_ROWS) -> Iterator[pa.RecordBatch]:
        for start in range(0, len(self), rows):
            yield self.slice(start, min(start + rows, len(self)))

    def table(self) -> pa.Table:
        return pa.Table.from_batches(list(self.batches()) or [self.slice(0, 0)])

    def slice(self, start: int, stop: int) -> pa.RecordBatch:
        """Rows ``start`` … ``stop - 1`` as Arrow (event ids are numbered by position)."""
        ev = EventChunk(self.cust[start:stop], self.ts[start:stop], self.tp[start:stop], self.ch[start:stop])
        identified, anonymous = self.identified[start:stop], self.anonymous[start:stop]
        app = ev.ch == cat.CH["app"]
        version = np.where(ev.ts >= int(self.window.release.timestamp()), 1, 0)
        return pa.record_batch({
            "event_id": ids("E", np.arange(start + 1, stop + 1), 8),
            "customer_id": self.customer_ids.take(pa.array(np.where(identified, ev.cust, 0), mask=~identified)),
            "anonymous_id": self.anonymous_ids.take(pa.array(ev.cust, mask=~anonymous)),
            "timestamp": timestamps(ev.ts),
            "touchpoint": names([tp.name for tp in TOUCHPOINTS], ev.tp),
            "channel": names(cat.CHANNELS, ev.ch),
            "app_version": names((APP_RELEASE.app_version_before, APP_RELEASE.app_version_after), version, app),
            "campaign": _event_campaigns(ev, int(self.window.start.timestamp()), self.tv),
        })


def _event_campaigns(ev: EventChunk, start_ts: int, tv: TvFlights) -> pa.Array:
    """Awareness events carry the campaign that ran that day in their acquisition channel."""
    day = np.clip((ev.ts - start_ts) // DAY_SECONDS, 0, WINDOW_DAYS - 1)
    day_ts = start_ts + np.arange(WINDOW_DAYS, dtype=np.int64) * DAY_SECONDS
    out = np.full(len(ev), None, dtype=object)
    for channel, touchpoint in zip(cat.ACQUISITION_CHANNELS, cat.ACQUISITION_TOUCHPOINT, strict=True):
        if touchpoint is None or channel not in SPEND_CHANNELS:
            continue
        rows = np.flatnonzero(ev.tp == TP[touchpoint])
        named = np.asarray(campaigns(channel, day_ts, tv.flight), dtype=object)
        out[rows] = named[day[rows]]
    out[out == ""] = None
    return pa.array(out.tolist(), type=pa.string())


def _acquisitions(pop: Population, opened: np.ndarray, start_ts: int, end_ts: int) -> dict[str, np.ndarray]:
    """Account openings per day of the window, per acquisition channel."""
    counts = {}
    ok = opened < end_ts
    for code, channel in enumerate(cat.ACQUISITION_CHANNELS):
        day = (opened[ok & (pop.acquisition == code)] - start_ts) // DAY_SECONDS
        counts[channel] = np.bincount(day, minlength=WINDOW_DAYS)[:WINDOW_DAYS]
    return counts


def _customers_table(pop: Population, active: np.ndarray, opened: np.ndarray, activated: np.ndarray,
                     life: Lifecycle, customer_ids: pa.Array, end_ts: int) -> pa.Table:
    stop = np.minimum(life.churn_ts, end_ts)
    active_days = np.where(active, np.maximum(stop - activated, 0) / DAY_SECONDS, 0.0)
    status = np.where(~active, 0, np.where(life.churned, 2, 1))
    has_opened = opened < end_ts
    return pa.table({
        "customer_id": customer_ids,
        "segment": names(cat.SEGMENTS, pop.segment),
        "region": names(cat.REGIONS, pop.region),
        "plan": names(cat.PLANS, pop.plan),
        "value": pa.array(pop.value_gbp, type=pa.float64()),
        "churned": pa.array(life.churned),
        "churn_date": _masked_timestamps(life.churn_ts, life.churned),
        "revenue": pa.array(np.round(pop.value_gbp * active_days / 365.0, 2), type=pa.float64()),
        "acquisition_channel": names(cat.ACQUISITION_CHANNELS, pop.acquisition),
        "micro_journey": names(cat.MICRO_JOURNEYS, pop.micro),
        "opened_at": _masked_timestamps(opened, has_opened),
        "status": names(("abandoned_onboarding", "active", "closed"), status),
    })


def _masked_timestamps(ts_seconds: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(np.where(valid, ts_seconds, 0) * 1_000_000, mask=~valid, type=pa.timestamp("us", tz="UTC"))


# --- files ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class DemoFiles:
    """Where :func:`write_dataset` put things."""

    directory: Path
    tables: dict[str, Path]
    journey: Path
    manifest: Path


def journey_template() -> Path:
    """The packaged journey definition of the demo bank."""
    return Path(str(resources.files("journeylens.demo").joinpath(JOURNEY_FILE)))


def write_dataset(data: DemoDataset, out_dir: str | Path) -> DemoFiles:
    """Write ``events/feedback/customers/spend.parquet``, the journey YAML and ``manifest.json``."""
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.parquet" for name in TABLES}
    for name in TABLES:
        if name != "events":
            pq.write_table(getattr(data, name), paths[name], compression="zstd")
    rows = data.event_rows
    with pq.ParquetWriter(paths["events"], rows.slice(0, 0).schema, compression="zstd") as writer:
        for batch in rows.batches():  # one row group each, as write_table would cut them
            writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
    journey = directory / JOURNEY_FILE
    shutil.copyfile(journey_template(), journey)
    manifest = directory / "manifest.json"
    manifest.write_text(json.dumps(_manifest(data), indent=2) + "\n", encoding="utf-8")
    return DemoFiles(directory=directory, tables=paths, journey=journey, manifest=manifest)


def _manifest(data: DemoDataset) -> dict[str, object]:
    return {
        "seed": data.seed,
        "window": {"start": data.window.start.isoformat(), "end": data.window.end.isoformat()},
        "app_release": data.window.release.isoformat(),
        "rows": data.rows(),
        "planted_problems": {name: asdict(problem) for name, problem in PLANTED_PROBLEMS.items()},
    }
