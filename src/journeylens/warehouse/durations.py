"""Exact, cheap durations on every engine.

Durations are differences of integer microseconds since 1970-01-01 UTC. On DuckDB,
``date_diff`` and ``epoch`` on ``TIMESTAMPTZ`` go through ICU calendar arithmetic, which was
most of the cost of a transition graph; ``epoch_us`` (DuckDB) and ``unix_micros`` (Spark)
are plain integer work. Engine-specific names are chosen here, in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

MICROS_PER_DAY = 86_400_000_000


@ibis.udf.scalar.builtin(name="epoch_us")
def _duckdb_epoch_us(timestamp) -> dt.int64:  # type: ignore[no-untyped-def]
    """DuckDB: microseconds since 1970-01-01 UTC."""


@ibis.udf.scalar.builtin(name="unix_micros")
def _spark_unix_micros(timestamp) -> dt.int64:  # type: ignore[no-untyped-def]
    """Spark: microseconds since 1970-01-01 UTC."""


def epoch_micros(timestamp: ir.TimestampValue) -> ir.IntegerValue:
    """Microseconds since 1970-01-01 UTC as an integer, on every engine.

    Differences of these are exact and cheap: on DuckDB, ``date_diff`` on ``TIMESTAMPTZ``
    goes through ICU calendar arithmetic and was most of the cost of a transition graph.
    """
    engine = ibis.get_backend(timestamp).name
    if engine == "duckdb":
        return _duckdb_epoch_us(timestamp)
    if engine == "pyspark":
        return _spark_unix_micros(timestamp)
    epoch = ibis.literal(datetime(1970, 1, 1, tzinfo=UTC))
    return timestamp.delta(epoch, unit="microsecond")  # pragma: no cover - other engines


def micros_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.IntegerValue:
    """Exact integer microseconds from ``earlier`` to ``later``."""
    return epoch_micros(later) - epoch_micros(earlier)


def seconds_between(later: ir.TimestampValue, earlier: ir.TimestampValue) -> ir.FloatingValue:
    """Exact seconds (microsecond resolution) from ``earlier`` to ``later`` on every engine."""
    return micros_between(later, earlier).cast("float64") / 1_000_000


def utc_day_number(timestamp: ir.TimestampValue) -> ir.IntegerValue:
    """Days since 1970-01-01 (UTC) as an integer."""
    return epoch_micros(timestamp) // MICROS_PER_DAY
