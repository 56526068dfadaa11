"""Maturity assessment on a hand-built deployment whose every fact is known.

The warehouse: 4 customers. c1, c2, c3 follow the stage order Discover → Buy → Use; c4 goes
Buy → Discover (backward), so 3/4 follow the map. The newest event is 1 day before ``NOW``.
Feedback: 6 answers at "Visit" (critical, owned), 2 at "Purchase" (owned), none at "Support"
(critical, no owner); customers c1 and c2 answered, so 2/4 journeys carry feedback.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import pytest

from journeylens.errors import ParameterError
from journeylens.journeys.definition import parse_definition
from journeylens.lens import JourneyLens
from journeylens.operations import users
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.maturity import (
    MaturityModelError,
    assess,
    default_model,
    history,
    latest,
    parse_model,
    submit_answers,
)
from journeylens.operations.maturity.evidence import record_definition
from journeylens.warehouse import Warehouse

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
JOURNEY = """
name: Shop
stages: [{name: Discover}, {name: Buy, targets: {nps: 20}}, {name: Use}]
touchpoints:
  - {name: Visit, stage: Discover, owner: ana@shop.example, critical: true, targets: {csat: 0.8}}
  - {name: Purchase, stage: Buy, owner: Sales team}
  - {name: Support, stage: Use, critical: true}
