"""Helpers for analysis tests: build ``journey_events`` directly from tiny inline logs.

``journey_events_table(rows)`` fills ``step``, ``seconds_since_previous``, ``episode`` and
``_seq`` with plain Python (per customer, ordered by timestamp then source order), so the
analyses can be tested without the enrichment step. ``load_journey_events(wh, rows)``
stores it as ``journey_events`` in a warehouse and returns the Ibis table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import pytest

from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA


def _ts(value: str | datetime) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def journey_events_table(rows: Iterable[Mapping[str, Any]], *, episode_gap_minutes: int = 30) -> pa.Table:
    """Rows need ``customer_id``, ``timestamp`` (ISO string or datetime) and ``touchpoint``;
    any other JOURNEY_EVENTS_SCHEMA column may be given (``stage``, ``stage_order``, ``channel`` …)."""
    records = [dict(r, timestamp=_ts(r["timestamp"]), _seq=r.get("_seq", i + 1)) for i, r in enumerate(rows)]
    records.sort(key=lambda r: (r["customer_id"], r["timestamp"], r["_seq"]))
    previous: dict[str, Any] = {}
    for record in records:
        prev = previous.get(record["customer_id"])
        if prev is None:
            record.update(step=1, seconds_since_previous=None, episode=1)
        else:
            gap = (record["timestamp"] - prev["timestamp"]).total_seconds()
            new_episode = gap > episode_gap_minutes * 60
            record.update(step=prev["step"] + 1, seconds_since_previous=gap,
                          episode=prev["episode"] + int(new_episode))
        previous[record["customer_id"]] = record
    records.sort(key=lambda r: r["_seq"])
    schema = JOURNEY_EVENTS_SCHEMA.to_pyarrow()
    columns = {f.name: pa.array([r.get(f.name) for r in records], type=f.type) for f in schema}
    return pa.table(columns, schema=schema)


def load_journey_events(wh: Warehouse, rows: Iterable[Mapping[str, Any]], **options: Any) -> ir.Table:
    """Store the rows as ``journey_events`` in ``wh`` and return that table."""
    wh.replace(JOURNEY_EVENTS, journey_events_table(rows, **options))
    return wh.table(JOURNEY_EVENTS)


def load_table(wh: Warehouse, name: str, rows: Iterable[Mapping[str, Any]]) -> ir.Table:
    """Append rows to a canonical input table (``customers``, ``feedback`` …) and return it."""
    rows = list(rows)
    target = wh.schema(name).to_pyarrow()
    columns = {}
    for field in target:
        values = [r.get(field.name) for r in rows]
        if pa.types.is_timestamp(field.type):
            values = [_ts(v) if v is not None else None for v in values]
        columns[field.name] = pa.array(values, type=field.type)
    wh.append(name, pa.table(columns, schema=target))
    return wh.table(name)


# --- a tiny shop journey (used by the journey map, cohorts, channels, conformance,
# timeline and retention tests; expected numbers in those tests are computed by hand) ---
SHOP_JOURNEY_YAML = """
name: Shop
stages: [{name: Discover}, {name: Buy}, {name: Use, targets: {csat: 0.8}}]
touchpoints:
  - {name: Ad, match: ["Ad *"], stage: Discover, channel: social, category: social/external}
  - {name: Visit, stage: Discover, channel: web, owner: Web team, targets: {csat: 0.8}}
  - {name: Store visit, stage: Buy, channel: store}
  - {name: Purchase, stage: Buy, channel: web, critical: true, owner: Sales}
  - {name: Support call, stage: Use, channel: call_centre, owner: Service}
  - {name: Cancel, stage: Use, channel: web}
cohorts:
  - {name: smb, attribute: segment, equals: smb}
  - {name: buyers, performed: Purchase}
  - {name: web-first, first_channel: web}
  - {name: smb-online, attribute: segment, in: [smb], channels: online-only}
  - {name: gold, attribute: tier, equals: gold}
