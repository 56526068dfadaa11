"""What every CLI command shares: the global options, the opened lens, and rendering.

Commands only render results of analysis functions: ``--json`` prints the documented shape
exactly (``emit_json``), human output is a rich table (``emit_table``).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from journeylens.errors import ConfigError, JourneyLensError
from journeylens.settings import Settings, get_settings

console = Console(stderr=False)
err_console = Console(stderr=True)


@dataclass
class CliContext:
    warehouse: str | None = None
    journey: Path | None = None
    timezone: str | None = None
    settings: Settings = field(default_factory=get_settings)
    _lens: Any = None
    #: True when a server runs this command for a CLI beside it (on the server's lens).
    remote: bool = False

    def lens(self) -> Any:
        """The :class:`journeylens.JourneyLens` for this invocation (opened once).

        Without ``--warehouse`` (or ``JOURNEYLENS_WAREHOUSE``) the default file must already
        exist: a mistyped command must not leave an empty ``./journeylens.duckdb`` behind.
        """
        if self._lens is None:
            import journeylens

            self.require_named_or_existing_warehouse()
            self._lens = journeylens.open(self.warehouse, self.journey, settings=self.settings)
        return self._lens

    def require_named_or_existing_warehouse(self) -> None:
        from journeylens.surfaces.server_marker import duckdb_file

        if self.warehouse is not None or "warehouse" in self.settings.model_fields_set:
            return
        default = duckdb_file(self.settings.warehouse)
        if default is not None and not default.exists():
            raise ConfigError(
                f"No warehouse given and ./{default} does not exist. Pass --warehouse PATH (before the "
                "command; a new DuckDB file is created there) or set JOURNEYLENS_WAREHOUSE.",
                code="no_warehouse", details={"default": str(default)})


def get_ctx(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):
        obj = CliContext()
        ctx.find_root().obj = obj
    return obj


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def to_json(payload: Any) -> str:
    return json.dumps(payload, default=_default, ensure_ascii=False, allow_nan=False)


def clean_nans(payload: Any) -> Any:
    """Replace NaN/inf with None so JSON stays valid."""
    if isinstance(payload, float):
        return None if payload != payload or payload in (float("inf"), float("-inf")) else payload
    if isinstance(payload, Mapping):
        return {k: clean_nans(v) for k, v in payload.items()}
    if isinstance(payload, list | tuple):
        return [clean_nans(v) for v in payload]
    return payload


def emit_json(payload: Any) -> None:
    sys.stdout.write(to_json(clean_nans(payload)) + "\n")


def emit_table(rows: Sequence[Mapping[str, Any]], *, title: str | None = None,
               columns: Iterable[str] | None = None, limit: int = 200) -> None:
    cols = list(columns) if columns is not None else (list(rows[0].keys()) if rows else [])
    table = Table(title=title, show_lines=False)
    for col in cols:
        table.add_column(col, overflow="fold")
    for row in rows[:limit]:
        table.add_row(*[human(row.get(c), c, row) for c in cols])
    console.print(table)
    if len(rows) > limit:
        console.print(f"[dim]… {len(rows) - limit} more rows (use --json for all)[/dim]")


#: Columns holding a share of 0..1, printed as percentages for people (``--json`` keeps the share).
_SHARE_WORDS = ("share", "drop_off", "conversion", "rate", "retention", "churn")
_SHARE_METRICS = ("csat", "csat_low", "csat_high", "csat_target", "ces_easy", "ces_easy_low", "ces_easy_high",
                  "nps_promoters", "nps_detractors")


def _is_share(column: str, row: Mapping[str, Any]) -> bool:
    if column.endswith(("_n", "_customers", "_count")) or column in ("customers", "events", "n"):
        return False
    if column in _SHARE_METRICS or any(word in column for word in _SHARE_WORDS):
        return True
    return column in ("base", "current", "change", "low", "high") and row.get("metric") == "csat"


def human_duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"5.2 h"``, ``"3.1 d"``.

    >>> human_duration(178864)
    '2.1 d'
    """
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:,.1f} {unit}" if unit != "min" else f"{seconds / size:,.0f} min"
    return f"{seconds:,.0f} s"


def human(value: Any, column: str = "", row: Mapping[str, Any] | None = None) -> str:
    """A cell for people: durations as durations, shares as percentages, thousands separated.

    >>> human(0.2814, "conversion_from_start"), human(15392, "customers"), human(55962.0, "median_seconds")
    ('28.1 %', '15,392', '15.5 h')
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and value != value):
        return _fmt(value)
    if "seconds" in column:
        return human_duration(float(value))
    if _is_share(column, row or {}):
        sign = "+" if column == "change" and value > 0 else ""
        return f"{sign}{100 * value:.1f} {'pp' if column == 'change' else '%'}"
    if isinstance(value, int):
        return f"{value:,}"
    return _fmt(value)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return " → ".join(map(str, value))
    return str(value)


def fail(error: JourneyLensError, *, as_json: bool) -> None:
    """Print one error (the HTTP API's shape with --json) and exit with status 2."""
    if as_json:
        sys.stdout.write(to_json(error.to_dict()) + "\n")
    else:
        err_console.print(f"[bold red]error[/bold red] {escape(f'[{error.code}] {error.message}')}")
    raise typer.Exit(code=2)


def guarded(command: Callable[..., None]) -> Callable[..., None]:
    """Wrap a command so a :class:`JourneyLensError` ends it with the one error shape (status 2)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except JourneyLensError as exc:
            fail(exc, as_json=bool(kwargs.get("as_json")))

    return wrapper
