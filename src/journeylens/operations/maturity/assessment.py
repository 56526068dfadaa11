"""The maturity assessment: evidence and self-assessment side by side, levels, a playbook.

A dimension's **evidence level** is the highest level whose checks — and the checks of every
level below it — pass (level 1 needs nothing). The **self-assessment** is the team's answers
(1-5), averaged per person first so that everyone counts once, then across people with the
spread. The dimension's level is the evidence level: opinions are shown beside it, and where
they differ by a level or more the result says so in words. The overall level is the mean of
the dimension levels rounded down. The **playbook** lists, per dimension, the failing checks
of the next level as concrete steps with a link to where each is done.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import select

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.maturity.checks import Outcome, run_check
from journeylens.operations.maturity.evidence import gather_evidence
from journeylens.operations.maturity.framework import Dimension, MaturityModel
from journeylens.operations.maturity.records import MaturityAnswer, MaturityAssessment


@dataclass(frozen=True)
class SelfAssessment:
    mean: float
    sd: float | None
    low: float
    high: float
    respondents: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": round(self.mean, 2), "sd": None if self.sd is None else round(self.sd, 2),
                "min": self.low, "max": self.high, "respondents": self.respondents}


@dataclass(frozen=True)
class DimensionResult:
    id: str
    name: str
    level: int
    level_text: str
    evidence: tuple[dict[str, Any], ...]
    self_assessment: SelfAssessment | None
    disagreement: str | None
    steps: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "level": self.level, "level_text": self.level_text,
                "evidence_level": self.level,
                "self_assessment": self.self_assessment.to_dict() if self.self_assessment else None,
                "disagreement": self.disagreement, "evidence": [dict(e) for e in self.evidence],
                "playbook": [dict(s) for s in self.steps]}


@dataclass(frozen=True)
class MaturityResult:
    """``to_dict()`` → ``{"model", "version", "assessed_at", "overall_level", "overall_name",
    "dimensions": [{id, name, level, level_text, evidence_level, self_assessment, disagreement,
    evidence: [{check, level, passed, finding, step, link, items}], playbook}], "playbook",
    "disagreements", "respondents", "facts"}``."""

    model: MaturityModel
    assessed_at: datetime
    dimensions: tuple[DimensionResult, ...]
    respondents: int
    facts: dict[str, Any] = field(default_factory=dict)
    assessment_id: int | None = None

    @property
    def overall_level(self) -> int:
        return max(1, math.floor(statistics.fmean(d.level for d in self.dimensions) + 1e-9))

    @property
    def playbook(self) -> list[dict[str, Any]]:
        ordered = sorted(self.dimensions, key=lambda d: (d.level, [x.id for x in self.model.dimensions].index(d.id)))
        return [dict(step) for d in ordered for step in d.steps]

    def to_dict(self) -> dict[str, Any]:
        overall = self.overall_level
        return {"assessment_id": self.assessment_id, "model": self.model.name, "version": self.model.version,
                "assessed_at": self.assessed_at.isoformat(), "overall_level": overall,
                "overall_name": self.model.levels[overall].name,
                "overall_summary": self.model.levels[overall].summary,
                "dimensions": [d.to_dict() for d in self.dimensions], "playbook": self.playbook,
                "disagreements": [d.disagreement for d in self.dimensions if d.disagreement],
                "respondents": self.respondents, "facts": self.facts}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"dimension": d.name, "level": d.level,
                              "self_mean": d.self_assessment.mean if d.self_assessment else None,
                              "self_respondents": d.self_assessment.respondents if d.self_assessment else 0,
                              "next_steps": len(d.steps)} for d in self.dimensions])

    def figure(self) -> Any:
        """Evidence and self-assessment per dimension on one 1-5 radar."""
        import plotly.graph_objects as go

        names = [d.name for d in self.dimensions]
        fig = go.Figure()
        fig.add_trace(go.Scatterpolar(r=[d.level for d in self.dimensions] + [self.dimensions[0].level],
                                      theta=[*names, names[0]], name="Evidence", fill="toself"))
        if any(d.self_assessment for d in self.dimensions):
            values = [d.self_assessment.mean if d.self_assessment else None for d in self.dimensions]
            fig.add_trace(go.Scatterpolar(r=[*values, values[0]], theta=[*names, names[0]], name="Self-assessment"))
        fig.update_layout(polar={"radialaxis": {"range": [0, 5], "tickvals": [1, 2, 3, 4, 5], "title": "level"}},
                          title="Journey-management maturity by dimension (1-5)")
        return fig


def evidence_level(dimension: Dimension, outcomes: list[tuple[int, str, Outcome]]) -> int:
    """The highest level whose checks, and all lower levels' checks, pass."""
    level = 1
    for candidate in (2, 3, 4, 5):
        if all(o.passed for lvl, _, o in outcomes if lvl == candidate):
            level = candidate
        else:
            break
    return level


def self_summary(dimension: Dimension, answers: dict[str, dict[str, int]]) -> SelfAssessment | None:
    """Per-person mean over the dimension's questions, then mean and spread across people."""
    ids = {q.id for q in dimension.questions}
    per_person = [statistics.fmean(v for q, v in person.items() if q in ids)
                  for person in answers.values() if ids & person.keys()]
    if not per_person:
        return None
    sd = statistics.stdev(per_person) if len(per_person) > 1 else None
    return SelfAssessment(statistics.fmean(per_person), sd, min(per_person), max(per_person), len(per_person))


