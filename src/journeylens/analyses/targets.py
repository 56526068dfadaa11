"""Metric targets from the journey definition, and the status of an estimate against one.

Targets are written per touchpoint and per stage in the journey YAML::

    touchpoints:
      - name: checkout
        stage: purchase
        targets: {csat: 0.8, nps: 30, ces: 5.5}

Status of a group's estimate (with its 95 % interval ``low..high``) against target ``T``:

* ``"met"``      — estimate ≥ T
* ``"at_risk"``  — estimate < T but the interval still reaches T (high ≥ T)
* ``"missed"``   — the whole interval is below T (high < T)
* ``None``       — no target, or the score is suppressed (small sample)

Every metric is "higher is better" as recorded: NPS on -100..100, CSAT as a top-2-box share
0..1, CES as the mean on the 1-7 scale where 7 = very easy (a survey that records 1 = easy
must be reversed at ingest). A touchpoint's own target wins over its stage's.

>>> target_status(0.82, 0.75, 0.88, 0.8)
'met'
>>> target_status(0.78, 0.70, 0.85, 0.8)
'at_risk'
>>> target_status(0.70, 0.62, 0.77, 0.8)
'missed'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

STATUS_ORDER: dict[str | None, int] = {None: 0, "met": 1, "at_risk": 2, "missed": 3}


def target_status(estimate: float | None, low: float | None, high: float | None,
                  target: float | None) -> str | None:
    """``met`` / ``at_risk`` / ``missed`` / ``None`` (see the module docstring)."""
    if target is None or estimate is None or _nan(estimate):
        return None
    if estimate >= target:
        return "met"
    if high is not None and not _nan(high) and high >= target:
        return "at_risk"
    return "missed"


def worst_status(statuses: Iterable[str | None]) -> str | None:
    """The worst of several statuses (missed > at_risk > met > None)."""
    return max(statuses, key=lambda s: STATUS_ORDER[s], default=None)


def _nan(value: float) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _items(collection: Any) -> list[Any]:
    """Definition collections may be lists of objects / dicts, or name → dict mappings."""
    if collection is None:
        return []
    if isinstance(collection, Mapping):
        return [{**dict(v), "name": k} if isinstance(v, Mapping) else v for k, v in collection.items()]
    return list(collection)


def _targets_of(item: Any) -> dict[str, float]:
    raw = _get(item, "targets")
    if not raw:
        return {}
    pairs = raw.items() if isinstance(raw, Mapping) else vars(raw).items()
    return {str(k): float(v) for k, v in pairs if v is not None}


def touchpoint_stages(definition: Any) -> dict[str, str]:
    """touchpoint name → stage name from a journey definition (empty when none)."""
    if definition is None:
        return {}
    out: dict[str, str] = {}
    for tp in _items(_get(definition, "touchpoints")):
        name, stage = _get(tp, "name"), _get(tp, "stage")
        if name is not None and stage is not None:
            out[str(name)] = str(stage)
    return out


@dataclass(frozen=True)
class TargetBook:
    """Targets per touchpoint and per stage: ``{name: {metric: value}}``."""

    touchpoints: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    stages: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    stage_of: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_definition(cls, definition: Any) -> TargetBook:
        if definition is None:
            return cls()
        tps = {str(_get(t, "name")): _targets_of(t) for t in _items(_get(definition, "touchpoints"))}
        stages = {str(_get(s, "name")): _targets_of(s) for s in _items(_get(definition, "stages"))}
        return cls({k: v for k, v in tps.items() if v}, {k: v for k, v in stages.items() if v},
                   touchpoint_stages(definition))

    def __bool__(self) -> bool:
        return bool(self.touchpoints or self.stages)

    def target(self, metric: str, *, touchpoint: str | None = None, stage: str | None = None) -> float | None:
        """The target of ``metric`` for a group: the touchpoint's own, else its stage's."""
        if touchpoint is not None and metric in self.touchpoints.get(touchpoint, {}):
            return self.touchpoints[touchpoint][metric]
        stage = stage if stage is not None else (self.stage_of.get(touchpoint) if touchpoint else None)
        if stage is not None:
            return self.stages.get(stage, {}).get(metric)
        return None
