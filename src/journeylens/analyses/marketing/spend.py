"""Spend and return: cost per acquisition, return on ad spend, marginal return, budget what-ifs.

The ``spend`` table (``channel``, ``date``, ``amount``, optional ``currency`` and ``campaign``)
meets the attribution of :mod:`.attribution`:

* When the spend rows name campaigns, touches are keyed by the events' ``campaign`` property
  and each campaign rolls up to its spend channel (``by="channel"``) or stays itself
  (``by="campaign"``). Without campaigns, touches are keyed by the event channel.
* Conversion value: ``value_property`` on the conversion event, else the customer's
  ``customers.revenue`` (credited to their first conversion), else 0.
* Per unit and model: spend, conversions, value, CPA = spend / conversions, ROAS = value / spend;
  per period (the conversion's period for credit, the spend date for spend).
* Several currencies need ``rates`` (currency → multiplier into the reporting currency);
  without them the call fails naming the currencies.
* Spend whose channel or campaign never appears on a touch is reported in ``unmatched_spend``
  (its conversions are invisible to journey-level attribution), never dropped.

See :mod:`.response` for the marginal return and the what-if.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from journeylens.analyses.marketing import response
from journeylens.analyses.marketing.attribution import (
    MODELS,
    ModelSettings,
    model_credit,
    parse_models,
)
from journeylens.analyses.marketing.paths import build_touches, period_labels
from journeylens.analyses.marketing.touches import DIRECT, Touches, UniquePaths
from journeylens.analyses.result import plain
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

NOTES: tuple[str, ...] = (
    "Journey-level attribution only sees tracked touches: TV, radio, print, outdoor and word of mouth "
    "reach people without a click or a logged event, so their effect lands on 'direct / none' or on "
    "the channels they prompted (often search).",
    "Credit is not causal lift: a channel that reaches people who would have converted anyway still gets credit.",
    "A marketing-mix model (regression of sales on spend over time, with carry-over and saturation) is the "
    "right tool for untracked channels, for long-term brand effects and for setting total budgets; "
    "attribution is the right tool for comparing tracked channels and campaigns within a budget.",
)


def parse_shifts(values: Sequence[str]) -> tuple[response.Shift, ...]:
    """``FROM:TO:PERCENT`` strings → shifts."""
    out = []
    for text in values:
        parts = text.rsplit(":", 2)
        try:
            out.append(response.Shift(parts[0], parts[1], float(parts[2])))
        except (IndexError, ValueError):
            raise ParameterError(f"A shift is FROM:TO:PERCENT, e.g. tv:paid_search:10; got {text!r}.") from None
        if not 0 < out[-1].percent <= 100:
            raise ParameterError(f"A shift's percent must be in (0, 100]; got {text!r}.")
    return tuple(out)


def parse_rates(values: Sequence[str]) -> dict[str, float]:
    """``CURRENCY=RATE`` strings → rates."""
    rates = {}
    for text in values:
        name, _, raw = text.partition("=")
        try:
            rates[name.strip()] = float(raw)
        except ValueError:
            raise ParameterError(f"A rate is CURRENCY=NUMBER, e.g. USD=0.79; got {text!r}.") from None
    return rates


def spend_frame(spend: ir.Table, rates: Mapping[str, float] | None) -> tuple[pd.DataFrame, str]:
    """Spend rows with ``amount`` in one currency; the currency's name."""
    frame = spend.select("channel", "date", "amount", "currency", "campaign").to_pandas()
    frame = frame.sort_values(["channel", "date", "campaign", "currency", "amount"], kind="stable",
                              ignore_index=True)  # float sums alike every run, whatever order the engine gave
    frame = frame[frame["amount"].notna() & frame["channel"].notna() & frame["date"].notna()]
    currencies = sorted({c for c in frame["currency"].dropna().unique()})
    if rates:
        missing = [c for c in currencies if c not in rates]
        if missing or frame["currency"].isna().any():
            named = missing + (["(none)"] if frame["currency"].isna().any() else [])
            raise ParameterError(f"No exchange rate for currency {', '.join(named)}; give --rate CURRENCY=RATE "
                                 "for each.", code="mixed_currencies", details={"currencies": named})
        frame = frame.assign(amount=frame["amount"] * frame["currency"].map(rates))
        return frame, "reporting currency"
    if len(currencies) > 1:
        raise ParameterError(f"The spend table mixes currencies {', '.join(currencies)}; give a rate for each "
                             "(--rate CURRENCY=RATE) to report in one.", code="mixed_currencies",
                             details={"currencies": currencies})
    return frame, currencies[0] if currencies else ""


