"""Everything engine-specific lives here: how to connect, and the few operations where
DuckDB and Spark need different calls. Analyses never import this module."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import duckdb
import ibis
from ibis.backends import BaseBackend

from journeylens.errors import ConfigError, EngineNotSupportedError, WarehouseError
from journeylens.warehouse import memory

log = logging.getLogger(__name__)

SUPPORTED_ENGINES = ("duckdb", "pyspark")

_SPARK_SESSION: Any = None


def parse_location(location: str) -> tuple[str, str]:
    """Split a warehouse location into ``(engine, target)``.

    >>> parse_location("journeylens.duckdb")
    ('duckdb', 'journeylens.duckdb')
    >>> parse_location("pyspark:///tmp/wh")
    ('pyspark', '/tmp/wh')
    """
    if "://" not in location:
        return "duckdb", location
    scheme, _, rest = location.partition("://")
    if scheme not in SUPPORTED_ENGINES:
        raise ConfigError(
            f"Unsupported warehouse engine {scheme!r} in {location!r}; use a DuckDB file path, "
            f"'duckdb://PATH' or 'pyspark://[WAREHOUSE_DIR]'."
        )
    return scheme, rest


def connect_duckdb(path: str, *, memory_limit: str, threads: int | None,
                   temp_directory: str | None = None) -> BaseBackend:
    """A DuckDB connection with the memory limit (``auto``: half the RAM), a spill directory
    and ``preserve_insertion_order = false``: every JourneyLens query that needs an order
    says ``ORDER BY``, and row numbers of ingested files are computed by the readers, so
    DuckDB may stream and spill large inserts instead of buffering them in order."""
    target = path or ":memory:"
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    try:
        con = ibis.duckdb.connect(target)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise WarehouseError(
            f"The warehouse file {target} is in use by another process ({_holder(str(exc))}); a DuckDB file "
            "admits one process at a time. If that process is `journeylens serve`, run the command with "
            "`--server URL` so the server runs it; otherwise wait for the other command to finish.",
            code="warehouse_locked", details={"warehouse": target}) from exc
    raw = con.con
    raw.execute("SET memory_limit = ?", [_safe_setting(memory.resolve_memory_limit(memory_limit))])
    raw.execute("SET temp_directory = ?", [temp_directory or memory.default_temp_directory(target)])
    raw.execute("SET preserve_insertion_order = false")
    raw.execute("SET TimeZone = 'UTC'")
    if threads:
        raw.execute(f"SET threads = {int(threads)}")
    return con


def _holder(message: str) -> str:
    """``"PID 123: /usr/bin/python"`` from DuckDB's lock message, else a generic phrase."""
    found = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    return f"PID {found.group(2)}: {found.group(1)}" if found else "another program holds its lock"


def spark_session(master: str, warehouse_dir: str | None = None) -> Any:
    """The process-wide SparkSession (one per process, as Spark wants), UTC session time zone.

    To use an existing cluster, set ``JOURNEYLENS_SPARK_MASTER`` (for example
    ``spark://host:7077`` or ``yarn``) or create a session yourself and pass it to
    :func:`journeylens.warehouse.Warehouse.from_spark`.
    """
    global _SPARK_SESSION
    if _SPARK_SESSION is not None:
        return _SPARK_SESSION
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise EngineNotSupportedError(
            "The Spark engine needs the 'spark' extra: pip install 'journeylens[spark]'."
        ) from exc
    builder = (
        SparkSession.builder.master(master)
        .appName("journeylens")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("JOURNEYLENS_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.memory", os.environ.get("JOURNEYLENS_SPARK_DRIVER_MEMORY", "2g"))
    )
    if warehouse_dir:
        builder = builder.config("spark.sql.warehouse.dir", str(Path(warehouse_dir).absolute()))
    _SPARK_SESSION = builder.getOrCreate()
    _SPARK_SESSION.sparkContext.setLogLevel("ERROR")
    return _SPARK_SESSION


def connect_pyspark(warehouse_dir: str, *, master: str) -> BaseBackend:
    session = spark_session(master, warehouse_dir or None)
    con = ibis.pyspark.connect(session)
    if warehouse_dir:
        _register_existing_tables(session, Path(warehouse_dir))
    return con


def _register_existing_tables(session: Any, root: Path) -> None:
    """Spark's in-memory catalogue forgets tables between processes; re-attach the
    Parquet directories a previous run wrote under the warehouse directory."""
    if not root.exists():
        return
    existing = {t.name for t in session.catalog.listTables()}
    for child in sorted(root.iterdir()):
        if child.is_dir() and child.name not in existing and any(child.glob("*.parquet")):
            session.sql(f"CREATE TABLE `{child.name}` USING parquet LOCATION '{child.absolute()}'")


def _safe_setting(value: str) -> str:
    if not value.replace(".", "").replace(" ", "").isalnum():
        raise ConfigError(f"Invalid DuckDB setting value {value!r}; expected something like '1GB'.")
    return value
