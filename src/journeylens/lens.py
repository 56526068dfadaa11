"""The Python API: ``jl = journeylens.open(...)``.

A thin facade. Every method calls one analysis function with the warehouse's
``journey_events`` table; the CLI, HTTP API and dashboard call the same functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from journeylens.settings import Settings, get_settings
from journeylens.warehouse import Warehouse, open_warehouse
from journeylens.warehouse.schema import JOURNEY_EVENTS

if TYPE_CHECKING:
    from journeylens.journeys.definition import JourneyDefinition


class JourneyLens:
    """One warehouse plus one journey definition."""

    def __init__(self, warehouse: Warehouse, definition: JourneyDefinition | None = None,
                 settings: Settings | None = None):
        self.warehouse = warehouse
        self.settings = settings or get_settings()
        self._definition = definition

    # --- journey definition ---------------------------------------------------------
    @property
    def definition(self) -> JourneyDefinition:
        """The journey definition in use (suggested from the data when none was given)."""
        if self._definition is None:
            from journeylens.journeys.suggest import suggest_definition

            self._definition = suggest_definition(self.warehouse.table("events"))
        return self._definition

    # --- ingest -----------------------------------------------------------------------
    def ingest(self, table: str, source: Any, **options: Any) -> Any:
        """Ingest a file path or a pandas / polars / Arrow object into ``table``.

        Returns an :class:`journeylens.ingest.IngestSummary`; refreshes ``journey_events``
        when events were added.
        """
        from journeylens.ingest import ingest

        summary = ingest(self.warehouse, table, source, settings=self.settings, **options)
        if table == "events" and summary.accepted:
            self.refresh()
        return summary

    def refresh(self) -> None:
        """Rebuild ``journey_events`` (stitching + definition + enrichment)."""
        from journeylens.journeys.enrich import build_journey_events

        build_journey_events(self.warehouse, self.definition,
                             episode_gap_minutes=self.settings.episode_gap_minutes)

    def events(self) -> ir.Table:
        """The enriched ``journey_events`` table (built on first use)."""
        if not self.warehouse.has(JOURNEY_EVENTS):
            self.refresh()
        return self.warehouse.table(JOURNEY_EVENTS)

    def __repr__(self) -> str:
        return f"JourneyLens({self.warehouse!r})"

    # Analyses are added below, one method per analysis function (keep each a one-liner
    # that calls journeylens.analyses.*).


def open(warehouse: str | None = None, journey: str | Path | None = None,
         settings: Settings | None = None) -> JourneyLens:
    """Open a warehouse (DuckDB path, ``duckdb://``, ``pyspark://DIR``) and a journey YAML."""
    settings = settings or get_settings()
    definition = None
    journey = journey or settings.journey
    if journey is not None:
        from journeylens.journeys.definition import load_definition

        definition = load_definition(Path(journey))
    return JourneyLens(open_warehouse(warehouse, settings), definition, settings)