outcomes: {conversion: [Purchase], churn: [Cancel]}
"""

_SHOP_ORDER = {"Discover": 1, "Buy": 2, "Use": 3}
_SHOP_EVENTS = [  # customer, timestamp, touchpoint, channel, stage
    ("c1", "2024-01-01T10:00", "Ad Google", "social", "Discover"),
    ("c1", "2024-01-01T10:30", "Visit", "web", "Discover"),
    ("c1", "2024-01-02T09:00", "Purchase", "web", "Buy"),
    ("c1", "2024-01-03T09:00", "Support call", "call_centre", "Use"),
    ("c1", "2024-01-03T10:00", "Support call", "call_centre", "Use"),
    ("c2", "2024-01-01T11:00", "Visit", "web", "Discover"),
    ("c2", "2024-01-01T12:00", "Store visit", "store", "Buy"),
    ("c3", "2024-01-08T07:00", "Newsletter", "email", None),
    ("c3", "2024-01-08T08:00", "Visit", "web", "Discover"),
    ("c3", "2024-01-08T09:00", "Visit", "web", "Discover"),
    ("c4", "2024-01-01T09:00", "Ad Meta", "social", "Discover"),
    ("c4", "2024-01-01T10:00", "Purchase", "web", "Buy"),
    ("c4", "2024-01-05T10:00", "Cancel", "web", "Use"),
    ("c5", "2024-01-02T10:00", "Store visit", "store", "Buy"),
    ("c5", "2024-01-02T10:05", "Visit", "web", "Discover"),
    ("c5", "2024-01-02T10:20", "Purchase", "web", "Buy"),
    ("c6", "2024-01-10T10:00", "Visit", "web", "Discover"),
    ("c6", "2024-01-10T10:10", "Support call", "call_centre", "Use"),
    ("c6", "2024-01-12T10:00", "Support call", "call_centre", "Use"),
]
SHOP_ROWS = [{"customer_id": c, "timestamp": ts, "touchpoint": tp, "channel": ch, "stage": st,
              "stage_order": _SHOP_ORDER.get(st or ""), "anonymous_id": None} for c, ts, tp, ch, st in _SHOP_EVENTS]
SHOP_CUSTOMERS = [
    {"customer_id": "c1", "segment": "smb", "plan": "pro", "attributes": '{"tier": "gold"}'},
    {"customer_id": "c2", "segment": "enterprise", "plan": "basic", "attributes": '{"tier": "silver"}'},
    {"customer_id": "c3", "segment": "smb", "plan": "basic"},
    {"customer_id": "c4", "segment": "smb", "plan": "pro", "churned": True, "churn_date": "2024-01-05T10:00"},
    {"customer_id": "c5", "segment": "enterprise", "plan": "pro", "attributes": '{"tier": "gold", "n": 3}'},
    {"customer_id": "c6", "segment": "enterprise", "plan": "basic", "value": 120.0},
]


@pytest.fixture(scope="session")
def shop_definition() -> Any:
    from journeylens.journeys.definition import parse_definition

    return parse_definition(SHOP_JOURNEY_YAML)


def load_shop(wh: Warehouse) -> tuple[ir.Table, ir.Table]:
    """Load the shop log into ``wh``: returns (journey_events, customers)."""
    return load_journey_events(wh, SHOP_ROWS), load_table(wh, "customers", SHOP_CUSTOMERS)


@pytest.fixture
def shop_loader() -> Any:
    """The :func:`load_shop` function (for tests on the engine-parametrised ``wh``)."""
    return load_shop


@pytest.fixture
def shop(duckdb_wh: Warehouse) -> tuple[ir.Table, ir.Table]:
    """(journey_events, customers) of the shop log on in-memory DuckDB."""
    return load_shop(duckdb_wh)


def rounded(value: Any, digits: int = 9) -> Any:
    """Floats rounded (recursively) so results of two engines compare exactly."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, Mapping):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value


@pytest.fixture
def assert_parity(settings: Any) -> Any:
    """``assert_parity(wh, compute)``: ``compute(events, customers)`` on the shop log loaded into
    ``wh`` gives the same ``to_dict()`` (floats rounded) as on a fresh in-memory DuckDB."""
    from journeylens.warehouse import open_warehouse

    def check(wh: Warehouse, compute: Any) -> Any:
        reference_wh = open_warehouse("duckdb://", settings)
        try:
            expected = rounded(compute(*load_shop(reference_wh)).to_dict())
        finally:
            reference_wh.close()
        actual = rounded(compute(*load_shop(wh)).to_dict())
        assert actual == expected
        return actual

    return check


@pytest.fixture
def events_loader() -> Any:
    """The :func:`load_journey_events` function: ``events_loader(wh, rows)`` -> journey_events."""
    return load_journey_events


@pytest.fixture
def shop_files(tmp_path: Any, settings: Any) -> tuple[Any, Any]:
    """(DuckDB file, journey YAML file) holding the shop log, for CLI and HTTP tests."""
    from journeylens.warehouse import open_warehouse

    db, yaml_path = tmp_path / "shop.duckdb", tmp_path / "shop.journey.yaml"
    yaml_path.write_text(SHOP_JOURNEY_YAML, encoding="utf-8")
    warehouse = open_warehouse(str(db), settings)
    load_shop(warehouse)
    warehouse.close()
    return db, yaml_path
