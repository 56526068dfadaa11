"""The generated demo tables: determinism, sizes, the data contract, identities, micro-journeys."""

from __future__ import annotations

import doctest
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import journeylens.demo
import journeylens.demo.build
import journeylens.demo.comments
import journeylens.demo.generator
import journeylens.demo.planted
import journeylens.demo.scores
from journeylens.demo import DemoDataset, demo_window, generate, journey_template, write_dataset
from journeylens.demo.catalogue import MICRO_JOURNEYS, ONLINE_CHANNELS, STAGES, TARGETS, TOUCHPOINTS
from journeylens.demo.comments import FOREIGN
from journeylens.errors import ParameterError
from journeylens.journeys.definition import load_definition
from journeylens.warehouse.schema import REQUIRED


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_writes_identical_files(tmp_path: Path) -> None:
    first = write_dataset(generate(customers=500, seed=3), tmp_path / "a")
    second = write_dataset(generate(customers=500, seed=3), tmp_path / "b")
    for name, path in first.tables.items():
        assert _digest(path) == _digest(second.tables[name]), name
    assert _digest(first.journey) == _digest(second.journey)
    assert first.manifest.read_text() == second.manifest.read_text()


def test_another_seed_gives_other_data() -> None:
    a, b = generate(customers=500, seed=3), generate(customers=500, seed=4)
    assert not a.events.equals(b.events)
    assert a.window.end != b.window.end


def test_window_is_derived_from_the_seed_not_today() -> None:
    window = demo_window(42)
    assert (window.end - window.start).days == 548
    assert window.start < window.release < window.end
    assert demo_window(42) == demo_window(42 + 365)


def test_sizes_follow_the_customer_count(small_demo: DemoDataset) -> None:
    assert small_demo.customers.num_rows == 2_000
    assert small_demo.customers.column("customer_id").to_pandas().is_unique
    per_customer = small_demo.events.num_rows / 2_000
    assert 15 <= per_customer <= 30  # about 1M events for the default 50,000
    assert 0.5 <= small_demo.feedback.num_rows / 2_000 <= 1.5
    spend = small_demo.spend.to_pandas()
    assert set(spend.channel) == {"paid_search", "social", "tv", "comparison_site", "referral"}
    assert (spend.currency == "GBP").all() and (spend.amount > 0).all()


def test_rejects_absurd_sizes() -> None:
    with pytest.raises(ParameterError, match="customers must be between"):
        generate(customers=5)


def test_tables_meet_the_data_contract(small_demo: DemoDataset) -> None:
    for name, table in small_demo.tables().items():
        frame = table.to_pandas()
        for column in REQUIRED[name]:
            if name == "events" and column == "customer_id":
                continue  # pre-login web events carry only an anonymous_id
            assert frame[column].notna().all(), (name, column)
    events = small_demo.events.to_pandas()
    assert (events.customer_id.notna() | events.anonymous_id.notna()).all()
    assert events.event_id.is_unique
    window = small_demo.window
    assert events.timestamp.min() >= window.start and events.timestamp.max() < window.end
    assert events.timestamp.is_monotonic_increasing


def test_events_are_strictly_ordered_per_customer(small_demo: DemoDataset) -> None:
    events = small_demo.events.to_pandas()
    who = events.customer_id.fillna(events.anonymous_id)
    gaps = events.assign(who=who).groupby("who").timestamp.diff().dropna()
    assert (gaps > pd.Timedelta(0)).all()


def test_touchpoints_and_channels_agree_with_the_journey_yaml(small_demo: DemoDataset) -> None:
    definition = load_definition(journey_template())
    assert definition.stage_names == list(STAGES)
    assert {s.name: s.targets for s in definition.stages} == TARGETS
    for tp in TOUCHPOINTS:
        rule = definition.touchpoint(tp.name)
        assert (rule.stage, rule.channel, rule.category, rule.critical, rule.owner) == (
            tp.stage, tp.channel, tp.category, tp.critical, tp.owner)
    seen = set(small_demo.events.column("touchpoint").to_pylist())
    assert seen <= {t.name for t in definition.touchpoints}
    assert len(seen) >= 30
    assert {definition.is_online(c) for c in set(small_demo.events.column("channel").to_pylist())} == {True, False}


def test_identity_stitching_has_work_to_do(small_demo: DemoDataset) -> None:
    events = small_demo.events.to_pandas()
    anonymous_only = events.customer_id.isna()
    assert 0.05 < anonymous_only.mean() < 0.3
    links = events.dropna(subset=["customer_id", "anonymous_id"]).groupby("anonymous_id").customer_id.nunique()
    assert len(links) > 500 and (links == 1).all()
    linked = events[anonymous_only].anonymous_id.isin(links.index)
    assert 0.3 < linked.mean() < 1.0  # the rest are visitors who never sign up


