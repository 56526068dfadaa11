"""The base of every analysis result: compute once, render many.

A result holds plain rows (``records``) plus parameters. Surfaces render it:
``to_dict()`` is exactly what ``--json`` and the HTTP API return, ``to_frame()`` is for
notebooks, ``figure()`` gives a Plotly figure, ``_repr_html_`` shows a table in Jupyter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd


def plain(value: Any) -> Any:
    """Convert numpy/pandas/arrow scalars to JSON-friendly Python values (NaN → None)."""
    if value is None:
        return None
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain(value.tolist())
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def records_from_frame(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


@dataclass(frozen=True)
class Result:
    """Rows plus the parameters that produced them."""

    records: Sequence[Mapping[str, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""

    def to_dict(self) -> Any:
        """The documented JSON shape (a list of row objects unless a subclass says otherwise)."""
        return [plain(dict(r)) for r in self.records]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self.records])

    def figure(self) -> Any:
        """A Plotly figure; subclasses draw something better than a table."""
        import plotly.graph_objects as go

        frame = self.to_frame()
        return go.Figure(data=[go.Table(header={"values": list(frame.columns)},
                                        cells={"values": [frame[c] for c in frame.columns]})])

    def __len__(self) -> int:
        return len(self.records)

    def _repr_html_(self) -> str:
        head = f"<b>{self.title}</b>" if self.title else ""
        return head + self.to_frame().head(50).to_html(index=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.records)} rows, params={dict(self.params)!r})"
