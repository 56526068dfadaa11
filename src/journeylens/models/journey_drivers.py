"""Journey drivers: what customers experienced against an outcome, in the outcome's unit.

One row per customer (:func:`~journeylens.models.features.journey_features` and
:mod:`~journeylens.models.experience`): touchpoints visited (0/1, the most visited ones,
churn-stage touchpoints left out), channel switches, switches into the contact channel,
online-then-call visits (``contact_switches_in_episode``, 0/1: a switch into the contact
channel inside one episode), repeat contacts (two contacts on the contact channel within
``repeat_window_days``, 0/1), contact episodes, CSAT at each of the most-answered touchpoints
(the nearest response) and days to reach each funnel step. A customer without a CSAT answer
about a touchpoint, or who never reached a step, has no value there: it gets the median of
those who have one **and** a 0/1 missing indicator (``csat_<tp>_missing``,
``days_to_<step>_missing``), so the effect of the value is estimated among those who have one
and the missing ones get their own level (ADR 0090; ``missing="mean"`` keeps the older mean
fill without indicators, for comparison). Drop-offs (0/1: reached the step, never a later one; default
funnel: the definition's stages up to the one after conversion, none for churn, which is judged
among converted customers). The outcome per customer:
NPS as +100 / 0 / −100 from the latest answer (so a mean is an NPS), churn or conversion as
0 / 100 (percentage points), CSAT/CES or a metric as the customer's mean. Each driver gets

* **importance**: its share of the explained variance (:class:`~journeylens.models.importance.DriverImportance`);
* **effect**: the coefficient of a linear model of the outcome on all drivers together —
  adjusted for the others — with a heteroscedasticity-robust (HC1) 95 % interval;
* **a sentence**: "customers with repeat contacts: NPS −18 (−23 to −13), adjusted for the other drivers".

The comparison is observational: read an effect as association after adjustment, not proof of cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from journeylens.analyses.cohorts import customer_outcomes
from journeylens.analyses.metrics import MetricSpec, metric_value, select_respondents
from journeylens.errors import UnknownNameError
from journeylens.models.churn_result import label
from journeylens.models.drivers import DriversResult, driver_rows
from journeylens.models.experience import (
    churn_stages,
    funnel_progress,
    resolve_funnel,
    touchpoint_csat,
)
from journeylens.models.features import (
    FeatureSpec,
    churn_touchpoints,
    frame_by_customer,
    journey_features,
    slug,
    top_values,
)
from journeylens.models.importance import DriverImportance

BASE_DRIVERS = ("channel_switches", "switches_to_contact", "contact_switches_in_episode", "repeat_contacts",
                "episodes")
BINARY_COUNTS = ("repeat_contacts", "contact_switches_in_episode")  # counted in the warehouse, used as 0/1
MISSING = ("indicator", "mean")
#: Ordinal scales of the outcomes the what-if models as ordered categories.
SCALES = {"nps": (0, 10), "csat": (1, 5)}
TOUCHPOINT_DRIVERS = 8
UNITS = {"nps": "points", "churn": "pts", "conversion": "pts"}


def _outcome(events: ir.Table, feedback: ir.Table, target: str, definition: Any,
             customers: ir.Table | None, ordinal: bool = False) -> pd.Series:
    """Per customer: churn/conversion as 0/100, NPS as +100/0/−100 from the latest answer, other
    metrics as the mean; with ``ordinal`` the latest NPS or CSAT answer itself (0-10, 1-5)."""
    if target in ("churn", "conversion"):
        out = customer_outcomes(events.filter(events.customer_id.notnull()), definition, customers)
        if target == "churn" and definition is not None and definition.outcomes.conversion:
            out = out.filter(out.converted)  # a prospect who never became a customer cannot churn
        col = "churned" if target == "churn" else "converted"
        return frame_by_customer(out.select("customer_id", y=out[col].cast("float64") * 100))["y"]
    answers = select_respondents(feedback, "customer")
    answers = answers.mutate(_v=metric_value(answers, MetricSpec.parse(target)))
    answers = answers.filter(answers._v.notnull() & answers.customer_id.notnull())
    if target == "nps" or ordinal:
        order = [ibis.desc(answers[c]) for c in ("timestamp", "_seq", "response_id") if c in answers.columns]
        ranked = answers.mutate(_r=ibis.row_number().over(group_by="customer_id", order_by=order))
        last = ranked.filter(ranked._r == 0)
        if ordinal:
            return frame_by_customer(last.select("customer_id", y=last._v.cast("float64").round()))["y"]
        coded = (last._v >= 9).cast("float64") * 100 - (last._v <= 6).cast("float64") * 100
        return frame_by_customer(last.select("customer_id", y=coded))["y"]
    return frame_by_customer(answers.group_by("customer_id").aggregate(y=answers._v.mean()))["y"]


def _sentence(name: str, effect: float, low: float, high: float, binary: bool, target: str, unit: str) -> str:
    step = name.split("_", 1)[-1].replace("_", " ")
    if name.endswith("_missing"):
        what = f"customers without {label(name[:-len('_missing')])}"
    elif name.startswith("tp_"):
        what = f"customers who reached {step}"
    elif name.startswith("dropoff_"):
        what = f"customers who dropped off at {step}"
    elif name.startswith("csat_"):
        what = f"each CSAT point more at {step}"
    elif name.startswith("days_to_"):
        what = f"each day more to reach {name[len('days_to_'):].replace('_', ' ')}"
    elif binary:
        what = f"customers with {label(name)}"
    else:
        what = f"each one more of {label(name)}"
    name_shown = target.upper() if target in ("nps", "csat", "ces") else target
    return f"{what}: {name_shown} {effect:+.1f} {unit} ({low:+.1f} to {high:+.1f}), adjusted for the other drivers."


def _usable(X: pd.DataFrame, chosen: list[str], explicit: bool) -> tuple[list[str], list[str]]:
    """Drop constant drivers and later members of collinear groups (named in the method)."""
    keep: list[str] = []
    dropped: list[str] = []
    for name in chosen:
        trial = X[[*keep, name]].dropna()
        if trial[name].std() == 0 or (keep and np.linalg.matrix_rank(trial.to_numpy() - trial.mean().to_numpy())
                                      < len(keep) + 1):
            dropped.append(name)
        else:
            keep.append(name)
    if explicit and dropped:
        from journeylens.errors import DegenerateDataError

        raise DegenerateDataError(f"Constant or perfectly collinear drivers: {', '.join(dropped)}.",
                                  details={"degenerate": dropped})
    return keep, dropped


@dataclass(frozen=True)
class ExperienceFrame:
    """Customer drivers plus what the what-if needs: who reached each funnel step (the customers
    a drop-off change can move) and what was imputed."""

    features: pd.DataFrame
    available: list[str]
    excluded: list[str]
    reached: dict[str, pd.Series]
    notes: list[str]


def _fill(feats: pd.DataFrame, names: list[str], missing: str) -> list[str]:
    """Fill gaps in ``names`` (median + a 0/1 ``<name>_missing`` column, or the mean); the indicators made."""
    made = []
    for name in names:
        gaps = feats[name].isna()
        if missing == "mean":
            feats[name] = feats[name].fillna(feats[name].mean())
            continue
        feats[name] = feats[name].fillna(feats[name].median())
        if gaps.any() and not gaps.all():
            feats[f"{name}_missing"] = gaps.astype(float)
            made.append(f"{name}_missing")
    return made


def _feature_frame(events: ir.Table, feedback: ir.Table | None, definition: Any, repeat_window_days: float,
                   funnel: Sequence[str] | None = None, target: str = "nps", missing: str = "indicator",
                   ) -> ExperienceFrame:
    """Customer features as drivers (0/1 for touchpoints reached, repeat contacts and drop-offs)."""
    if missing not in MISSING:
        from journeylens.errors import ParameterError

        raise ParameterError(f"missing must be one of {', '.join(MISSING)}, got {missing!r}.")
    excluded = churn_touchpoints(events, definition)
    spec = FeatureSpec(repeat_window_days=repeat_window_days,
                       touchpoints=top_values(events, "touchpoint", TOUCHPOINT_DRIVERS, excluded))
    table = journey_features(events, spec)
    csat_names: list[str] = []
    if feedback is not None and "csat" in feedback.columns:
        csat, chosen_tps = touchpoint_csat(feedback, events, definition=definition)
        if csat is not None:
            table = table.left_join(csat, "customer_id").drop("customer_id_right")
            csat_names = [f"csat_{slug(tp)}" for tp in chosen_tps]
    # churn is judged among converted customers: the default (pre-conversion) funnel says nothing there
    steps, level = ([], "stage") if target == "churn" and not funnel else \
        resolve_funnel(events, definition, funnel, churn_stages(definition))
    if len(steps) >= 2:
        progress = funnel_progress(events, steps, level)
        table = table.left_join(progress, "customer_id").drop("customer_id_right")
    feats = frame_by_customer(table)
    for name in BINARY_COUNTS:
        feats[name] = (feats[name] > 0).astype(float)
    tp_cols = [c for c in feats.columns if c.startswith("tp_")]
    feats[tp_cols] = (feats[tp_cols] > 0).astype(float)
    notes: list[str] = []
    filled = "the median and a missing indicator" if missing == "indicator" else "the mean"
    for name in csat_names:
        notes.append(f"{name}: {int(feats[name].notna().sum())} customers answered, the others at {filled}")
    days = [c for c in feats.columns if c.startswith("days_to_")]
    gaps = _fill(feats, [*days, *csat_names], missing)
    if days:
        notes.append(f"funnel ({level}s): {' → '.join(steps)}; days to a step not reached set to {filled}")
    reached = {f"dropoff_{slug(step)}": feats.pop(f"reached_{slug(step)}") > 0 for step in steps
               if f"reached_{slug(step)}" in feats.columns}
    for name in list(reached):
        if name not in feats.columns:
            del reached[name]
    drops = [c for c in feats.columns if c.startswith("dropoff_")]
    # collinear: the later ones make way (a missing indicator spanned by the drop-offs adds nothing)
    available = [*BASE_DRIVERS, *drops, *days, *csat_names, *gaps, *tp_cols]
    return ExperienceFrame(feats, available, excluded, reached, notes)


def is_journey_driver(name: str) -> bool:
    """Whether ``name`` reads as a journey driver (not a survey rating): the what-if picks its model by it."""
    return (name in BASE_DRIVERS or name.endswith("_missing")
            or name.startswith(("dropoff_", "days_to_", "csat_", "tp_")))


def _check_names(drivers: Sequence[str] | None, available: list[str]) -> None:
    unknown = [d for d in drivers or () if d not in available]
    if unknown:
        raise UnknownNameError(f"Unknown journey driver(s) {', '.join(unknown)}; available: {', '.join(available)}.",
                               details={"unknown": unknown, "available": available})


def customer_table(events: ir.Table, feedback: ir.Table, *, target: str, definition: Any = None,
                   customers: ir.Table | None = None, drivers: Sequence[str] | None = None,
                   repeat_window_days: float = 7.0, funnel: Sequence[str] | None = None, missing: str = "indicator",
                   keep: Sequence[str] = ()) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``(X, y, value, reached)`` one row per customer: journey drivers, the outcome (churn or
    conversion 0/1; NPS 0-10 or CSAT 1-5 as the latest answer), the customer's value (NaN when
    unknown), and per drop-off driver who reached its step (the customers a drop-off change can
    move) and per filled driver who has a value (``<name>_missing`` == 0), for the what-if. The
    drivers in ``keep`` (the ones a what-if changes) come first, so a collinear other makes way."""
    frame = _feature_frame(events, feedback, definition, repeat_window_days, funnel, target, missing)
    _check_names(drivers, frame.available)
    ordinal = target in SCALES
    y = _outcome(events, feedback, target, definition, customers, ordinal=ordinal) / (1 if ordinal else 100)
    data = frame.features.join(y.rename("_y"), how="inner")
    _check_names(keep, frame.available)
    order = list(dict.fromkeys([*keep, *(drivers or frame.available)]))
    chosen, _ = _usable(data, order, explicit=bool(drivers))
    data = data[[*chosen, "_y"]].dropna()
    value = pd.Series(np.nan, index=data.index)
    if customers is not None:
        order = [c for c in ("customer_id", "_seq") if c in customers.columns]
        raw = customers.order_by(order).select("customer_id", "value", "revenue").to_pandas().set_index("customer_id")
        raw = raw[~raw.index.duplicated(keep="last")]  # a customer loaded twice: the latest row
        known = raw["value"].fillna(raw["revenue"])
        value = known.reindex(data.index).astype(float)
    reached = {name: flags.reindex(data.index).fillna(False).to_numpy(dtype=bool)
               for name, flags in frame.reached.items() if name in chosen}
    for name in chosen:  # a filled driver moves only where it was observed
        if f"{name}_missing" in frame.features.columns:
            reached[name] = frame.features[f"{name}_missing"].reindex(data.index).to_numpy() == 0
    return data[chosen], data["_y"].to_numpy(), value.to_numpy(), reached