class SpendRow(BaseModel):
    """One row of a spend-return table: its columns are scalars (unit, period, spend, value, roas, cpa…)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, bool | int | float | str | None]


class SpendReturnShape(BaseModel):
    """The JSON shape of :meth:`SpendReturnResult.to_dict` (the HTTP route's response model)."""

    model_config = ConfigDict(extra="forbid")
    model: str
    by: str
    period: str
    currency: str
    totals: list[SpendRow]
    by_model: list[SpendRow]
    periods: list[SpendRow]
    marginal: list[SpendRow]
    what_if: list[SpendRow]
    unmatched_spend: list[SpendRow]
    notes: list[str]


@dataclass(frozen=True, repr=False)
class SpendReturnResult:
    """See :func:`spend_return`; ``to_dict()`` has ``totals``, ``by_model``, ``periods``,
    ``marginal``, ``what_if``, ``unmatched_spend`` and ``notes``."""

    model: str
    by: str
    period: str
    currency: str
    totals: Sequence[Mapping[str, Any]]
    by_model: Sequence[Mapping[str, Any]]
    periods: Sequence[Mapping[str, Any]]
    marginal: Sequence[Mapping[str, Any]]
    what_if: Sequence[Mapping[str, Any]]
    unmatched_spend: Sequence[Mapping[str, Any]]
    notes: Sequence[str] = NOTES
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return plain({"model": self.model, "by": self.by, "period": self.period, "currency": self.currency,
                      "totals": [dict(r) for r in self.totals], "by_model": [dict(r) for r in self.by_model],
                      "periods": [dict(r) for r in self.periods], "marginal": [dict(r) for r in self.marginal],
                      "what_if": [dict(r) for r in self.what_if],
                      "unmatched_spend": [dict(r) for r in self.unmatched_spend], "notes": list(self.notes)})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self.totals])

    def figure(self) -> Any:
        """Top: spend and attributed value per unit (ROAS as text). Bottom: CPA per period."""
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=2, cols=1, vertical_spacing=0.18,
                            subplot_titles=(f"Spend and attributed value by {self.by} ({self.model})",
                                            f"Cost per acquisition by {self.period}"))
        rows = [r for r in self.totals if r["spend"]]
        x = [r["unit"] for r in rows]
        fig.add_trace(go.Bar(name="spend", x=x, y=[r["spend"] for r in rows]), row=1, col=1)
        fig.add_trace(go.Bar(name="attributed value", x=x, y=[r["value"] for r in rows],
                             text=[f"ROAS {r['roas']:.2f}" if r["roas"] is not None else "" for r in rows]), row=1, col=1)
        for unit in x:
            points = [p for p in self.periods if p["unit"] == unit and p["cpa"] is not None]
            fig.add_trace(go.Scatter(name=f"CPA {unit}", x=[p["period"] for p in points], y=[p["cpa"] for p in points],
                                     mode="lines+markers"), row=2, col=1)
        fig.update_layout(barmode="group")
        fig.update_yaxes(title_text=self.currency, row=1, col=1)
        fig.update_yaxes(title_text=f"{self.currency} per conversion", type="log", row=2, col=1)
        return fig

    def __repr__(self) -> str:
        return f"SpendReturnResult({self.model}, by={self.by}, {len(self.totals)} units)"


