"""Purchase forecasts: expected purchase days, probability of being active, expected value.

Purchases are events of one touchpoint (``purchase``); occasions are counted per UTC day, as
BG/NBD assumes. The per-customer summary (first day, last day, purchase days, mean value of
the repeat days) is aggregated in the warehouse with Ibis; the models
(:mod:`journeylens.models.btyd`) fit on it in days. ``as_of`` cuts the history: only purchases
before it are seen; with ``backtest`` the forecast for ``[as_of, as_of + horizon)`` is
compared with what happened, next to a simple baseline (each customer's own past daily rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from typing_extensions import TypedDict

from journeylens.analyses.result import Result, plain
from journeylens.errors import ParameterError, UnknownNameError
from journeylens.models.btyd import BetaGeoModel, GammaGammaModel
from journeylens.models.features import DAY_SECONDS, before


class PurchaseRow(TypedDict):
    customer_id: str
    expected_purchases: float
    p_alive: float
    expected_value: float | None


@dataclass(frozen=True)
class PurchasesResult(Result):
    """``to_dict()`` → ``[{customer_id, expected_purchases, p_alive, expected_value}]``, most purchases first."""

    title: str = "Purchase forecast"

    def to_dict(self) -> list[PurchaseRow]:  # type: ignore[override]
        return [PurchaseRow(customer_id=r["customer_id"], expected_purchases=r["expected_purchases"],
                            p_alive=r["p_alive"], expected_value=plain(r["expected_value"])) for r in self.records]


@dataclass(frozen=True)
class PurchaseBacktestResult(Result):
    """``to_dict()`` → ``{as_of, horizon_days, customers, actual_total, model: {...}, baseline: {...}}``."""

    title: str = "Purchase backtest"

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return dict(plain(dict(self.params)))


def _value_expr(events: ir.Table, value_property: str | None) -> ir.FloatingValue:
    if value_property is None:
        return ibis.null("float64")
    pattern = r'"' + value_property.replace('"', "") + r'"\s*:\s*"?(-?[0-9]+(?:\.[0-9]+)?)'
    return events.properties.re_extract(pattern, 1).nullif("").cast("float64")


def purchase_days(events: ir.Table, purchase: str, value_property: str | None) -> ir.Table:
    """``customer_id, day, value``: one row per customer and UTC day with a purchase."""
    bought = events.filter((events.touchpoint == purchase) & events.customer_id.notnull())
    bought = bought.mutate(day=(bought.timestamp.epoch_seconds() // DAY_SECONDS).cast("int64"),
                           _value=_value_expr(bought, value_property))
    return bought.group_by(["customer_id", "day"]).aggregate(value=bought._value.sum())


def summary(days: ir.Table, as_of_day: int) -> pd.DataFrame:
    """``frequency, recency, T, monetary`` (days) per customer from purchase days before ``as_of_day``."""
    seen = days.filter(days.day < as_of_day)
    first = seen.group_by("customer_id").aggregate(first=seen.day.min())
    marked = seen.join(first, "customer_id")
    repeat = marked.filter(marked.day > marked.first)
    agg = marked.group_by("customer_id").aggregate(first=marked.first.min(), last=marked.day.max(), n=marked.count())
    money = repeat.group_by("customer_id").aggregate(monetary=repeat.value.mean())
    out = agg.left_join(money, "customer_id").drop("customer_id_right").to_pandas().set_index("customer_id").sort_index()
    return pd.DataFrame({"frequency": out["n"] - 1, "recency": out["last"] - out["first"],
                         "T": as_of_day - out["first"], "monetary": out["monetary"]}).astype(float)


def _forecast(history: pd.DataFrame, horizon_days: int, with_value: bool) -> pd.DataFrame:
    bg = BetaGeoModel().fit(history["frequency"], history["recency"], history["T"])
    out = pd.DataFrame(index=history.index)
    out["expected_purchases"] = bg.expected_purchases(horizon_days, history["frequency"], history["recency"], history["T"])
    out["p_alive"] = bg.p_alive(history["frequency"], history["recency"], history["T"])
    out["expected_value"] = np.nan
    if with_value:
        gg = GammaGammaModel().fit(history["frequency"], history["monetary"])
        out["expected_value"] = out["expected_purchases"] * gg.expected_value(history["frequency"], history["monetary"])
    out.attrs["bgnbd"] = dict(zip(("r", "alpha", "a", "b"), bg.params_.tolist(), strict=True))
    return out


def predict_purchases(events: ir.Table, *, purchase: str, value_property: str | None = None,
                      as_of: datetime | None = None, horizon_days: int = 90,
                      backtest: bool = False) -> PurchasesResult | PurchaseBacktestResult:
    """Expected purchase days in the next ``horizon_days`` per customer who bought before ``as_of``."""
    if horizon_days < 1:
        raise ParameterError(f"horizon_days must be ≥ 1, got {horizon_days}.")
    if backtest and as_of is None:
        raise ParameterError("A backtest needs --as-of DATE: purchases before it are seen, after it are scored.")
    known = events.filter(events.touchpoint == purchase).count().to_pyarrow().as_py()
    if not known:
        top = events.group_by("touchpoint").aggregate(n=events.count()).order_by(ibis.desc("n")).limit(30)
        names = [str(v) for v in top.to_pandas()["touchpoint"]]
        raise UnknownNameError(f"No event of touchpoint {purchase!r}; touchpoints include: {', '.join(names)}.",
                               details={"available": names})
    days = purchase_days(events, purchase, value_property)
    last = before(events, None).timestamp.max().to_pyarrow().as_py()
    cut = as_of or (last + timedelta(seconds=1))
    cut_day = int(pd.Timestamp(cut).timestamp() // DAY_SECONDS)
    history = summary(days, cut_day)
    forecast = _forecast(history, horizon_days, value_property is not None)
    params: dict[str, Any] = {"purchase": purchase, "as_of": cut, "horizon_days": horizon_days,
                              "customers": len(history), "bgnbd": forecast.attrs["bgnbd"],
                              "method": "BG/NBD (purchase days) and Gamma-Gamma (value), maximum likelihood"}
    if backtest:
        return _backtest(days, history, forecast, cut_day, horizon_days, params)
    rows = [{"customer_id": str(cid), "expected_purchases": float(r.expected_purchases), "p_alive": float(r.p_alive),
             "expected_value": None if np.isnan(r.expected_value) else float(r.expected_value)}
            for cid, r in forecast.sort_values("expected_purchases", ascending=False).iterrows()]
    return PurchasesResult(records=tuple(rows), params=params)


def _errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {"mae": float(np.mean(np.abs(actual - predicted))),
            "rmse": float(np.sqrt(np.mean((actual - predicted) ** 2))),
            "total_predicted": float(predicted.sum()),
            "correlation": float(np.corrcoef(actual, predicted)[0, 1]) if actual.std() > 0 else float("nan")}


def _backtest(days: ir.Table, history: pd.DataFrame, forecast: pd.DataFrame, cut_day: int, horizon_days: int,
              params: dict[str, Any]) -> PurchaseBacktestResult:
    window = days.filter((days.day >= cut_day) & (days.day < cut_day + horizon_days))
    actual = window.group_by("customer_id").aggregate(n=window.count()).to_pandas().set_index("customer_id")["n"]
    y = actual.reindex(history.index).fillna(0).to_numpy(dtype=float)
    rate = (history["frequency"] / history["T"].where(history["T"] > 0)).fillna(0).to_numpy()
    return PurchaseBacktestResult(records=(), params={
        **params, "actual_total": float(y.sum()),
        "model": _errors(y, forecast["expected_purchases"].to_numpy()),
        "baseline": "each customer's past repeat-purchase days per day × horizon",
        "baseline_scores": _errors(y, rate * horizon_days)})
