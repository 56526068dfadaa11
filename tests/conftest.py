"""Shared fixtures.

``wh`` is a fresh, empty warehouse parametrised over every engine: DuckDB (in memory) and
PySpark (one shared local[2] session, UTC, a fresh database per test). Tests that take
``wh`` run on both, which is the backend parity suite. Use ``duckdb_wh`` for tests that
only concern the embedded default.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from journeylens.settings import Settings
from journeylens.warehouse import Warehouse, open_warehouse

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parents[1] / "src" / "journeylens" / "samples"

# Property tests draw the same examples on every run (CI must not pass or fail by luck);
# ``JOURNEYLENS_HYPOTHESIS=explore`` draws fresh random examples and keeps hypothesis's example
# database, for hunting new failures locally.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile(
    "explore" if os.environ.get("JOURNEYLENS_HYPOTHESIS") == "explore" else "repeatable")

ENGINES = ["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)]
_db_counter = itertools.count()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(warehouse="duckdb://", duckdb_memory_limit="2GB")


@pytest.fixture(scope="session")
def spark_session():  # type: ignore[no-untyped-def]
    pytest.importorskip("pyspark")
    from journeylens.warehouse.engines import spark_session

    os.environ.setdefault("JOURNEYLENS_SPARK_SHUFFLE_PARTITIONS", "2")
    session = spark_session("local[2]")
    yield session


def _spark_warehouse(session) -> Warehouse:  # type: ignore[no-untyped-def]
    name = f"jl_test_{os.getpid()}_{next(_db_counter)}"
    session.sql(f"CREATE DATABASE IF NOT EXISTS {name}")
    session.catalog.setCurrentDatabase(name)
    return Warehouse.from_spark(session, location=f"pyspark://{name}")


@pytest.fixture(params=ENGINES)
def wh(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Warehouse]:
    """An empty warehouse on each engine (the parity suite)."""
    if request.param == "duckdb":
        warehouse = open_warehouse("duckdb://", settings)
        yield warehouse
        warehouse.close()
    else:
        session = request.getfixturevalue("spark_session")
        yield _spark_warehouse(session)


@pytest.fixture
def duckdb_wh(settings: Settings) -> Iterator[Warehouse]:
    warehouse = open_warehouse("duckdb://", settings)
    yield warehouse
    warehouse.close()


_INFRA_MARKERS = ("spark", "postgres", "browser")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):  # type: ignore[no-untyped-def]
    """Under `make test` (JOURNEYLENS_REQUIRE_ALL_BACKENDS=1) a test that needs Spark,
    PostgreSQL or Chromium may not skip: missing infrastructure is a failure, not a pass."""
    outcome = yield
    report = outcome.get_result()
    if (report.skipped and os.environ.get("JOURNEYLENS_REQUIRE_ALL_BACKENDS") == "1"
            and any(item.get_closest_marker(m) for m in _INFRA_MARKERS)
            and not hasattr(report, "wasxfail")):
        report.outcome = "failed"
        report.longrepr = f"skipped although JOURNEYLENS_REQUIRE_ALL_BACKENDS=1: {report.longrepr}"
