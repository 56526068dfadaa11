"""Journey definition: parsing, line-numbered errors, rules as Ibis expressions, YAML round trip."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import ibis
import pyarrow as pa
import pytest
from pydantic import ValidationError

from journeylens.errors import JourneyDefinitionError, NotFoundError
from journeylens.journeys.definition import (
    JourneyDefinition,
    load_definition,
    parse_definition,
    touchpoint_rules,
)

SAMPLES = Path(__file__).parents[2] / "src" / "journeylens" / "samples"

GOOD = dedent("""\
    name: Support
    version: 3
    stages:
      - name: Intake
        targets: {ces: 5.5}
      - name: Resolution
    touchpoints:
      - name: Opened
        match: "Open*"
        stage: Intake
        channel: web
        category: customer-owned
      - name: Phone resolution
        regex: "^Resolve.*phone$"
        stage: Resolution
        channel: call centre
        critical: true
        targets: {csat: 0.8, nps: 30}
      - name: Resolved
        match: ["Resolve*", "Fixed"]
        stage: Resolution
      - name: Closed
        stage: Resolution
        channel: carrier pigeon
    cohorts:
      - {name: vip, attribute: segment, equals: VIP}
      - {name: south, attribute: region, in: [south, east]}
      - {name: online, channels: online-only}
      - {name: resolvers, performed: Resolved}
      - {name: web first, first_channel: web}
    outcomes:
      conversion: [Resolved]
      churn: [Closed]
    settings:
      episode_gap_minutes: 45
    """)


def errors_of(text: str) -> list[dict[str, object]]:
    with pytest.raises(JourneyDefinitionError) as info:
        parse_definition(text, source="j.yaml")
    return info.value.details["errors"]  # type: ignore[no-any-return]


def test_a_good_definition_parses_with_defaults_and_derived_values() -> None:
    d = parse_definition(GOOD)
    assert d.version == "3"
    assert d.stage_names == ["Intake", "Resolution"]
    assert [t.name for t in d.touchpoints] == ["Opened", "Phone resolution", "Resolved", "Closed"]
    opened, phone, resolved, closed = d.touchpoints
    assert opened.match == ["Open*"] and opened.online is True and opened.category == "customer-owned"
    assert phone.online is False and phone.critical and phone.targets == {"csat": 0.8, "nps": 30.0}
    assert resolved.category == "brand-owned" and resolved.channel is None and resolved.online is None
    assert closed.online is None  # free-text channel of unknown kind
    assert d.cohorts[1].in_ == ["south", "east"] and d.settings.episode_gap_minutes == 45
    assert d.stage_order("Resolution") == 2


def test_rule_lookup_takes_the_first_matching_rule_in_file_order() -> None:
    d = parse_definition(GOOD)
    assert d.rule_for("Opened online").name == "Opened"  # type: ignore[union-attr]
    assert d.rule_for("Resolve by phone").name == "Phone resolution"  # type: ignore[union-attr]
    assert d.rule_for("Resolve by email").name == "Resolved"  # type: ignore[union-attr]
    assert d.rule_for("Fixed").name == "Resolved"  # type: ignore[union-attr]
    assert d.rule_for("Closed").name == "Closed"  # type: ignore[union-attr]
    assert d.rule_for("Closed again") is None  # a name without match is exact, not a prefix
    with pytest.raises(NotFoundError, match="touchpoints: Opened"):
        d.touchpoint("Nope")


def test_touchpoint_rules_expression_labels_events_like_the_python_matcher() -> None:
    d = parse_definition(GOOD)
    names = ["Opened online", "Resolve by phone", "Resolve by email", "Fixed", "Closed", "Other", None]
    events = ibis.memtable(pa.table({"touchpoint": pa.array(names, pa.string()),
                                     "i": list(range(len(names)))}))
    rules = touchpoint_rules(d, events.touchpoint)
    rows = events.mutate(**rules).order_by("i").to_pyarrow().to_pylist()
    assert [r["touchpoint_rule"] for r in rows] == [
        "Opened", "Phone resolution", "Resolved", "Resolved", "Closed", None, None]
    for row, name in zip(rows, names, strict=True):
        rule = d.rule_for(name) if name else None
        assert row["touchpoint_rule"] == (rule.name if rule else None)
    phone = rows[1]
    assert (phone["stage"], phone["stage_order"], phone["channel"], phone["category"], phone["critical"]) == (
        "Resolution", 2, "call centre", "brand-owned", True)
    assert rows[5]["stage"] is None and rows[5]["critical"] is None
    assert rows[2]["channel"] is None  # the rule declares no channel


def test_outcome_and_online_expressions() -> None:
    d = parse_definition(GOOD)
    t = ibis.memtable(pa.table({"touchpoint": ["Resolve x", "Closed", "Opened"],
                                "channel": ["Web", "call-centre", "Mars"], "i": [0, 1, 2]}))
    rows = t.mutate(conv=d.outcome_expr("conversion", t.touchpoint), churn=d.outcome_expr("churn", t.touchpoint),
                    online=d.online_expr(t.channel)).order_by("i").to_pyarrow().to_pylist()
    assert [(r["conv"], r["churn"], r["online"]) for r in rows] == [
        (True, False, True), (False, True, False), (False, False, None)]


def test_yaml_round_trip_keeps_the_definition() -> None:
    d = parse_definition(GOOD)
    again = parse_definition(d.to_yaml())
    assert again == d
    assert d.to_yaml().startswith("name: Support\nversion: '3'\n")


def test_shipped_sample_definitions_are_valid() -> None:
    helpdesk = load_definition(SAMPLES / "helpdesk.journey.yaml")
    receipt = load_definition(SAMPLES / "receipt.journey.yaml")
    assert helpdesk.stage_names == ["Intake", "Handling", "Resolution", "Closure"]
    assert receipt.is_online("Internet") is True and receipt.is_online("Desk") is False
    assert receipt.rule_for("T09-3 Process or receive external advice from party 3").category == "partner-owned"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("name: J\nstages:\n  - name: A\n    colour: red\n",
                 [(4, 5, "stages[0].colour", "unknown field 'colour'; allowed fields: name, description, targets")],
                 id="unknown-field"),
    pytest.param("name: J\nstages: [{name: A}]\ntouchpoints:\n  - name: T\n    stage: B\n",
                 [(5, 12, "touchpoints[0].stage", "stage 'B' is not declared; declared stages: 'A'")],
                 id="undeclared-stage"),
    pytest.param("name: J\nstages: [{name: A}]\ntouchpoints:\n  - {name: T, stage: A, category: ours}\n",
                 [(4, 35, "touchpoints[0].category", "input should be 'brand-owned', 'partner-owned', "
                                                     "'customer-owned' or 'social/external'")],
                 id="bad-category"),
    pytest.param("name: J\nstages:\n  - name: A\n  - name: A\n",
                 [(4, 11, "stages[1].name", "duplicate stage name 'A' (first declared as stages[0]); "
                                             "names must be unique")],
                 id="duplicate-stage"),
    pytest.param("name: J\nstages: [{name: A}]\ncohorts:\n  - name: c\n    attribute: segment\n",
                 [(4, 5, "cohorts[0]", "an attribute rule needs exactly one of 'equals' or 'in'")],
                 id="cohort-attribute-without-value"),
    pytest.param("name: J\nstages: [{name: A}]\ncohorts:\n  - name: c\n    channels: online\n",
                 [(5, 15, "cohorts[0].channels", "input should be 'online-only', 'offline-only' or 'blended'")],
                 id="cohort-channels"),
    pytest.param("name: J\nstages: [{name: A}]\ntouchpoints: [{name: T, stage: A}]\n"
                 "cohorts: [{name: c, performed: X}]\noutcomes:\n  churn: [T, Y]\n",
                 [(4, 32, "cohorts[0].performed", "touchpoint 'X' is not declared; declared touchpoints: 'T'"),
                  (6, 14, "outcomes.churn[1]", "touchpoint 'Y' is not declared; declared touchpoints: 'T'")],
                 id="unknown-touchpoint-references"),
    pytest.param("name: J\nstages: [{name: A}]\ntouchpoints:\n  - name: T\n    stage: A\n    regex: '(x'\n",
                 [(6, 12, "touchpoints[0].regex",
                   "invalid regular expression '(x': missing ), unterminated subpattern at position 0")],
                 id="bad-regex"),
    pytest.param("name: J\nstages: [{name: A}]\nname: K\n",
                 [(3, 1, "name", "duplicate key 'name'; each key may appear once in a mapping")],
                 id="duplicate-key"),
    pytest.param("name: J\ntouchpoints: []\n", [(1, 1, "stages", "missing required field 'stages'")],
                 id="missing-stages"),
    pytest.param("name: J\nstages: [{name: A}\n",
                 [(3, 1, "", "YAML syntax error: expected ',' or ']', but got '<stream end>' "
                             "(while parsing a flow sequence)")],
                 id="syntax-error"),
    pytest.param("- just\n- a list\n", [(1, 1, "", "a journey definition is a mapping with at least "
                                                   "'name' and 'stages'")], id="not-a-mapping"),
    pytest.param("name: J\nstages: [{name: A}]\nsettings: {episode_gap_minutes: 0}\n",
                 [(3, 33, "settings.episode_gap_minutes", "input should be greater than or equal to 1")],
                 id="gap-too-small"),
])
def test_errors_name_line_column_path_and_what_is_allowed(
        text: str, expected: list[tuple[int, int, str, str]]) -> None:
    got = [(e["line"], e["column"], e["path"], e["message"]) for e in errors_of(text)]
    assert got == expected


def test_error_message_lists_every_problem_with_its_location() -> None:
    with pytest.raises(JourneyDefinitionError) as info:
        parse_definition("name: J\nstages:\n  - name: A\n  - name: A\n    extra: 1\n", source="j.yaml")
    assert info.value.code == "journey_definition_invalid"
    assert "j.yaml:5:5 (stages[1].extra): unknown field 'extra'" in info.value.message


def test_constructing_in_python_runs_the_cross_checks_too() -> None:
    with pytest.raises(ValidationError, match="stage 'B' is not declared"):
        JourneyDefinition.model_validate({"name": "J", "stages": [{"name": "A"}],
                                          "touchpoints": [{"name": "T", "stage": "B"}]})


def test_load_definition_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(JourneyDefinitionError, match="Cannot read journey definition"):
        load_definition(tmp_path / "nope.yaml")


def test_the_annotated_example_in_the_docs_is_valid() -> None:
    text = (Path(__file__).parents[2] / "docs" / "journey-definition.md").read_text()
    block = text.split("## A full, annotated example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    d = parse_definition(block, source="docs/journey-definition.md")
    assert [c.name for c in d.cohorts][:2] == ["VIP", "North"]
    assert d.rule_for("amazon.nl/item").name == "Marketplace listing"  # type: ignore[union-attr]
    assert d.touchpoint("Store purchase").online is False
