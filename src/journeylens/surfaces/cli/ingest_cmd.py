"""``journeylens ingest`` and ``journeylens quarantine``.

    journeylens ingest events log.xes.gz
    journeylens ingest events receipt.csv --map customer_id=case:concept:name \\
        --map touchpoint=concept:name --map timestamp=time:timestamp
    journeylens ingest events complaints.csv --delimiter ';' --encoding latin-1 --json
    journeylens quarantine --reason bad_timestamp --limit 20 --json

``ingest --json`` prints the summary object for one file and a list of them for several.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.ingest.mapping import parse_mapping
from journeylens.ingest.reports import quarantine_report
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx

_TABLES = ("events", "feedback", "customers", "spend")


def register(app: typer.Typer) -> None:
    @app.command("ingest")
    def ingest_command(
        ctx: typer.Context,
        table: Annotated[str, typer.Argument(help="events, feedback, customers or spend.")],
        files: Annotated[list[Path], typer.Argument(help="CSV, Parquet, JSON Lines or XES files (.gz too).")],
        map_: Annotated[list[str] | None, typer.Option(
            "--map", help="TARGET=SOURCE column mapping, repeatable (e.g. customer_id=case:concept:name).")] = None,
        fmt: Annotated[str | None, typer.Option(
            "--format", help="csv, parquet, jsonl or xes (default: from the extension).")] = None,
        delimiter: Annotated[str | None, typer.Option(
            "--delimiter", help="CSV field separator (default: sniffed from the header).")] = None,
        encoding: Annotated[str, typer.Option("--encoding", help="Text encoding, e.g. latin-1.")] = "utf-8",
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Load files into the warehouse; bad rows go to the quarantine, duplicates are skipped."""
        try:
            if table not in _TABLES:
                raise ParameterError(f"Cannot ingest into {table!r}; use one of {', '.join(_TABLES)}.")
            mapping = parse_mapping(map_ or [])
            lens = get_ctx(ctx).lens()
            summaries = [
                lens.ingest(table, path, mapping=mapping or None, format=fmt, delimiter=delimiter,
                            encoding=encoding, progress=not as_json)
                for path in files]
        except JourneyLensError as exc:
            fail(exc, as_json=as_json)
            return
        if as_json:
            payloads = [s.to_dict() for s in summaries]
            emit_json(payloads[0] if len(payloads) == 1 else payloads)
            return
        rows = [{"file": path.name, **s.to_dict(),
                 "reasons": ", ".join(f"{k}: {v}" for k, v in s.reasons.items()) or "—"}
                for path, s in zip(files, summaries, strict=True)]
        emit_table(rows, title=f"ingest → {table}",
                   columns=["file", "read", "accepted", "duplicates", "quarantined", "reasons"])

    @app.command("quarantine")
    def quarantine_command(
        ctx: typer.Context,
        table: Annotated[str | None, typer.Option("--table", help="Only rows meant for this table.")] = None,
        reason: Annotated[str | None, typer.Option("--reason", help="Only this reason code.")] = None,
        limit: Annotated[int, typer.Option("--limit", help="Rows to show (counts cover all).")] = 50,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Rows that could not be used, with the reason and the row as read."""
        try:
            report = quarantine_report(get_ctx(ctx).lens().warehouse, table=table, reason=reason, limit=limit)
        except JourneyLensError as exc:
            fail(exc, as_json=as_json)
            return
        if as_json:
            emit_json(report.to_dict())
            return
        if not report.total:
            console.print("quarantine: empty (nothing matched)")
            return
        counts: list[dict[str, Any]] = [{"reason": k, "rows": v} for k, v in report.reasons.items()]
        emit_table(counts, title=f"quarantine: {report.total:,} rows", columns=["reason", "rows"])
        if report.rows:
            emit_table(list(report.rows), columns=["table", "source", "row", "reason", "detail", "raw"])