"""


def _events() -> pd.DataFrame:
    t = NOW - timedelta(days=1)
    rows = []
    for c in ("c1", "c2", "c3"):
        rows += [(c, t - timedelta(hours=3), "Visit"), (c, t - timedelta(hours=2), "Purchase"),
                 (c, t - timedelta(hours=1), "Support")]
    rows += [("c4", t - timedelta(hours=2), "Purchase"), ("c4", t - timedelta(hours=1), "Visit")]
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


def _feedback() -> pd.DataFrame:
    t = NOW - timedelta(days=2)
    rows = [{"timestamp": t, "customer_id": "c1" if i % 2 else "c2", "touchpoint": "Visit", "nps": 9} for i in range(6)]
    rows += [{"timestamp": t, "customer_id": "c1", "touchpoint": "Purchase", "nps": 3} for _ in range(2)]
    return pd.DataFrame(rows)


@pytest.fixture
def shop(duckdb_wh: Warehouse, app_db: AppDatabase) -> tuple[JourneyLens, AppDatabase]:
    lens = JourneyLens(duckdb_wh, parse_definition(JOURNEY))
    lens.ingest("events", _events())
    lens.ingest("feedback", _feedback())
    with app_db.session() as session:
        users.create_user(session, "ana@shop.example", "correct horse battery", role="analyst")
    return lens, app_db


def _checks(result: dict[str, Any], dimension: str) -> dict[tuple[str, int], dict[str, Any]]:
    dim = next(d for d in result["dimensions"] if d["id"] == dimension)
    return {(e["check"], e["level"]): e for e in dim["evidence"]}


def _level(result: dict[str, Any], dimension: str) -> int:
    return next(d["level"] for d in result["dimensions"] if d["id"] == dimension)


def test_evidence_levels_follow_the_known_facts(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    result = assess(lens, db, default_model(), now=NOW).to_dict()
    ownership = _checks(result, "ownership")
    assert ownership[("touchpoint_owners", 3)]["passed"]            # 2 of 3 ≥ 50 %
    assert not ownership[("touchpoint_owners", 4)]["passed"]        # not 100 %
    assert ownership[("touchpoint_owners", 4)]["finding"] == "2 of 3 touchpoints have an owner (67 %)."
    assert ownership[("touchpoint_owners", 4)]["items"] == ["Support"]
    assert _level(result, "ownership") == 3
    the_map = _checks(result, "map")
    assert the_map[("journeys_fit", 3)]["finding"] == "75 % of customers' journeys follow the defined stage order."
    assert the_map[("data_fresh", 4)]["passed"]                     # 1 day old ≤ 2
    assert not the_map[("definition_reviewed", 4)]["passed"]        # one version only, 25 % deviate
    assert _level(result, "map") == 3
    measurement = _checks(result, "measurement")
    # Visit has 6 ≥ 5 responses, Purchase 2, Support 0 → 1 of 3 touchpoints (33 % ≥ 30 %)
    assert measurement[("touchpoints_with_metrics", 3)]["finding"].startswith("1 of 3 touchpoints")
    assert measurement[("touchpoints_with_metrics", 3)]["passed"]
    # targets: Buy stage and Visit touchpoint of 3 stages + 3 touchpoints → 2 of 6 = 33 %
    assert measurement[("targets_set", 3)]["finding"].startswith("2 of 6")
    # critical: Visit measured, Support not → 50 % < 100 %
    assert measurement[("critical_touchpoints_measured", 4)]["items"] == ["Support"]
    assert _level(result, "measurement") == 3
    culture = _checks(result, "culture")
    assert culture[("active_users", 2)]["finding"] == "0 people signed in to the dashboard in the last 30 days."
    assert _level(result, "culture") == 1
    assert result["overall_level"] == math.floor(sum(d["level"] for d in result["dimensions"]) / 6)


def test_playbook_steps_point_to_the_real_gaps(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    result = assess(lens, db, default_model(), now=NOW).to_dict()
    steps = {(s["dimension"], s["to_level"]): s for s in result["playbook"]}
    assert steps[("ownership", 4)]["step"] == "Add owners to these 1 touchpoints: Support."
    assert steps[("ownership", 4)]["link"] == "/journey-definition"
    assert steps[("measurement", 4)]["step"] == "Start a survey at these critical touchpoints: Support."
    # the weakest dimension (culture, level 1) comes first
    assert result["playbook"][0]["dimension"] == "culture"
    # no step for a level the dimension already holds
    assert all(s["to_level"] == s["from_level"] + 1 for s in result["playbook"])


def test_self_assessment_counts_each_person_once(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    model = default_model()
    submit_answers(db, model, "ana@shop.example", {"map_living": 5, "map_used": 3})   # person mean 4
    submit_answers(db, model, "bob@shop.example", {"map_living": "2"})                # person mean 2
    result = assess(lens, db, model, now=NOW).to_dict()
    the_map = next(d for d in result["dimensions"] if d["id"] == "map")
    assert the_map["self_assessment"] == {"mean": 3.0, "sd": round(math.sqrt(2), 2), "min": 2.0, "max": 4.0,
                                          "respondents": 2}
    assert result["respondents"] == 2
    # re-answering replaces, it does not add a person
    submit_answers(db, model, "bob@shop.example", {"map_living": 4})
    again = assess(lens, db, model, now=NOW, ).to_dict()
    assert next(d for d in again["dimensions"] if d["id"] == "map")["self_assessment"]["mean"] == 4.0


def test_disagreement_names_the_evidence(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    model = default_model()
    submit_answers(db, model, "ana@shop.example", {"map_living": 5, "map_used": 5})
    later = NOW + timedelta(days=93)  # the newest event is now 94 days old
    result = assess(lens, db, model, now=later).to_dict()
    text = next(d for d in result["dimensions"] if d["id"] == "map")["disagreement"]
    assert text.startswith("The journey map itself: the team says \u201cThe map is redesigned continuously")
    assert "the evidence shows level 2" in text
    assert "The newest events data is 94 days old" in text
    assert text in result["disagreements"]


def test_a_changed_definition_counts_as_reviewed(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    record_definition(db, lens.definition, now=NOW - timedelta(days=200))
    changed = parse_definition(JOURNEY.replace("{name: Support, stage: Use, critical: true}",
                                               "{name: Support, stage: Use, critical: true, owner: Care team}"))
    record_definition(db, changed, now=NOW - timedelta(days=10))
    result = assess(JourneyLens(lens.warehouse, changed), db, default_model(), now=NOW).to_dict()
    reviewed = _checks(result, "map")[("definition_reviewed", 4)]
    assert reviewed["passed"] and reviewed["finding"] == "The journey definition changed 1 time(s) in the last 90 days."
    assert _checks(result, "ownership")[("touchpoint_owners", 4)]["passed"]


def test_history_shows_progress(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    first = assess(lens, db, default_model(), now=NOW)
    with db.session() as session:
        for email in ("b@shop.example", "c@shop.example"):
            users.create_user(session, email, "correct horse battery", role="viewer")
        for email in ("ana@shop.example", "b@shop.example", "c@shop.example"):
            user = users.authenticate(session, email, "correct horse battery")
            assert user is not None
    second = assess(lens, db, default_model())  # sign-ins are real, so now is now
    rows = history(db)
    assert [r["assessment_id"] for r in rows] == [first.assessment_id, second.assessment_id]
    assert rows[0]["levels"]["culture"] == 1 and rows[1]["levels"]["culture"] == 3
    assert latest(db)["assessment_id"] == second.assessment_id


def test_answers_are_validated_and_nothing_partial_is_saved(shop: tuple[JourneyLens, AppDatabase]) -> None:
    _, db = shop
    model = default_model()
    with pytest.raises(ParameterError) as info:
        submit_answers(db, model, "ana@shop.example", {"map_living": 6, "nope": 3, "map_used": 4})
    assert info.value.details["problems"] == ["map_living: the answer must be a whole number from 1 to 5, not 6",
                                              "unknown question 'nope'"]
    with pytest.raises(ParameterError):
        submit_answers(db, model, "ana@shop.example", {"map_living": 2.5})
    with pytest.raises(ParameterError):
        submit_answers(db, model, "", {"map_living": 2})
    from journeylens.operations.maturity import current_answers

    assert current_answers(db, model) == {}


def test_invalid_model_reports_every_problem_with_its_line() -> None:
    text = """name: Ours
version: "1"
levels: {1: {name: a, summary: a}, 2: {name: b, summary: b}, 3: {name: c, summary: c}, 4: {name: d, summary: d}, 5: {name: e, summary: e}}
dimensions:
  - id: map
    name: The map
    levels: {1: a, 2: b, 3: c, 4: d, 5: e}
    checks:
      - {check: data_freshness, level: 3}
      - {check: data_fresh, level: 3, table: events, max_age: 3}
      - {check: touchpoint_owners, level: 7, min_share: 0.5}
