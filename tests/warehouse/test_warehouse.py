from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from journeylens.errors import ConfigError, NotFoundError
from journeylens.warehouse import Warehouse, open_warehouse
from journeylens.warehouse.engines import parse_location
from journeylens.warehouse.schema import EVENTS, INPUT_TABLES, SYSTEM_TABLES


def test_new_warehouse_has_every_canonical_table(wh: Warehouse) -> None:
    assert set(INPUT_TABLES) | set(SYSTEM_TABLES) <= set(wh.con.list_tables())
    assert wh.schema("events").names == EVENTS.names


def test_append_conforms_columns_and_keeps_utc(wh: Warehouse) -> None:
    ts = dt.datetime(2024, 3, 1, 12, 30, tzinfo=dt.UTC)
    wh.append("events", pa.table({"touchpoint": ["a", "b"], "customer_id": ["c1", "c2"],
                                  "timestamp": pa.array([ts, ts]), "_seq": [1, 2]}))
    frame = wh.table("events").order_by("_seq").to_pandas()
    assert list(frame.customer_id) == ["c1", "c2"]
    stored = frame.timestamp.iloc[0]
    # Spark returns naive timestamps in its UTC session time zone; DuckDB returns tz-aware UTC.
    assert (stored if stored.tzinfo else stored.tz_localize("UTC")) == ts
    assert frame.channel.isna().all()
    assert wh.count("events") == 2


def test_unknown_table_names_the_location(duckdb_wh: Warehouse) -> None:
    with pytest.raises(NotFoundError, match="not in the warehouse"):
        duckdb_wh.table("nope")


def test_data_version_changes_with_ingest_log(duckdb_wh: Warehouse) -> None:
    before = duckdb_wh.data_version()
    now = dt.datetime.now(dt.UTC)
    duckdb_wh.append("ingest_log", pa.table({"_batch": ["b1"], "table": ["events"], "source": ["x"],
                                             "started_at": [now], "finished_at": [now], "read": [1],
                                             "accepted": [1], "duplicates": [0], "quarantined": [0],
                                             "reasons": ["{}"]}))
    assert duckdb_wh.data_version() != before


def test_file_warehouse_persists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "wh.duckdb"
    first = open_warehouse(str(path))
    first.append("spend", pa.table({"channel": ["tv"], "amount": [10.0]}))
    first.close()
    again = open_warehouse(f"duckdb://{path}")
    assert again.count("spend") == 1
    again.close()


@pytest.mark.parametrize(("location", "expected"), [
    ("x.duckdb", ("duckdb", "x.duckdb")),
    ("duckdb://", ("duckdb", "")),
    ("pyspark:///tmp/w", ("pyspark", "/tmp/w")),
])
def test_parse_location(location: str, expected: tuple[str, str]) -> None:
    assert parse_location(location) == expected


def test_unknown_engine_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="Unsupported warehouse engine 'mysql'"):
        parse_location("mysql://db")


def test_replace_leaves_no_helper_tables_behind() -> None:
    """Issue 9 item 9: a stray ``ibis_duckdb_table_*`` table was left in the warehouse."""
    import ibis
    import pytest

    from journeylens.warehouse import open_warehouse

    wh = open_warehouse("duckdb://")
    source = ibis.memtable({"x": ["1", "2", "three"]})
    wh.replace("derived", source.limit(2).mutate(y=source.x.cast("int64")))
    with pytest.raises(Exception, match="three"):  # fails half-way: after the table was created
        wh.replace("derived", source.mutate(y=source.x.cast("int64")))
    assert wh.count("derived") == 2  # the old table, whole
    assert [t for t in wh.con.list_tables() if t.startswith("ibis_duckdb_table")] == []
