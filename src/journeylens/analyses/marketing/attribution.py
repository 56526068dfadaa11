"""Every attribution model side by side: who gets the credit for conversions and their value.

``attribution(events, conversion=..., by="channel")`` builds the journeys
(:mod:`.paths`), runs each model and returns one row per (model, channel):
``{"model", "<by>", "conversions", "value"}`` — rows of a sampled Shapley model also carry
``conversions_se`` and ``value_se``. Each model's conversions sum to the total conversions,
and its value to the total value, so the models compare directly.

>>> from journeylens.analyses.marketing.touches import Touches
>>> t = Touches.from_paths([["a", "b"], ["b"]], conversions=[1, 1], value=[10.0, 20.0])
>>> rows = attribute(t, models=["first", "last"]).to_dict()
>>> [(r["model"], r["channel"], r["conversions"], r["value"]) for r in rows]
[('first', 'a', 1.0, 10.0), ('first', 'b', 1.0, 20.0), ('last', 'a', 0.0, 0.0), ('last', 'b', 2.0, 30.0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from journeylens.analyses.marketing import heuristics, markov, shapley
from journeylens.analyses.marketing.paths import build_touches
from journeylens.analyses.marketing.touches import Touches, UniquePaths
from journeylens.analyses.result import plain
from journeylens.errors import ParameterError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from journeylens.analyses.filters import Filters
    from journeylens.journeys.definition import JourneyDefinition

MODELS: tuple[str, ...] = (*heuristics.HEURISTIC_MODELS, "markov", "shapley")
BY_CHOICES: tuple[str, ...] = ("channel", "touchpoint", "campaign")


class AttributionRowShape(BaseModel):
    """One model's credit for one channel (the HTTP route's response model). The channel sits
    under the key named after ``by`` (``channel``, ``touchpoint``, ``campaign`` …);
    ``conversions_se`` / ``value_se`` only on a sampled Shapley model."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, bool | int | float | str | None]
    model: str
    conversions: float
    value: float


@dataclass(frozen=True)
class ModelSettings:
    """Parameters of the models (one object, so every surface passes the same ones)."""

    half_life_days: float = 7.0
    first_share: float = 0.4
    last_share: float = 0.4
    order: int = 1
    shapley_exact_limit: int = shapley.EXACT_LIMIT
    shapley_samples: int = shapley.DEFAULT_SAMPLES
    seed: int = 0


def parse_models(models: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"first,last"`` or a list → validated model names (default: all)."""
    if models is None:
        return MODELS
    names = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        raise ParameterError(f"Unknown model(s) {', '.join(unknown) or '(none given)'}; allowed: {', '.join(MODELS)}.",
                             details={"allowed": list(MODELS)})
    return tuple(dict.fromkeys(names))


def model_credit(t: Touches, model: str, settings: ModelSettings = ModelSettings(),
                 paths: UniquePaths | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """``(conversions, value, conversions_se, value_se)`` per channel of ``t.labels``."""
    if model == "markov":
        conv, value = markov.credit(t, order=settings.order, paths=paths)
        return conv, value, None, None
    if model == "shapley":
        conv, value, conv_se, value_se = shapley.credit(t, exact_limit=settings.shapley_exact_limit,
                                                        samples=settings.shapley_samples, seed=settings.seed)
        exact = len(t.labels) <= settings.shapley_exact_limit
        return conv, value, None if exact else conv_se, None if exact else value_se
    conv, value = heuristics.credit(t, model, half_life_days=settings.half_life_days,
                                    first_share=settings.first_share, last_share=settings.last_share)
    return conv, value, None, None


@dataclass(frozen=True, repr=False)
class AttributionResult:
    """Rows per (model, channel); ``removal_effects`` of the Markov model; journeys counted."""

    records: Sequence[Mapping[str, Any]]
    by: str = "channel"
    removal_effects: Mapping[str, float] = field(default_factory=dict)
    summary: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> list[dict[str, Any]]:
        return [plain(dict(r)) for r in self.records]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(r) for r in self.records])

    def table(self, metric: str = "conversions") -> pd.DataFrame:
        """Channels x models (the side-by-side view)."""
        frame = self.to_frame()
        if frame.empty:
            return frame
        return frame.pivot_table(index=self.by, columns="model", values=metric, aggfunc="sum").fillna(0.0)

    def figure(self) -> Any:
        """Grouped bars: conversions credited per channel under each model."""
        import plotly.graph_objects as go

        wide = self.table()
        traces = [go.Bar(name=str(m), x=list(wide.index), y=wide[m].tolist()) for m in wide.columns]
        return go.Figure(traces, layout={"barmode": "group", "title": f"Conversions credited per {self.by}",
                                         "yaxis": {"title": "conversions"}})

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"AttributionResult({len(self.records)} rows, by={self.by})"


def attribute(t: Touches, *, models: str | Sequence[str] | None = None, by: str = "channel",
              settings: ModelSettings = ModelSettings(), params: Mapping[str, Any] | None = None) -> AttributionResult:
    """Run ``models`` on prepared journeys ``t``."""
    names = parse_models(models)
    paths = t.unique_paths() if {"markov"} & set(names) else None
    rows: list[dict[str, Any]] = []
    effects: dict[str, float] = {}
    for model in names:
        if model == "markov":  # one fit gives both the credit and the removal effects
            chain = markov.markov_chain(t, order=settings.order, paths=paths)
            effects = dict(zip(t.labels, chain.removal_effects, strict=True))
            conv, value = markov.shares_of(chain, t)
            conv_se = value_se = None
        else:
            conv, value, conv_se, value_se = model_credit(t, model, settings, paths)
        for i, label in enumerate(t.labels):
            row: dict[str, Any] = {"model": model, by: label, "conversions": float(conv[i]), "value": float(value[i])}
            if conv_se is not None and value_se is not None:
                row.update(conversions_se=float(conv_se[i]), value_se=float(value_se[i]))
            rows.append(row)
    summary = {"journeys": float(t.conversions.sum() + t.nulls.sum()), "conversions": float(t.conversions.sum()),
               "value": float(t.value.sum()), "channels": len(t.labels)}
    return AttributionResult(tuple(rows), by=by, removal_effects=effects, summary=summary,
                             params={**(params or {}), "models": list(names), **settings.__dict__})


def attribution(events: ir.Table, *, conversion: str | None = None, by: str = "channel",
                models: str | Sequence[str] | None = None, lookback_days: float = 0,
                value_property: str | None = None, definition: JourneyDefinition | None = None,
                customers: ir.Table | None = None, filters: Filters | None = None,
                settings: ModelSettings = ModelSettings()) -> AttributionResult:
    """Attribution over the warehouse's journeys (see :mod:`.paths` for how journeys are cut)."""
    if not by or by.startswith("_"):
        raise ParameterError(f"by must be channel, touchpoint or an event property such as campaign; got {by!r}.")
    if filters is not None and not filters.is_empty():
        events = filters.apply(events, definition, customers)
    touches = build_touches(events, by=by, conversion=conversion, definition=definition,
                            lookback_days=lookback_days, value_property=value_property)
    params = {"conversion": conversion, "by": by, "lookback_days": lookback_days, "value_property": value_property,
              "filters": filters.to_dict() if filters is not None else {}}
    return attribute(touches, models=models, by=by, settings=settings, params=params)
