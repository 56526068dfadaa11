"""The shapes of the answers of the ingest, journey, metric and trust routes (OpenAPI).

Each model names the keys an answer carries and their JSON types; keys an answer may add
(for example one per channel or per metric) are allowed. Routes attach them with
:func:`documented` — the answer is the result's own ``to_dict()``, not re-validated on every
request — and the API fuzzer (``tests/surfaces/api/test_fuzz.py``) checks every answer it
gets against them, so a shape that drifts from its model fails the suite.

>>> documented(IngestLog)[200]["model"].__name__
'IngestLog'
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

Number = float | None


class Shape(BaseModel):
    model_config = ConfigDict(extra="allow")


def documented(model: Any) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route whose 200 answer has the shape ``model``."""
    return {200: {"model": model}}


# --- ingest --------------------------------------------------------------------------------
class IngestSummaryPublic(Shape):
    table: str
    read: int
    accepted: int
    duplicates: int
    quarantined: int
    reasons: dict[str, int]


class QuarantineRow(Shape):
    table: str
    source: str | None = None
    row: int | None = None
    reason: str
    detail: str | None = None
    raw: str | None = None


class QuarantinePublic(Shape):
    total: int
    reasons: dict[str, int]
    rows: list[QuarantineRow]


class IngestLogRow(Shape):
    batch: str
    table: str
    source: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    read: int | None = None
    accepted: int | None = None
    duplicates: int | None = None
    quarantined: int | None = None
    reasons: dict[str, Any]


class IngestLog(Shape):
    rows: list[IngestLogRow]


# --- journey -------------------------------------------------------------------------------
class IdentityRow(Shape):
    anonymous_id: str
    customer_id: str | None = None
    first_linked_at: str | None = None
    events: int | None = None


class IdentityReportPublic(Shape):
    stats: dict[str, int]
    identities: list[IdentityRow]
    conflicts: list[dict[str, Any]]


class StageRow(Shape):
    stage: str
    order: int
    customers: int
    share: Number = None
    events: int | None = None
    channel_mix: dict[str, Number] | None = None
    targets: dict[str, Number] | None = None
    touchpoints: list[dict[str, Any]] | None = None


class FlowRow(Shape):
    from_stage: str | None
    to_stage: str | None
    customers: int
    moves: int | None = None


class JourneyMapPublic(Shape):
    customers: int
    unmapped_events: int | None = None
    stages: list[StageRow]
    flows: list[FlowRow]


class ChannelsPublic(Shape):
    customers: int
    multichannel_customers: int
    multichannel_share: Number
    mean_hops: Number
    hops_distribution: list[dict[str, Any]]
    online_offline: dict[str, dict[str, int]]
    matrix: list[dict[str, Any]]


class ConformancePublic(Shape):
    customers: int
    following_customers: int
    following_share: Number
    skipping_customers: int
    backward_moves: list[dict[str, Any]]
    skipped_stages: list[dict[str, Any]]
    friction: list[dict[str, Any]]


class RetentionCohort(Shape):
    cohort: str
    customers: int
    active: list[int | None]
    retention: list[Number]


class RetentionPublic(Shape):
    period: str
    periods: int
    cohorts: list[RetentionCohort]


class TimeToStageRow(Shape):
    from_stage: str
    to_stage: str
    n: int
    mean_seconds: Number = None
    p25_seconds: Number = None
    median_seconds: Number = None
    p75_seconds: Number = None
    p90_seconds: Number = None


class CohortRow(Shape):
    cohort: str
    kind: str
    rule: str
    customers: int
    share: Number = None


class CohortsPublic(Shape):
    customers: int
    cohorts: list[CohortRow]


class CustomerTimelinePublic(Shape):
    customer_id: str
    resolved_from: str | None = None
    anonymous_ids: list[str]
    attributes: dict[str, Any] | None = None
    outcomes: dict[str, Any] | None = None
    summary: dict[str, Any]
    items: list[dict[str, Any]]


# --- metrics, outcomes and trust -----------------------------------------------------------
class MetricRow(Shape):
    n: int | None = None
    touchpoint: str | None = None
    nps: Number = None
    csat: Number = None
    ces: Number = None
    target_status: str | None = None


class MetricChangeRow(Shape):
    metric: str
    base_period: str | None = None
    current_period: str | None = None
    base: Number = None
    current: Number = None
    base_n: int | None = None
    current_n: int | None = None
    change: Number = None
    p: Number = None
    q: Number = None
    significant: bool