def _stitched_micro_journeys(data: DemoDataset) -> pd.Series:
    events = data.events.to_pandas()
    link = events.dropna(subset=["customer_id", "anonymous_id"]).drop_duplicates("anonymous_id")
    who = events.customer_id.fillna(events.anonymous_id.map(link.set_index("anonymous_id").customer_id))
    online = events.channel.isin(ONLINE_CHANNELS).groupby(who).agg(["all", "any"])
    return pd.Series(np.where(online["all"], "online", np.where(online["any"], "blended", "branch")),
                     index=online.index)


def test_micro_journeys_show_in_the_channels_used(small_demo: DemoDataset) -> None:
    customers = small_demo.customers.to_pandas().set_index("customer_id")
    observed = _stitched_micro_journeys(small_demo)
    assert (observed == customers.micro_journey.reindex(observed.index)).all()
    shares = customers.micro_journey.value_counts(normalize=True)
    for name, expected in zip(MICRO_JOURNEYS, (0.45, 0.20, 0.35), strict=True):
        assert shares[name] == pytest.approx(expected, abs=0.04)


def test_customer_outcomes_are_consistent(small_demo: DemoDataset) -> None:
    customers = small_demo.customers.to_pandas()
    events = small_demo.events.to_pandas()
    assert (customers.churned == customers.churn_date.notna()).all()
    assert set(customers.status) == {"active", "closed", "abandoned_onboarding"}
    assert (customers.churned == (customers.status == "closed")).all()
    assert (customers.loc[customers.status == "abandoned_onboarding", "revenue"] == 0).all()
    closed = events[events.touchpoint == "Account closed"].set_index("customer_id").timestamp
    churn = customers.set_index("customer_id").churn_date.dropna()
    assert closed.sort_index().equals(churn.sort_index().rename("timestamp"))
    last = events.dropna(subset=["customer_id"]).groupby("customer_id").timestamp.max()
    assert (last[churn.index] <= churn).all()  # nothing happens after an account closes


def test_feedback_scores_comments_languages_and_employees(small_demo: DemoDataset) -> None:
    feedback = small_demo.feedback.to_pandas()
    assert feedback.response_id.is_unique
    assert feedback.nps.dropna().between(0, 10).all()
    assert feedback.csat.dropna().between(1, 5).all()
    assert feedback.ces.dropna().between(1, 7).all()
    customers = feedback[feedback.respondent == "customer"]
    assert customers.customer_id.notna().all()
    assert 0.2 < customers.comment.notna().mean() < 0.5
    assert customers.comment.dropna().nunique() > 300  # varied, not a handful of canned lines
    foreign = {text: lang for lang, by in FOREIGN.items() for texts in by.values() for text in texts}
    languages = customers.comment.dropna().map(foreign).dropna()
    assert set(languages) == set(FOREIGN) and 0.02 < len(languages) / customers.comment.notna().sum() < 0.12
    employees = feedback[feedback.respondent == "employee"]
    assert len(employees) >= 20 and employees.customer_id.isna().all()
    assert (employees.survey == "eNPS").all() and employees.nps.notna().all()
    triggered = customers[customers.survey == "Touchpoint CSAT"]
    key = {tp.name for tp in TOUCHPOINTS if tp.survey_rate >= 0.1}  # onboarding and service moments
    events = small_demo.events.to_pandas()
    rate = triggered.touchpoint.isin(key).sum() / events.touchpoint.isin(key).sum()
    assert 0.10 <= rate <= 0.16


@pytest.mark.parametrize("module", [journeylens.demo, journeylens.demo.build, journeylens.demo.comments,
                                    journeylens.demo.generator, journeylens.demo.planted, journeylens.demo.scores])
def test_docstring_examples_run(module: object) -> None:
    failures, _ = doctest.testmod(module)  # type: ignore[arg-type]
    assert failures == 0


@pytest.mark.parametrize("span", [50, 2**40, 2**61])
def test_packed_sort_orders_like_lexsort(span: int) -> None:
    from journeylens.demo.events import order_by

    rng = np.random.default_rng(span)
    major = rng.integers(0, 300, 5_000)
    minor = rng.integers(-span, span, 5_000)  # ties, negatives, wide spans; 2**61 is too wide to pack
    assert (order_by(major, minor) == np.lexsort((minor, major))).all()
    assert len(order_by(major[:0], minor[:0])) == 0


def test_events_are_written_a_row_group_at_a_time(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    data = generate(customers=300, seed=2)
    small = data.event_rows.slice(0, 0).schema
    files = write_dataset(data, tmp_path)
    assert pq.read_table(files.tables["events"]).equals(data.events)
    assert data.events.schema == small and data.rows()["events"] == data.events.num_rows
    assert data.events.column("event_id")[0].as_py() == "E00000001"
