"""Ingestion that loses nothing: files, Python objects and HTTP records into the warehouse.

>>> from journeylens.warehouse import open_warehouse
>>> from journeylens.ingest import ingest, ingest_records
>>> wh = open_warehouse("duckdb://")
>>> ingest_records(wh, "events", [{"customer_id": "c1", "touchpoint": "visit",
...                                "timestamp": "2024-05-01T10:00:00Z"}]).accepted
1
"""

from journeylens.ingest import reasons
from journeylens.ingest.pipeline import ingest, ingest_records, new_batch_id
from journeylens.ingest.summary import IngestSummary

__all__ = ["IngestSummary", "ingest", "ingest_records", "new_batch_id", "reasons"]
