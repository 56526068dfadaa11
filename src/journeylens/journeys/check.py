"""How well a journey definition covers the events: ``journeylens journey check``.

The rules are evaluated once per distinct event name (not once per event), in the engine,
with the same expressions :mod:`journeylens.journeys.enrich` uses — so the coverage shown is
exactly what ``journey_events`` will get.

>>> import pyarrow as pa, ibis
>>> from journeylens.journeys.definition import parse_definition
>>> d = parse_definition("name: J\\nstages: [{name: S}]\\ntouchpoints: [{name: A, match: 'A*', stage: S}]")
>>> ev = ibis.memtable(pa.table({"touchpoint": ["A1", "A2", "B", "$identify"]}))
>>> check_definition(ev, d).to_dict()["coverage"]
{'events': 3, 'matched': 2, 'share': 0.6666666666666666, 'event_names': 3, 'matched_event_names': 2}
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir

from journeylens.analyses.result import Result, plain
from journeylens.journeys.definition import JourneyDefinition, touchpoint_rules

SYSTEM_PREFIX = "$"


@dataclass(frozen=True, repr=False)
class DefinitionCheck(Result):
    """Per-stage coverage rows plus the definition's summary and what matched nothing.

    ``to_dict()`` shape::

        {"valid": true, "name", "version", "stages", "touchpoints", "cohorts",
         "coverage": {"events", "matched", "share", "event_names", "matched_event_names"},
         "by_stage": [{"stage", "stage_order", "touchpoints", "events", "share"}],
         "unmatched": [{"touchpoint", "events"}],          # most frequent first
         "unused_rules": ["touchpoint rule that matched no event", ...]}
    """

    summary: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] = field(default_factory=dict)
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    unused_rules: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return plain({"valid": True, **self.summary, "coverage": self.coverage,
                      "by_stage": [dict(r) for r in self.records], "unmatched": self.unmatched,
                      "unused_rules": self.unused_rules})


def check_definition(events: ir.Table, definition: JourneyDefinition, *,
                     unmatched_limit: int = 20) -> DefinitionCheck:
    """Coverage of ``events`` (raw ``events`` or ``journey_events``) by ``definition``'s rules."""
    names = events.filter(events.touchpoint.notnull() & ~events.touchpoint.startswith(SYSTEM_PREFIX))
    names = names.group_by("touchpoint").aggregate(events=names.count())
    rules = touchpoint_rules(definition, names.touchpoint)
    rows = names.mutate(rule=rules["touchpoint_rule"], stage=rules["stage"]).to_pyarrow().to_pylist()
    total = sum(r["events"] for r in rows)
    matched = [r for r in rows if r["rule"] is not None]
    matched_events = sum(r["events"] for r in matched)
    per_stage: Counter[str] = Counter()
    for r in matched:
        per_stage[r["stage"]] += r["events"]
    by_stage = [{"stage": s.name, "stage_order": i,
                 "touchpoints": sum(1 for t in definition.touchpoints if t.stage == s.name),
                 "events": per_stage.get(s.name, 0),
                 "share": per_stage.get(s.name, 0) / total if total else None}
                for i, s in enumerate(definition.stages, start=1)]
    unmatched = sorted((r for r in rows if r["rule"] is None), key=lambda r: (-r["events"], r["touchpoint"]))
    used = {r["rule"] for r in matched}
    return DefinitionCheck(
        records=by_stage,
        params={"journey": definition.name},
        title=f"Journey definition {definition.name!r}: coverage of the events",
        summary={"name": definition.name, "version": definition.version, "stages": len(definition.stages),
                 "touchpoints": len(definition.touchpoints), "cohorts": len(definition.cohorts)},
        coverage={"events": total, "matched": matched_events,
                  "share": matched_events / total if total else None,
                  "event_names": len(rows), "matched_event_names": len(matched)},
        unmatched=[{"touchpoint": r["touchpoint"], "events": r["events"]} for r in unmatched[:unmatched_limit]],
        unused_rules=[t.name for t in definition.touchpoints if t.name not in used],
    )
