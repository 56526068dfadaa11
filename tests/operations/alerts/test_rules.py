"""Rules as code: the issue's example validates as written; bad files get line-numbered errors."""

from __future__ import annotations

import pytest

from journeylens.operations import users
from journeylens.operations.alerts import conditions, store
from journeylens.operations.alerts.conditions import parse_test, parse_when, register_field, resolve
from journeylens.operations.alerts.rules import (
    AnomalyRule,
    MetricRule,
    ResponseRule,
    RuleError,
    parse_rule,
)
from journeylens.operations.appdb import AppDatabase

EXAMPLE = """\
name: branch-detractor
on: response
when: {touchpoint: "Branch visit", nps: "<= 6"}
ticket: {team: branch, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72}
notify:
  - webhook: https://hooks.example.com/cx
"""


def test_the_issue_example_validates_exactly_as_written() -> None:
    rule = parse_rule(EXAMPLE)
    assert isinstance(rule, ResponseRule)
    assert (rule.name, rule.kind) == ("branch-detractor", "response")
    assert rule.ticket is not None
    assert (rule.ticket.team, rule.ticket.owner, rule.ticket.priority) == ("branch", "agent@bank.example", "high")
    assert (rule.ticket.first_contact_hours, rule.ticket.close_hours) == (24, 72)
    assert [(n.channel, n.target) for n in rule.notify] == [("webhook", "https://hooks.example.com/cx")]
    tests = {t.field: t for t in rule.tests}
    assert tests["nps"].holds(6) and not tests["nps"].holds(7)
    assert tests["touchpoint"].holds("Branch visit") and not tests["touchpoint"].holds("Branch")


def test_owner_must_be_an_existing_user_and_unseen_touchpoint_is_only_a_warning(app_db: AppDatabase) -> None:
    with app_db.session() as s, pytest.raises(RuleError) as missing:
        store.check_rule(s, EXAMPLE, source="r.yaml")
    assert missing.value.details["errors"][0]["line"] == 4
    assert "agent@bank.example" in missing.value.message
    with app_db.session() as s:
        users.create_user(s, "agent@bank.example", "correct horse battery", role="agent", actor="t")
    with app_db.session() as s:
        rule, warnings = store.check_rule(s, EXAMPLE, source="r.yaml", seen_touchpoints=set())
    assert rule.name == "branch-detractor"
    assert [(w["line"], w["path"]) for w in warnings] == [(3, "when.touchpoint")]
    assert "no data in the warehouse yet" in warnings[0]["message"]


def test_every_problem_is_reported_with_its_line() -> None:
    text = """\
name: bad rule
on: response
when: {touchpoint: X, bogus: 1}
ticket: {priority: hgh, colour: red}
notify:
  - webhook: ftp://nowhere
"""
    with pytest.raises(RuleError) as err:
        parse_rule(text, source="bad.yaml")
    issues = [(e["line"], e["path"]) for e in err.value.details["errors"]]
    assert issues == [(1, "name"), (3, "when"), (4, "ticket.priority"), (4, "ticket.colour"), (6, "notify[0]")]
    assert err.value.code == "alert_rule_invalid"
    assert "allowed fields: team, owner" in err.value.message


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: x\non: sometimes\n", "'on' must be one of response, metric, anomaly"),
    ("name: x\non: metric\nmetric: csat\n", "exactly one of below, above or target"),
    ("name: x\non: metric\nmetric: csat\nbelow: 1\nwhere: {shop: a}\n", "unknown subject field"),
    ("name: [x\n", "YAML syntax error"),
    ("- a\n- b\n", "a rule is a mapping"),
])
def test_other_bad_rules(text: str, fragment: str) -> None:
    with pytest.raises(RuleError, match="problem") as err:
        parse_rule(text)
    assert fragment in err.value.message


def test_metric_and_anomaly_rules_parse() -> None:
    metric = parse_rule("name: app\non: metric\nmetric: csat\nwhere: {touchpoint: Mobile app login}\n"
                        "below: 0.6\nwindow_days: 1\n")
    anomaly = parse_rule("name: vol\non: anomaly\nseries: events\nby: touchpoint\nsince_hour: 10\n")
    assert isinstance(metric, MetricRule) and metric.judge == "interval"
    assert isinstance(anomaly, AnomalyRule) and anomaly.fdr == 0.05 and anomaly.since_hour == 10


@pytest.mark.parametrize(("field", "spec", "value", "expected"), [
    ("comment", {"contains": "fraud"}, "I think this is FRAUD", True),
    ("comment", {"any": ["scam", "fraud"]}, "all fine", False),
    ("comment", {"all": ["card", "blocked"]}, "my card is blocked", True),
    ("comment", {"matches": r"\bcharg(e|ed)\b"}, "they charged me twice", True),
    ("csat", "<= 2", 2, True),
    ("csat", "<= 2", None, False),
    ("channel", ["branch", "phone"], "phone", True),
    ("customer.value", ">= 10000", 25000.0, True),
    ("customer.segment", "premium", "mass", False),
    ("nps", {"between": [0, 6]}, 3, True),
    ("comment", {"missing": True}, "", True),
    ("survey", {"not": "relationship"}, "branch", True),
])
def test_condition_language(field: str, spec: object, value: object, expected: bool) -> None:
    assert parse_test(field, spec).holds(value) is expected


def test_condition_language_grows_by_field_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown field 'aspect'"):
        parse_when({"aspect": "fees"})
    monkeypatch.setattr(conditions, "FIELDS", dict(conditions.FIELDS))
    register_field("aspect", lambda row, ctx: ctx.get("aspects"))
    (test,) = parse_when({"aspect": {"contains": "fees"}})
    assert test.holds(resolve("aspect", {}, {"aspects": "fees, staff"}))
