"""The aggregated path format many attribution tools exchange: one row per distinct path.

Columns (names configurable): ``path`` (channels joined by ``sep``, e.g. ``a > b > c``),
``conversions`` (how many journeys on that path converted), optionally ``value`` (their total
value) and ``nulls`` (how many did not convert). Rows that cannot be used are quarantined, one
per row with its reason, and the good rows are kept: an empty path, a count that is not a
non-negative number, a row with neither conversions nor nulls, and — when ``known_channels``
is given — a path naming a channel outside that list.

>>> import pandas as pd
>>> read = read_paths(pd.DataFrame({"path": ["a > b", "b", ""], "conversions": [2, 1, 1], "nulls": [1, 0, 0]}))
>>> read.touches.labels, read.touches.conversions.tolist(), [r["reason"] for r in read.rejected]
(('a', 'b'), [2.0, 1.0], ['empty path'])
"""

from __future__ import annotations

import io
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from journeylens.analyses.marketing.attribution import (
    AttributionResult,
    AttributionRowShape,
    ModelSettings,
    attribute,
)
from journeylens.analyses.marketing.touches import Touches
from journeylens.analyses.result import plain
from journeylens.errors import InputError, MissingColumnsError, ParameterError


@dataclass(frozen=True)
class PathFile:
    """The usable rows as :class:`Touches`, and the rejected rows ``{row, path, reason}``."""

    touches: Touches
    rejected: Sequence[Mapping[str, Any]]


def _count(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
        return 0.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if value >= 0 and math.isfinite(value) else None


PARQUET_MAGIC = b"PAR1"


def _load(source: str | Path | bytes | pd.DataFrame, *, delimiter: str | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, bytes):
        return _from_bytes(source, delimiter=delimiter)
    path = Path(source)
    if not path.exists():
        raise InputError(f"No such paths file: {path}.")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep=delimiter or ",", dtype=str, keep_default_na=False)


def _from_bytes(data: bytes, *, delimiter: str | None) -> pd.DataFrame:
    """An uploaded paths table: Parquet (recognised by its magic bytes) or UTF-8 CSV."""
    if not data.strip():
        raise InputError("The paths upload is empty: send a CSV or Parquet table with a path column.")
    try:
        if data[:4] == PARQUET_MAGIC:
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.StringIO(data.decode("utf-8-sig")), sep=delimiter or ",", dtype=str,
                           keep_default_na=False)
    except UnicodeDecodeError as exc:
        raise InputError(f"The paths upload is neither Parquet nor UTF-8 CSV ({exc.reason} at byte {exc.start}).") \
            from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InputError(f"The paths upload could not be read as CSV or Parquet: {exc}") from None


def read_paths(source: str | Path | bytes | pd.DataFrame, *, path_col: str = "path", conversions_col: str = "conversions",
               value_col: str | None = None, null_col: str | None = None, sep: str = ">",
               known_channels: Collection[str] | None = None, delimiter: str | None = None) -> PathFile:
    """Read an aggregated paths table: a CSV or Parquet file, its bytes (an upload), or a DataFrame."""
    if not sep:
        raise ParameterError(f"sep separates the channels of a path (for example '>'); got {sep!r}.")
    if delimiter is not None and len(delimiter) != 1:
        raise ParameterError(f"delimiter is the one character between CSV columns (for example ','); got {delimiter!r}.")
    frame = _load(source, delimiter=delimiter)
    if value_col is None and "value" in frame.columns:
        value_col = "value"
    if null_col is None and "nulls" in frame.columns:
        null_col = "nulls"
    wanted = [c for c in (path_col, conversions_col, value_col, null_col) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise MissingColumnsError(f"The paths table lacks column(s) {', '.join(missing)}; it has "
                                  f"{', '.join(map(str, frame.columns))}.", details={"missing": missing})
    paths: list[list[str]] = []
    conv: list[float] = []
    value: list[float] = []
    nulls: list[float] = []
    rejected: list[dict[str, Any]] = []
    for i, row in enumerate(frame.to_dict(orient="records"), start=1):
        text = "" if row[path_col] is None else str(row[path_col])
        steps = [s.strip() for s in text.split(sep)] if text.strip() else []
        counts = [_count(row[c]) if c else 0.0 for c in (conversions_col, value_col, null_col)]
        reason = None
        if not steps or any(not s for s in steps):
            reason = "empty path" if not steps else f"empty channel between {sep!r} separators"
        elif any(c is None for c in counts):
            bad = [c for c, v in zip((conversions_col, value_col, null_col), counts, strict=True) if v is None]
            reason = f"{', '.join(str(b) for b in bad)} not a non-negative number"
        elif known_channels is not None and (unknown := sorted(set(steps) - set(known_channels))):
            reason = f"unknown channel(s): {', '.join(unknown)}"
        elif not (counts[0] or counts[2]):
            reason = "no conversions and no nulls"
        if reason:
            rejected.append({"row": i, "path": text, "reason": reason})
            continue
        c, v, n = (float(x or 0.0) for x in counts)
        paths.append(steps)
        conv.append(c)
        value.append(v)
        nulls.append(n)
    if not paths:
        raise InputError("No usable row in the paths table.", details={"rejected": rejected[:20]})
    return PathFile(Touches.from_paths(paths, conversions=conv, value=value, nulls=nulls), tuple(rejected))


class RejectedPathShape(BaseModel):
    """A row of the paths table that could not be used: its 1-based ``row``, ``path`` and ``reason``."""

    row: int
    path: str
    reason: str


class PathAttributionShape(BaseModel):
    """The JSON of :meth:`PathAttribution.to_dict` (the upload route's response model)."""

    rows: list[AttributionRowShape]
    rejected: list[RejectedPathShape]
    summary: dict[str, float]
    removal_effects: dict[str, float]


@dataclass(frozen=True)
class PathAttribution:
    """Attribution of an aggregated paths table, with the rows it had to reject."""

    result: AttributionResult
    rejected: Sequence[Mapping[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return plain({"rows": self.result.to_dict(), "rejected": [dict(r) for r in self.rejected],
                      "summary": dict(self.result.summary), "removal_effects": dict(self.result.removal_effects)})


def paths_attribution(source: str | Path | bytes | pd.DataFrame, *, models: str | Sequence[str] | None = None,
                      by: str = "channel", settings: ModelSettings = ModelSettings(), path_col: str = "path",
                      conversions_col: str = "conversions", value_col: str | None = None,
                      null_col: str | None = None, sep: str = ">", known_channels: Collection[str] | None = None,
                      delimiter: str | None = None, source_name: str | None = None) -> PathAttribution:
    """Every model on an aggregated paths table (the CLI's ``--paths`` and ``POST /v1/attribution/paths``)."""
    read = read_paths(source, path_col=path_col, conversions_col=conversions_col, value_col=value_col,
                      null_col=null_col, sep=sep, known_channels=known_channels, delimiter=delimiter)
    name = source_name or (str(source) if isinstance(source, (str, Path)) else "upload")
    result = attribute(read.touches, models=models, by=by, settings=settings,
                       params={"paths": name, "rejected": len(read.rejected)})
    return PathAttribution(result, read.rejected)
