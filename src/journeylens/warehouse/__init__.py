"""The analytical store: Ibis over DuckDB by default, the same code on Spark."""

from journeylens.warehouse.warehouse import Warehouse, open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
