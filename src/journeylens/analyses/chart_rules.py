"""The chart rules of ``docs/charts.md`` as code, so every figure follows them the same way:
axes titled with units, scales that start where the metric's scale starts (NPS −100..100,
CSAT 0..100 %, CES 1..7), time on a real date axis (so annotations can be drawn on it),
incomplete periods drawn hollow, bars ordered by value.

>>> metric_axis("csat")["range"], metric_axis("ces")["title"]["text"]
([0, 1], 'CES (mean, 1–7)')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

#: Axis per built-in metric: title with unit, range = the scale, one number format.
METRIC_AXES: dict[str, dict[str, Any]] = {
    "nps": {"title": {"text": "NPS (−100 to 100)"}, "range": [-100, 100], "tickformat": ",.0f", "zeroline": True},
    "csat": {"title": {"text": "CSAT (% satisfied, 4–5 of 5)"}, "range": [0, 1], "tickformat": ".0%"},
    "ces": {"title": {"text": "CES (mean, 1–7)"}, "range": [1, 7], "tickformat": ",.1f"},
}
SHARE_AXIS: dict[str, Any] = {"range": [0, 1], "tickformat": ".0%"}
COUNT_AXIS: dict[str, Any] = {"tickformat": ",d", "rangemode": "tozero"}
HOLLOW = "circle-open"
#: A split's missing value.
NOT_SET = "not set"


def axis_share(figure: Any, axis: str, *, title: str) -> Any:
    """Make ``axis`` (``"x"`` or ``"y"``) a share axis: 0..100 %, whole-percent ticks, titled."""
    figure.update_layout({f"{axis}axis": {**SHARE_AXIS, "title": {"text": title}}})
    return figure


def axis_count(figure: Any, axis: str, *, title: str) -> Any:
    """Make ``axis`` a count axis: from zero, thousands separators, titled."""
    figure.update_layout({f"{axis}axis": {**COUNT_AXIS, "title": {"text": title}}})
    return figure


def axis_category(figure: Any, axis: str, *, title: str, order: Sequence[str] | None = None) -> Any:
    """A titled category axis, in ``order`` when given (Plotly draws y categories bottom-up,
    so pass them in drawing order)."""
    layout: dict[str, Any] = {"type": "category", "title": {"text": title}}
    if order is not None:
        layout.update(categoryorder="array", categoryarray=list(order))
    figure.update_layout({f"{axis}axis": layout})
    return figure


def metric_axis(metric: str) -> dict[str, Any]:
    """The y axis of ``metric`` (a custom metric gets its name and a free scale)."""
    return dict(METRIC_AXES.get(metric, {"title": {"text": metric}, "tickformat": ",.2f"}))


def date_axis(title: str) -> dict[str, Any]:
    return {"type": "date", "title": {"text": title}}


def _error(values: Sequence[Any], rows: Sequence[Mapping[str, Any]], metric: str) -> dict[str, Any]:
    high = [None if v is None else (r.get(f"{metric}_high") or v) - v for v, r in zip(values, rows, strict=True)]
    low = [None if v is None else v - (r.get(f"{metric}_low") or v) for v, r in zip(values, rows, strict=True)]
    return {"type": "data", "array": high, "arrayminus": low, "thickness": 1}


def _group_name(row: Mapping[str, Any], split: Sequence[str]) -> str:
    return " · ".join("not set" if row.get(d) is None else str(row.get(d)) for d in split) or "all"


def metric_figure(records: Iterable[Mapping[str, Any]], metric: str, *, period: str | None, split: Sequence[str],
                  incomplete: set[str]) -> Any:
    """A line per group over time (``period``), else bars ordered by value."""
    import plotly.graph_objects as go

    from journeylens.analyses.metrics import period_start

    rows = list(records)
    figure = go.Figure()
    if period is None:
        ordered = sorted(rows, key=lambda r: (r.get(metric) is None, -(r.get(metric) or 0)))
        values = [r.get(metric) for r in ordered]
        figure.add_trace(go.Bar(x=[_group_name(r, split) for r in ordered], y=values,
                                error_y=_error(values, ordered, metric),
                                hovertemplate="%{x}: %{y}<extra></extra>"))
        figure.update_layout(xaxis={"title": {"text": ", ".join(split) or ""}, "type": "category"})
        return figure
    keyed = sorted(rows, key=lambda r: (_group_name(r, split), str(r.get(period))))
    for name, group in groupby(keyed, key=lambda r: _group_name(r, split)):
        series = [r for r in group if r.get(period)]
        values = [r.get(metric) for r in series]
        figure.add_trace(go.Scatter(
            x=[period_start(str(r[period]), period).date().isoformat() for r in series], y=values,
            mode="lines+markers", name=name, error_y=_error(values, series, metric),
            customdata=[[r[period], r.get(f"{metric}_n"), "incomplete period" if r[period] in incomplete else ""]
                        for r in series],
            marker={"symbol": [HOLLOW if r[period] in incomplete else "circle" for r in series], "size": 8},
            hovertemplate="%{customdata[0]}: %{y} (n=%{customdata[1]}) %{customdata[2]}<extra>" + name + "</extra>"))
    figure.update_layout(xaxis=date_axis(f"{period} (hollow: incomplete, not tested)"),
                         showlegend=bool(split))
    return figure
