"""The one-page *state of the journey* report for leadership: content, as plain data.

:func:`state_of_journey` calls the same analysis functions the dashboard shows (journey map
with target status, CX metrics with intervals, tested changes, switch impact, pain points)
and adds what the operations side knows (the latest maturity assessment and any
registered sections such as close-the-loop KPIs). :mod:`.render` turns it into HTML and PDF.

The headline period is the last ``period_days`` days of feedback, ending at the newest
response, compared with the ``period_days`` before it; a change is called significant only
when its two-sided test gives p < 0.05 (NPS: z-test of the +1/0/−1 means; CSAT:
two-proportion z-test; CES: z-test of the means from their t-intervals).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from scipy.stats import norm
from scipy.stats import t as t_dist

from journeylens.analyses import stats
from journeylens.analyses.filters import Filters
from journeylens.errors import EmptyDataError, JourneyLensError

log = logging.getLogger(__name__)

METRICS: tuple[str, ...] = ("nps", "csat", "ces")
LABELS = {"nps": "NPS", "csat": "CSAT", "ces": "CES"}
ALPHA = 0.05
#: Extra report sections registered by operations modules: ``name → fn(lens, db) -> dict | None``.
SECTIONS: dict[str, Callable[[Any, Any], dict[str, Any] | None]] = {}


@dataclass(frozen=True)
class StateReport:
    """``to_dict()`` → ``{"title", "journey", "generated_at", "period", "kpis", "trend",
    "stages", "changes", "harms", "pain_points", "maturity", "sections", "notes"}``."""

    content: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.content)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.content.get("kpis", []))


def state_of_journey(lens: Any, db: Any = None, *, period_days: int = 30, trend_months: int = 12,
                     include_text: bool = True, include_models: bool = False,
                     now: datetime | None = None) -> StateReport:
    """Assemble the report's content (see the module docstring for the period and tests)."""
    if period_days < 1 or trend_months < 1:
        raise JourneyLensError("period_days and trend_months must be at least 1.")
    now = now or datetime.now(UTC)
    notes: list[str] = []
    newest = _newest_feedback(lens)
    period = None
    kpis: list[dict[str, Any]] = []
    if newest is not None:
        end = newest + timedelta(microseconds=1)
        start, before = end - timedelta(days=period_days), end - timedelta(days=2 * period_days)
        period = {"start": start.isoformat(), "end": newest.isoformat(), "days": period_days,
                  "previous_start": before.isoformat()}
        kpis = _kpis(lens, start, end, before)
    else:
        notes.append("No feedback has been loaded, so there are no CX scores yet.")
    sections: dict[str, Any] = {}
    content: dict[str, Any] = {
        "title": "State of the journey",
        "journey": lens.definition.name if lens.warehouse.has("events") and lens.warehouse.count("events") else None,
        "generated_at": now.isoformat(), "period": period, "kpis": kpis,
        "trend": _attempt(notes, "trend", lambda: _trend(lens, trend_months)) or [],
        "stages": _attempt(notes, "journey map", lambda: _stages(lens)) or [],
        "changes": _attempt(notes, "changes", lambda: _changes(lens)) or [],
        "harms": _attempt(notes, "channel switches", lambda: lens.switch_impact().harmful()[:3]) or [],
        "pain_points": (_attempt(notes, "pain points", lambda: lens.pain_points(top=5).to_dict()[:5]) or [])
        if include_text else [],
        "drivers": (_attempt(notes, "drivers", lambda: _drivers(lens)) or []) if include_models else [],
        "value_at_risk": _attempt(notes, "value at risk", lambda: _value_at_risk(lens)) if include_models else None,
        "maturity": _maturity(db),
        "sections": sections,
        "notes": notes,
    }
    for name, section in SECTIONS.items():
        value = _attempt(notes, name, lambda s=section: s(lens, db))  # type: ignore[misc]
        if value:
            sections[name] = value
    return StateReport(content)


def _attempt(notes: list[str], what: str, fn: Callable[[], Any]) -> Any:
    """One section failing (no events, no definition) leaves the others in the report."""
    try:
        return fn()
    except (JourneyLensError, EmptyDataError) as exc:
        notes.append(f"{what}: {exc.message}")
    except Exception as exc:  # a report must still go out when one analysis breaks
        log.exception("Report section %s failed", what)
        notes.append(f"{what}: could not be computed ({type(exc).__name__}).")
    return None


def _newest_feedback(lens: Any) -> datetime | None:
    if not lens.warehouse.has("feedback") or not lens.warehouse.count("feedback"):
        return None
    value = lens.warehouse.table("feedback").timestamp.max().to_pyarrow().as_py()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _row(lens: Any, start: datetime, end: datetime) -> dict[str, Any]:
    rows = lens.metrics(by=[], filters=Filters(start=start, end=end)).to_dict(detail=True)
    return rows[0] if rows else {}