def _roll_up(labels: Sequence[str], credit: np.ndarray, units: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for label, value in zip(labels, credit.tolist(), strict=True):
        unit = units.get(label, label)
        out[unit] = out.get(unit, 0.0) + value
    return out


def _unit_rows(spend_by_unit: Mapping[str, float], conv: Mapping[str, float], value: Mapping[str, float],
               **extra: Any) -> list[dict[str, Any]]:
    rows = []
    for unit in sorted(set(spend_by_unit) | set(conv)):
        s, c, v = spend_by_unit.get(unit, 0.0), conv.get(unit, 0.0), value.get(unit, 0.0)
        rows.append({**extra, "unit": unit, "spend": s, "conversions": c, "value": v,
                     "cpa": s / c if s > 0 and c > 0 else None, "roas": v / s if s > 0 else None})
    return rows


@dataclass(frozen=True)
class _Part:
    """One period's journeys (and their distinct paths, shared by every bootstrap draw)."""

    index: int
    rows: np.ndarray
    touches: Touches
    paths: UniquePaths | None


def _period_parts(t: Touches, periods: Sequence[str], model: str) -> list[_Part]:
    assert t.period is not None
    parts = []
    for k, p in enumerate(periods):
        rows = np.flatnonzero(t.period == p)
        if len(rows):
            part = t.subset(t.period == p)
            parts.append(_Part(k, rows, part, part.unique_paths() if model == "markov" else None))
    return parts


def _period_credit(parts: Sequence[_Part], model: str, settings: ModelSettings, units: Mapping[str, str],
                   n_periods: int, weights: np.ndarray | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Conversions and value per unit, per period (arrays of ``n_periods``)."""
    conv: dict[str, np.ndarray] = {}
    value: dict[str, np.ndarray] = {}
    for part_info in parts:
        k = part_info.index
        part = part_info.touches if weights is None else part_info.touches.reweighted(weights[part_info.rows])
        if part.conversions.sum() <= 0:
            continue
        c, v, _, _ = model_credit(part, model, settings, part_info.paths)
        for unit, x in _roll_up(part.labels, c, units).items():
            conv.setdefault(unit, np.zeros(n_periods))[k] = x
        for unit, x in _roll_up(part.labels, v, units).items():
            value.setdefault(unit, np.zeros(n_periods))[k] = x
    return conv, value


def _curves(spend_pp: Mapping[str, np.ndarray], conv: Mapping[str, np.ndarray],
            value: Mapping[str, np.ndarray]) -> dict[str, response.Curve]:
    curves = {}
    for unit, s in spend_pp.items():
        fitted = response.fit_curve(s, conv.get(unit, np.zeros_like(s)), value.get(unit, np.zeros_like(s)))
        if fitted is not None:
            curves[unit] = fitted
    return curves


def _period_rows(periods: Sequence[str], spend_pp: Mapping[str, np.ndarray], conv_pp: Mapping[str, np.ndarray],
                 value_pp: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    rows = []
    zero = np.zeros(len(periods))
    for k, p in enumerate(periods):
        for u in sorted(set(spend_pp) | set(conv_pp)):
            s, c, v = (float(x.get(u, zero)[k]) for x in (spend_pp, conv_pp, value_pp))
            rows.append({"period": p, "unit": u, "spend": s, "conversions": c, "value": v,
                         "cpa": s / c if s > 0 and c > 0 else None, "roas": v / s if s > 0 else None})
    return rows


def _unmatched(spend_by_unit: Mapping[str, float], labels: Sequence[str], units: Mapping[str, str],
               key: str) -> list[dict[str, Any]]:
    """Spend units no touch ever carried (their effect is invisible to journey-level attribution)."""
    seen = {units.get(label, label) for label in labels}
    return [{"unit": u, "spend": s, "reason": f"no touch carries this {key}"}
            for u, s in sorted(spend_by_unit.items()) if u not in seen]


def spend_return(events: ir.Table, spend: ir.Table, *, model: str = "markov", by: str = "channel",
                 period: str = "month", conversion: str | None = None, value_property: str | None = None,
                 lookback_days: float = 0, shifts: Sequence[response.Shift] = (),
                 rates: Mapping[str, float] | None = None, bootstrap: int = 100, seed: int = 0,
                 definition: JourneyDefinition | None = None, customers: ir.Table | None = None,
                 filters: Filters | None = None, settings: ModelSettings = ModelSettings()) -> SpendReturnResult:
    """Return on spend per channel or campaign under ``model`` (and every other model in ``by_model``)."""
    if by not in ("channel", "campaign"):
        raise ParameterError(f"Unknown by {by!r}; allowed: channel, campaign.")
    parse_models([model])
    frame, currency = spend_frame(spend, rates)
    if frame.empty:
        raise ParameterError("The spend table is empty: ingest spend rows (channel, date, amount) first.")
    has_campaigns = frame["campaign"].notna().any()
    key = "campaign" if has_campaigns else "channel"
    if by == "campaign" and not has_campaigns:
        raise ParameterError("The spend table names no campaigns; use by=channel.")
    frame["unit"] = frame[by] if by == "campaign" else frame["channel"]
    units: dict[str, str] = ({str(c): str(ch) for c, ch in frame.groupby("campaign")["channel"].agg(
        lambda s: s.mode().iat[0]).items()} if has_campaigns and by == "channel" else {})
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    revenue = None
    if value_property is None and customers is not None and "revenue" in customers.columns:
        revenue = customers.select("customer_id", value=customers.revenue)
    t = build_touches(events, by=key, conversion=conversion, definition=definition, lookback_days=lookback_days,
                      value_property=value_property, period=period, customer_values=revenue)
    seconds = pd.to_datetime(frame["date"], utc=True).dt.tz_localize(None).to_numpy().astype("datetime64[s]")
    frame["period"] = period_labels(seconds.astype(np.int64), period)
    spend_by_unit: dict[str, float] = {str(k): float(v) for k, v in frame.groupby("unit")["amount"].sum().items()}
    all_models = (*tuple(m for m in MODELS if m != "shapley"), "shapley")
    by_model = []
    for name in all_models:
        c, v, _, _ = model_credit(t, name, settings)
        by_model += _unit_rows(spend_by_unit, _roll_up(t.labels, c, units), _roll_up(t.labels, v, units), model=name)
    totals = [{k: v for k, v in r.items() if k != "model"} for r in by_model if r["model"] == model]
    assert t.period is not None
    periods: list[str] = sorted({str(p) for p in t.period.tolist()} | {str(p) for p in frame["period"]})
    parts = _period_parts(t, periods, model)
    conv_pp, value_pp = _period_credit(parts, model, settings, units, len(periods))
    spend_pp: dict[str, np.ndarray] = {str(u): g.groupby("period")["amount"].sum().reindex(periods, fill_value=0.0).to_numpy()
                for u, g in frame.groupby("unit")}
    period_rows = _period_rows(periods, spend_pp, conv_pp, value_pp)
    curves = _curves(spend_pp, conv_pp, value_pp)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(bootstrap):
        w = rng.poisson(1.0, t.n_journeys).astype(np.float64)
        c_b, v_b = _period_credit(parts, model, settings, units, len(periods), w)
        draws.append(_curves(spend_pp, c_b, v_b))
    marginal = response.marginal_rows(curves, draws)
    chosen = list(shifts)
    if not chosen and len(marginal) >= 2:
        chosen = [response.Shift(marginal[-1]["unit"], marginal[0]["unit"], 10.0)]
    what_if = [response.what_if_row(curves, draws, s, period, currency) for s in chosen]
    unmatched = _unmatched(spend_by_unit, t.labels, units, key)
    notes = list(NOTES)
    rising = [r["unit"] for r in marginal if r["elasticity"] > 1]
    if rising:
        notes.append(f"Elasticity above 1 ({', '.join(rising)}) would mean increasing returns; more often spend "
                     "followed demand (budgets grown with the business) — a confounder a marketing-mix model "
                     "with controls handles and this curve does not.")
    params = {"model": model, "by": by, "period": period, "conversion": conversion, "bootstrap": bootstrap,
              "touch_key": key, "direct_label": DIRECT, "filters": filters.to_dict() if filters is not None else {}}
    return SpendReturnResult(model=model, by=by, period=period, currency=currency, totals=totals, by_model=by_model,
                             periods=period_rows, marginal=marginal, what_if=what_if, unmatched_spend=unmatched,
                             notes=tuple(notes), params=replace(settings).__dict__ | params)
