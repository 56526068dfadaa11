"""Run a query over in-memory tables on the caller's own warehouse connection.

An Ibis expression that reads no warehouse table — only ``ibis.memtable`` data, such as the
stored daily statistics of :mod:`journeylens.analyses.daily_stats` — has no backend of its
own, and ``expr.to_pandas()`` then runs it on Ibis's *process-wide default* DuckDB
connection. A server computes on many threads at once, each on its own cursor
(:mod:`journeylens.lens_pool`); they would all meet on that one default connection, which
must not run two queries at once ("Attempting to execute an unsuccessful or closed pending
query result") and deadlocks the process: binding a query over a Python (Arrow) object, DuckDB
holds the connection's lock and waits for the GIL, while another thread holds the GIL and
waits for that lock (issue 9, ADR 0094). So such an expression runs on the backend of a
table it was derived from (``on``), and its in-memory tables are unregistered afterwards
(a pooled cursor lives as long as the server).

>>> import ibis
>>> con = ibis.duckdb.connect()
>>> days = con.create_table("days", ibis.memtable({"n": [1, 2]}))
>>> stored = ibis.memtable({"n": [3, 4]})
>>> int(to_pandas_on(stored.aggregate(total=stored.n.sum()), on=days)["total"][0])
7
>>> stored.op().name in con.list_tables()       # registered for the query only
False
"""

from __future__ import annotations

import contextlib
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa


def to_pandas_on(expr: ir.Table, *, on: ir.Table) -> pd.DataFrame:
    """``expr.to_pandas()`` on ``on``'s backend (see the module docstring)."""
    frame: pd.DataFrame = _run_on("execute", expr, on)
    return frame


def to_pyarrow_on(expr: ir.Table, *, on: ir.Table) -> pa.Table:
    """``expr.to_pyarrow()`` on ``on``'s backend (see the module docstring)."""
    table: pa.Table = _run_on("to_pyarrow", expr, on)
    return table


def _run_on(method: str, expr: ir.Table, on: ir.Table) -> Any:
    backend = ibis.get_backend(on)  # the backend ``on`` reads from
    try:
        return getattr(backend, method)(expr)
    finally:
        _unregister(backend, expr)


def _unregister(backend: Any, expr: ir.Expr) -> None:
    """Drop the in-memory tables ``expr`` registered on ``backend``'s DuckDB connection."""
    if backend.name != "duckdb":
        return  # other engines keep Ibis's own clean-up
    for table in expr.op().find(ops.InMemoryTable):
        backend._memtables.discard(table)
        with contextlib.suppress(Exception):  # not registered (already dropped, or never run)
            backend.con.unregister(table.name)
