"""Generate, write and ingest the demo in one call (what ``journeylens demo`` runs).

>>> import tempfile, journeylens
>>> out = tempfile.mkdtemp()
>>> report = build_demo(lambda journey: journeylens.open("duckdb://", journey), customers=200, out_dir=out)
>>> report.to_dict()["customers"], report.ingested["events"]["quarantined"]
(200, 0)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeylens.demo.generator import (
    DEFAULT_CUSTOMERS,
    DEFAULT_SEED,
    TABLES,
    DemoFiles,
    generate,
    write_dataset,
)

log = logging.getLogger(__name__)

DEFAULT_OUT_DIR = Path("demo-data")


@dataclass(frozen=True)
class DemoReport:
    """What a demo build produced. ``to_dict()`` is the ``journeylens demo --json`` shape."""

    customers: int
    events: int
    feedback: int
    seconds: float
    warehouse: str | None
    journey: Path
    files: DemoFiles
    generate_seconds: float
    ingest_seconds: float
    rows: Mapping[str, int] = field(default_factory=dict)
    ingested: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "events": self.events, "feedback": self.feedback,
                "seconds": round(self.seconds, 2), "warehouse": self.warehouse, "journey": str(self.journey)}


def ingest_files(lens: Any, files: DemoFiles) -> dict[str, dict[str, Any]]:
    """Ingest the written tables through the normal pipeline (events last, so the journey
    table is built once, with customers and feedback already there)."""
    summaries = {}
    for name in TABLES:
        summary = lens.ingest(name, str(files.tables[name]))
        summaries[name] = summary.to_dict()
        log.info("demo: ingested %s: %s", name, summaries[name])
    return summaries


def build_demo(open_lens: Callable[[Path], Any] | None, *, customers: int = DEFAULT_CUSTOMERS,
               seed: int = DEFAULT_SEED, out_dir: str | Path = DEFAULT_OUT_DIR) -> DemoReport:
    """Generate the dataset, write it to ``out_dir`` and, when ``open_lens`` is given, ingest it
    into the lens it returns for the written journey definition (``None``: files only)."""
    started = time.perf_counter()
    data = generate(customers=customers, seed=seed)
    files = write_dataset(data, out_dir)
    rows = data.rows()
    del data  # the tables are on disk now; free them before the warehouse needs the memory
    generated = time.perf_counter()
    ingested: dict[str, dict[str, Any]] = {}
    location = None
    if open_lens is not None:
        lens = open_lens(files.journey)
        ingested = ingest_files(lens, files)
        location = lens.warehouse.location
    finished = time.perf_counter()
    return DemoReport(
        customers=rows["customers"], events=rows["events"], feedback=rows["feedback"],
        seconds=finished - started, warehouse=location, journey=files.journey, files=files,
        generate_seconds=generated - started, ingest_seconds=finished - generated,
        rows=rows, ingested=ingested,
    )
