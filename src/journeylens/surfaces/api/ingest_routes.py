"""HTTP routes for batch ingest (thin: one function call each).

- ``POST /v1/ingest/{table}`` — multipart upload (``file``; optional form fields ``map``
  (repeatable ``TARGET=SOURCE``), ``format``, ``delimiter``, ``encoding``); scope ``ingest``;
  answers the ingest summary ``{table, read, accepted, duplicates, quarantined, reasons}``.
- ``GET  /v1/quarantine``      — ``?table=&reason=&limit=``; scope ``read``.
- ``GET  /v1/ingest/log``      — the latest ingests, newest first; scope ``read``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from starlette.concurrency import run_in_threadpool

from journeylens.errors import InputError
from journeylens.ingest.mapping import parse_mapping
from journeylens.ingest.reports import ingest_history, quarantine_report
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import LensDep, Principal, require_scope

router = APIRouter(tags=["ingest"])


@router.post("/v1/ingest/{table}", response_model=None, responses=rs.documented(rs.IngestSummaryPublic), dependencies=[Depends(require_scope("ingest"))])
async def post_ingest(
    table: str,
    lens: LensDep,
    file: Annotated[UploadFile, File(description="CSV, Parquet, JSON Lines or XES (.gz too).")],
    map: Annotated[list[str] | None, Form(description="TARGET=SOURCE, repeatable.")] = None,
    format: Annotated[str | None, Form()] = None,
    delimiter: Annotated[str | None, Form()] = None,
    encoding: Annotated[str, Form()] = "utf-8",
) -> dict[str, Any]:
    """Upload one file; the answer comes after the rows are in the warehouse."""
    name = Path(file.filename or "upload").name
    if not name or name in (".", ".."):
        raise InputError("The upload needs a file name with an extension (or pass format=).")
    with tempfile.TemporaryDirectory(prefix="journeylens-upload-") as tmp:
        path = Path(tmp) / name
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, file.file, out)
        summary = await run_in_threadpool(
            lens.ingest, table, path, mapping=parse_mapping(map or []) or None, format=format,
            delimiter=delimiter, encoding=encoding, source_name=name)
    return summary.to_dict()  # type: ignore[no-any-return]


@router.get("/v1/quarantine", response_model=None, responses=rs.documented(rs.QuarantinePublic))
def get_quarantine(
    lens: LensDep,
    principal: Annotated[Principal, Depends(require_scope("read"))],
    table: Annotated[str | None, Query()] = None,
    reason: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 100,
) -> dict[str, Any]:
    """Quarantined rows with counts by reason: ``{total, reasons, rows}``; ``raw`` (the row as
    read, with its ids) only for callers who may look up customers."""
    report = quarantine_report(lens.warehouse, table=table, reason=reason, limit=limit)
    return (report if principal.may("customer.lookup") else report.without_raw()).to_dict()


@router.get("/v1/ingest/log", response_model=None, responses=rs.documented(rs.IngestLog), dependencies=[Depends(require_scope("read"))])
def get_ingest_log(lens: LensDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> dict[str, Any]:
    """The ingest history, newest first: ``{"rows": [{batch, table, source, ... counts}]}``."""
    return {"rows": ingest_history(lens.warehouse, limit=limit)}