def _disagreement(dimension: Dimension, level: int, self_: SelfAssessment | None,
                  outcomes: list[tuple[int, str, Outcome]]) -> str | None:
    if self_ is None or abs(self_.mean - level) < 1:
        return None
    said = dimension.levels[min(5, max(1, round(self_.mean)))]
    if self_.mean > level:
        failing = next((o for lvl, _, o in outcomes if lvl == level + 1 and not o.passed), None)
        because = f" {failing.finding}" if failing else ""
        return (f"{dimension.name}: the team says \u201c{said}\u201d (self-assessment {self_.mean:.1f} of 5), "
                f"but the evidence shows level {level}.{because}")
    passing = [o.finding for lvl, _, o in outcomes if lvl <= level and o.passed]
    because = f" {passing[-1]}" if passing else ""
    return (f"{dimension.name}: the team rates this lower ({self_.mean:.1f} of 5) than the evidence shows "
            f"(level {level}).{because}")


def _dimension(dimension: Dimension, facts: dict[str, Any], answers: dict[str, dict[str, int]]) -> DimensionResult:
    outcomes = [(c.level, c.check, run_check(c.check, facts, c.params)) for c in dimension.checks]
    level = evidence_level(dimension, outcomes)
    self_ = self_summary(dimension, answers)
    evidence = tuple({"check": name, "level": lvl, **o.to_dict()} for lvl, name, o in outcomes)
    steps = tuple({"dimension": dimension.id, "dimension_name": dimension.name, "from_level": level,
                   "to_level": level + 1, "step": o.step, "finding": o.finding, "link": o.link,
                   "items": list(o.items)}
                  for lvl, _, o in outcomes if lvl == level + 1 and not o.passed and o.step)
    return DimensionResult(dimension.id, dimension.name, level, dimension.levels[level], evidence, self_,
                           _disagreement(dimension, level, self_, outcomes), steps)


def assess(lens: Any, db: AppDatabase, model: MaturityModel, *, actor: str = "", store: bool = True,
           now: datetime | None = None, definition_present: bool | None = None) -> MaturityResult:
    """Compute the assessment from the deployment's evidence and the team's answers."""
    now = now or datetime.now(UTC)
    facts = gather_evidence(lens, db, now=now, definition_present=definition_present)
    answers = current_answers(db, model)
    result = MaturityResult(model, now, tuple(_dimension(d, facts, answers) for d in model.dimensions),
                            len(answers), facts)
    if not store:
        return result
    with db.session() as session:
        row = MaturityAssessment(created_at=now, created_by=actor, model_name=model.name, model_version=model.version,
                                 overall_level=result.overall_level, result={})
        session.add(row)
        session.flush()
        stored = MaturityResult(model, now, result.dimensions, result.respondents, facts, row.id)
        row.result = stored.to_dict()
    return stored


def current_answers(db: AppDatabase, model: MaturityModel) -> dict[str, dict[str, int]]:
    """respondent → {question id → 1-5}, for the model's questions only."""
    known = model.question_ids()
    out: dict[str, dict[str, int]] = {}
    with db.session() as session:
        for a in session.scalars(select(MaturityAnswer)):
            if a.question_id in known:
                out.setdefault(a.respondent, {})[a.question_id] = a.value
    return out


def submit_answers(db: AppDatabase, model: MaturityModel, respondent: str, answers: dict[str, Any],
                   *, now: datetime | None = None) -> dict[str, int]:
    """Store one person's answers (their earlier answer to a question is replaced)."""
    if not respondent:
        raise ParameterError("A self-assessment answer needs the person who gives it.")
    known = model.question_ids()
    clean: dict[str, int] = {}
    problems = []
    for qid, raw in answers.items():
        if qid not in known:
            problems.append(f"unknown question {qid!r}")
            continue
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if str(raw).strip() != str(value) or not 1 <= value <= 5:
            problems.append(f"{qid}: the answer must be a whole number from 1 to 5, not {raw!r}")
            continue
        clean[qid] = value
    if problems or not clean:
        raise ParameterError("The self-assessment answers were not saved: " + ("; ".join(problems) or "no answers")
                             + f". Questions: {', '.join(known)}.", details={"problems": problems})
    now = now or datetime.now(UTC)
    with db.session() as session:
        existing = {a.question_id: a for a in session.scalars(
            select(MaturityAnswer).where(MaturityAnswer.respondent == respondent))}
        for qid, value in clean.items():
            row = existing.get(qid)
            if row is None:
                session.add(MaturityAnswer(respondent=respondent, question_id=qid, dimension_id=known[qid],
                                           value=value, answered_at=now))
            else:
                row.value, row.answered_at = value, now
    return clean


def history(db: AppDatabase, *, limit: int = 100) -> list[dict[str, Any]]:
    """Stored assessments, oldest first: overall and per-dimension levels."""
    with db.session() as session:
        rows = list(session.scalars(select(MaturityAssessment).order_by(MaturityAssessment.created_at.desc(),
                                                                         MaturityAssessment.id.desc()).limit(limit)))
        return [{"assessment_id": r.id, "assessed_at": r.created_at.isoformat(), "by": r.created_by,
                 "model_version": r.model_version, "overall_level": r.overall_level,
                 "levels": {d["id"]: d["level"] for d in r.result.get("dimensions", [])}} for r in reversed(rows)]


def latest(db: AppDatabase) -> dict[str, Any]:
    """The newest stored assessment's full result."""
    with db.session() as session:
        row = session.scalars(select(MaturityAssessment).order_by(MaturityAssessment.created_at.desc(),
                                                                  MaturityAssessment.id.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError("No maturity assessment has been made yet; run `journeylens maturity assess`.")
        return dict(row.result)