def _kpis(lens: Any, start: datetime, end: datetime, before: datetime) -> list[dict[str, Any]]:
    current, previous = _row(lens, start, end), _row(lens, before, start)
    out = []
    for metric in METRICS:
        n = current.get(f"{metric}_n") or 0
        if not n:
            continue
        test = _test(metric, previous, current)
        value, prev = current.get(metric), previous.get(metric)
        out.append({"metric": metric, "label": LABELS[metric], "value": value, "n": n,
                    "low": current.get(f"{metric}_low"), "high": current.get(f"{metric}_high"),
                    "previous": prev, "previous_n": previous.get(f"{metric}_n") or 0,
                    "change": None if value is None or prev is None else value - prev,
                    "p": test, "significant": test is not None and test < ALPHA,
                    "target": current.get(f"{metric}_target"), "status": current.get(f"{metric}_target_status")})
    return out


def _test(metric: str, a: dict[str, Any], b: dict[str, Any]) -> float | None:
    na, nb = a.get(f"{metric}_n") or 0, b.get(f"{metric}_n") or 0
    if min(na, nb) < 2 or a.get(metric) is None or b.get(metric) is None:
        return None
    if metric == "nps":
        result = stats.nps_ztest(a["nps_promoters"] * na, a["nps_detractors"] * na, na,
                                 b["nps_promoters"] * nb, b["nps_detractors"] * nb, nb)
    elif metric == "csat":
        result = stats.two_proportion_ztest(a["csat"] * na, na, b["csat"] * nb, nb)
    else:  # CES: standard errors from the t-intervals the metrics engine reports
        se_a = _se(a, na)
        se_b = _se(b, nb)
        if se_a is None or se_b is None or se_a + se_b == 0:
            return None
        z = (b["ces"] - a["ces"]) / math.sqrt(se_a**2 + se_b**2)
        return float(2 * norm.sf(abs(z)))
    return None if math.isnan(result.p_value) else float(result.p_value)


def _se(row: dict[str, Any], n: int) -> float | None:
    if row.get("ces_low") is None or row.get("ces_high") is None or n < 2:
        return None
    return (row["ces_high"] - row["ces_low"]) / (2 * float(t_dist.ppf(0.975, n - 1)))


def _trend(lens: Any, months: int) -> list[dict[str, Any]]:
    rows = lens.metrics(by=["month"]).to_dict(detail=True)
    return [{"month": r["month"], **{m: r.get(m) for m in METRICS}, **{f"{m}_n": r.get(f"{m}_n") for m in METRICS}}
            for r in rows[-months:]]


def _stages(lens: Any) -> list[dict[str, Any]]:
    """The journey map's stages and touchpoints with their worst target status (as on the dashboard)."""
    from journeylens.analyses.targets import worst_status

    scores = lens.metrics(by=["touchpoint", "stage"]).to_dict(detail=True)
    by_tp = {r["touchpoint"]: r for r in scores if r.get("touchpoint")}
    journey = lens.journey_map().to_dict()
    out = []
    for stage in journey["stages"]:
        cards = []
        for card in stage["touchpoints"]:
            row = by_tp.get(card["touchpoint"], {})
            cards.append({"touchpoint": card["touchpoint"], "customers": card["customers"],
                          "drop_off": card.get("drop_off"), "status": row.get("target_status"),
                          "nps": row.get("nps"), "csat": row.get("csat"), "n": row.get("n", 0)})
        out.append({"stage": stage["stage"], "customers": stage["customers"], "drop_off": stage.get("drop_off"),
                    "status": worst_status(c["status"] for c in cards), "touchpoints": cards})
    return out


def _changes(lens: Any, limit: int = 5) -> list[dict[str, Any]]:
    result = lens.metric_changes(by=["touchpoint"], period="month", every_period=True)
    rows = sorted(result.significant(), key=lambda r: (r.get("q") or 1.0, -abs(r.get("change") or 0)))
    return rows[:limit]


def _drivers(lens: Any, limit: int = 3) -> list[dict[str, Any]]:
    """What customers experienced that moves NPS most (journey drivers, adjusted effects)."""
    result = lens.drivers(target="nps", journey=True).to_dict()
    rows = [r for r in result["drivers"] if r.get("sentence")]
    return [{"driver": r["driver"], "importance": r["importance"], "effect": r["effect"], "sentence": r["sentence"]}
            for r in rows[:limit]]


def _value_at_risk(lens: Any) -> dict[str, Any]:
    """Expected revenue lost to churn over the model's horizon, from the calibrated churn model."""
    rows = lens.predict_churn().to_dict()
    total = sum(float(r.get("value_at_risk") or 0.0) for r in rows)
    return {"customers": len(rows), "expected_churners": sum(float(r["churn_probability"]) for r in rows),
            "high_risk": sum(1 for r in rows if r["churn_probability"] >= 0.5), "value_at_risk": total}


def _maturity(db: Any) -> dict[str, Any] | None:
    if db is None:
        return None
    from journeylens.errors import NotFoundError
    from journeylens.operations.maturity import latest

    try:
        result = latest(db)
    except NotFoundError:
        return None
    return {"overall_level": result["overall_level"], "overall_name": result["overall_name"],
            "assessed_at": result["assessed_at"],
            "dimensions": [{"name": d["name"], "level": d["level"]} for d in result["dimensions"]],
            "next_steps": [s["step"] for s in result["playbook"][:3]]}