class FeedbackLinksPublic(Shape):
    summary: dict[str, int]
    stages: list[MetricRow]
    customers: list[dict[str, Any]]


class OutcomesPublic(Shape):
    period: str
    overall: dict[str, Any]
    periods: list[dict[str, Any]]
    latest_change: list[dict[str, Any]]


class FreshnessSource(Shape):
    table: str
    source: str | None = None
    rows: int
    first: str | None = None
    last: str | None = None
    last_ingested_at: str | None = None
    age_days: Number = None
    stale: bool


class FreshnessPublic(Shape):
    sources: list[FreshnessSource]
    first: str | None = None
    last: str | None = None
    now: str
    stale_after_days: float
    warnings: list[str]


class PropertyValue(Shape):
    value: str | None
    n: int


class PropertyRow(Shape):
    source: str
    property: str
    distinct: int
    top_values: list[PropertyValue]


# --- surveys -------------------------------------------------------------------------------
class SurveySummary(Shape):
    name: str
    title: str | None = None
    kind: str
    status: str
    version: int
    languages: list[str]
    questions: int
    deliver: list[str]
    trigger: dict[str, Any] | None = None
    updated_at: str | None = None


class SurveyDetail(SurveySummary):
    definition: dict[str, Any]
    stats: dict[str, Any] | None = None
    exit_reasons: list[dict[str, Any]] | dict[str, Any] | None = None


class SurveyCheck(Shape):
    name: str
    valid: bool
    kind: str
    warnings: list[str] = []


class SurveyStatsRow(Shape):
    survey: str
    kind: str
    status: str
    triggered: int
    suppressed: dict[str, int]
    anonymous_completed: int
    by_channel: list[dict[str, Any]]


class Suppression(Shape):
    survey: str | None = None
    touchpoint: str | None = None
    channel: str | None = None
    reason: str
    detail: str | None = None
    at: str | None = None


class OptOut(Shape):
    customer_id: str
    opted_out: bool
    new: bool


#: A survey definition sent as YAML text (``POST /v1/surveys``, ``/v1/surveys/check``).
SURVEY_YAML_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "The survey definition (YAML, "
                                                    "UTF-8; see docs/surveys.md).",
                                    "content": {"application/yaml": {"schema": {"type": "string"}}}}}


# --- journey analyses ----------------------------------------------------------------------
class TransitionRow(Shape):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    from_: str | None = Field(alias="from")
    to: str | None
    count: int
    customers: int
    median_seconds: Number = None


class VariantRow(Shape):
    path: list[str]
    customers: int
    share: Number = None
    median_seconds: Number = None


class FunnelStep(Shape):
    step: str
    customers: int
    conversion_from_start: Number = None
    conversion_from_previous: Number = None
    median_seconds_from_previous: Number = None
    group: str | None = None


class FunnelByGroup(Shape):
    groups: list[FunnelStep]
    test: dict[str, Any] | None = None


class Health(Shape):
    status: str
    warehouse: str | None = None
    data_version: str | None = None
    error: str | None = None


class DefinitionCheckPublic(Shape):
    valid: bool
    coverage: Number = None
    by_stage: list[dict[str, Any]]
    unmatched: list[dict[str, Any]]
    unused_rules: list[Any]


#: A journey definition sent as text (``POST /v1/journey/check``).
DEFINITION_BODY: dict[str, Any] = {"requestBody": {"required": True, "description": "A journey definition (YAML or "
                                                   "JSON text, UTF-8; see docs/journey-definition.md).",
                                   "content": {"application/yaml": {"schema": {"type": "string"}}}}}


# --- cohorts side by side (any of the analyses above per cohort) ---------------------------
class CohortEntry(Shape):
    model_config = ConfigDict(extra="forbid")

    cohort: str
    customers: int
    converted: int
    churned: int
    #: the analysis's own answer for the cohort, as its route gives it
    result: (JourneyMapPublic | ChannelsPublic | ConformancePublic | RetentionPublic | list[TimeToStageRow]
             | list[FunnelStep] | list[TransitionRow] | list[VariantRow])


class CohortTest(Shape):
    model_config = ConfigDict(extra="forbid")

    metric: str
    cohort: str
    baseline: str
    share: Number
    baseline_share: Number
    difference: Number
    n: int
    baseline_n: int
    p_value: Number
    p_adjusted: Number
    significant: bool


class CohortComparisonPublic(Shape):
    model_config = ConfigDict(extra="forbid")

    analysis: str
    baseline: str
    cohorts: list[CohortEntry]
    tests: list[CohortTest]