def journey_drivers(events: ir.Table, feedback: ir.Table, *, target: str = "nps", drivers: Sequence[str] | None = None,
                    definition: Any = None, customers: ir.Table | None = None, repeat_window_days: float = 7.0,
                    funnel: Sequence[str] | None = None, min_n: int = 30, n_bootstrap: int = 200,
                    missing: str = "indicator") -> DriversResult:
    """Adjusted effects of journey experiences on ``target`` (see the module docstring)."""
    import statsmodels.api as sm

    frame = _feature_frame(events, feedback, definition, repeat_window_days, funnel, target, missing)
    _check_names(drivers, frame.available)
    y = _outcome(events, feedback, target, definition, customers)
    data = frame.features.join(y.rename("_y"), how="inner")
    chosen, dropped = _usable(data, list(drivers or frame.available), explicit=bool(drivers))
    model = DriverImportance(n_bootstrap=n_bootstrap, min_n=min_n).fit(data[chosen], data["_y"])
    complete = data[[*chosen, "_y"]].dropna()
    ols = sm.OLS(complete["_y"], sm.add_constant(complete[chosen])).fit(cov_type="HC1")
    ci = ols.conf_int()
    unit = UNITS.get(target, "points")
    rows, cuts = driver_rows(model, [None] * len(chosen), target, unit)
    for row in rows:
        name = row["driver"]
        binary = set(np.unique(complete[name])) <= {0.0, 1.0}
        row["effect"] = float(ols.params[name])
        row["sentence"] = _sentence(name, row["effect"], float(ci.loc[name, 0]), float(ci.loc[name, 1]),
                                    binary, target, unit)
        row["effect_low"], row["effect_high"] = float(ci.loc[name, 0]), float(ci.loc[name, 1])
    rows.sort(key=lambda r: -r["importance"])
    method = (f"{'LMG' if model.method_ == 'lmg' else 'Johnson relative weights'} importance and an OLS model "
              f"of {target} ({unit}) on all drivers with HC1 95 % intervals; one row per customer "
              f"({model.n_dropped_} without a complete row left out)"
              + (f"; left out as constant or collinear: {', '.join(dropped)}" if dropped else "")
              + "".join(f"; {note}" for note in frame.notes))
    params = {"target": target, "n": model.n_, "r2": model.r2_, "method": method, "thresholds": cuts,
              "kind": "journey", "dropped": dropped, "excluded_touchpoints": frame.excluded}
    return DriversResult(records=tuple(rows), params=params)