"""
    with pytest.raises(MaturityModelError) as info:
        parse_model(text, source="ours.yaml")
    lines = [(e["line"], e["message"]) for e in info.value.details["errors"]]
    assert lines[0][0] == 9 and "unknown check 'data_freshness'" in lines[0][1]
    assert lines[1][0] == 10 and "check 'data_fresh' takes table, max_days; not max_age" in lines[1][1]
    assert lines[2][0] == 11 and "less than or equal to 5" in lines[2][1]


def test_a_model_a_company_adapts_is_used_as_written(shop: tuple[JourneyLens, AppDatabase]) -> None:
    lens, db = shop
    text = default_model().model_dump_json()
    import json

    import yaml

    data = json.loads(text)
    data["version"] = "ours-1"
    data["dimensions"] = [d for d in data["dimensions"] if d["id"] == "ownership"]
    data["dimensions"][0]["checks"] = [{"check": "touchpoint_owners", "level": 2, "min_share": 0.6}]
    model = parse_model(yaml.safe_dump(data))
    result = assess(lens, db, model, now=NOW).to_dict()
    assert result["version"] == "ours-1"
    assert [d["id"] for d in result["dimensions"]] == ["ownership"]
    assert result["dimensions"][0]["level"] == 5  # 67 % ≥ 60 % at level 2, and no checks above it


def test_live_surveys_count_for_the_stages_they_listen_at(shop: tuple[JourneyLens, AppDatabase]) -> None:
    from journeylens.operations.surveys.registry import add_survey, pause

    lens, db = shop
    survey = """name: visit
title: {en: "How was it?"}
trigger: {touchpoint: "Vis*"}
questions:
  - {id: nps, type: nps, text: {en: "Recommend us?"}, required: true}
deliver: [link]
"""
    with db.session() as session:
        add_survey(session, survey)
        add_survey(session, survey.replace("name: visit", "name: support").replace('"Vis*"', "Support"))
    result = assess(lens, db, default_model(), now=NOW).to_dict()
    live = _checks(result, "action")[("surveys_live", 3)]
    # Visit is in Discover and Support in Use: two stages listen
    assert live["passed"] and live["finding"] == "2 live survey(s), covering 2 stage(s): Discover, Use."
    with db.session() as session:
        pause(session, "support")
    again = _checks(assess(lens, db, default_model(), now=NOW).to_dict(), "action")[("surveys_live", 3)]
    assert not again["passed"] and again["items"] == ["Buy", "Use"]
    assert again["step"] == "Start touchpoint-triggered surveys in these stages: Buy, Use."


def test_rules_and_tickets_are_evidence_for_action_and_the_loop(shop: tuple[JourneyLens, AppDatabase]) -> None:
    from journeylens.operations.alerts.rules import parse_rule
    from journeylens.operations.alerts.store import save_rule
    from journeylens.operations.tickets.service import close, contact, create_ticket

    lens, db = shop
    text = """name: visit-detractor
on: response
when: {touchpoint: "Visit", nps: "<= 6"}
ticket: {team: shop, priority: high, first_contact_hours: 24, close_hours: 72}
"""
    with db.session() as session:
        save_rule(session, parse_rule(text), text, actor="test")
        opened = NOW - timedelta(days=10)
        for i in range(6):  # 6 tickets closed: 4 within 72 h, 2 late; 5 with a root cause
            t = create_ticket(session, rule_id=None, rule_name="visit-detractor", response_key=f"r{i}",
                              response={"nps": 3}, priority="high", owner=None, team="shop",
                              first_contact_hours=24, close_hours=72, now=opened)
            contact(session, t.id, actor="ana@shop.example", now=opened + timedelta(hours=2))
            closed_at = opened + timedelta(hours=10 if i < 4 else 100)
            close(session, t.id, actor="ana@shop.example", root_cause="people", outcome="recovered", now=closed_at)
            if i == 5:
                t.root_cause = None
    result = assess(lens, db, default_model(), now=NOW).to_dict()
    action = _checks(result, "action")
    assert action[("alert_rules", 4)]["passed"]
    watched = action[("critical_touchpoints_with_rules", 5)]
    assert watched["finding"] == "1 of 2 critical touchpoints are watched by an alert rule (50 %)."
    assert watched["step"] == "Create a detractor rule for these critical touchpoints: Support."
    loop = _checks(result, "loop")
    assert loop[("ticket_rules", 3)]["passed"]
    assert loop[("tickets_within_sla", 4)]["finding"] == "4 of 6 tickets closed in the last 90 days met their SLA (67 %)."
    assert not loop[("tickets_within_sla", 4)]["passed"]  # 67 % < 70 %
    assert _level(result, "loop") == 3
    assert loop[("root_causes_recorded", 5)]["finding"] == "5 of 6 closed tickets record a root cause (83 %)."
