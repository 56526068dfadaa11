"""The shapes of the answers of the ingest, journey, metric and trust routes (OpenAPI).

Each model names the keys an answer carries and their JSON types, and is closed
(``additionalProperties: false``): a row with a family of keys of its own (one per metric,
period or grouping column) is a :class:`Keyed` row whose extra keys must be scalars. Routes attach them with
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
#: A JSON scalar: what a row's own family of keys (per metric, period, group) may hold.
Scalar = bool | int | float | str | None


class Shape(BaseModel):
    """An answer's shape: every key declared (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


class Keyed(Shape):
    """A row that also carries a family of keys of its own (``nps_low``, ``month``, ``segment``…):
    those are scalars (or a list of counts, such as an NPS distribution)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar | list[int]]


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
    reasons: dict[str, Scalar]


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
    conflicts: list[dict[str, Scalar]]


class TouchpointCard(Shape):
    touchpoint: str
    channel: str | None = None
    category: str | None = None
    critical: bool | None = None
    owner: str | None = None
    customers: int
    share: Number = None
    events: int | None = None
    drop_off: Number = None
    churn_share: Number = None
    channel_mix: dict[str, Number] | None = None
    targets: dict[str, Number] | None = None
    metrics: dict[str, Scalar] | None = None


class StageRow(Keyed):
    """A stage card; plus ``<outcome>_customers`` / ``<outcome>_share`` per way a journey goes on."""

    stage: str
    order: int
    customers: int
    share: Number = None
    events: int | None = None
    median_seconds_in_stage: Number = None
    drop_off: Number = None
    drop_off_customers: int | None = None
    churn_share: Number = None
    churned_customers: int | None = None
    conversion_to_next: Number = None
    next_stage_customers: int | None = None
    channel_mix: dict[str, Number] | None = None
    targets: dict[str, Number] | None = None
    metrics: dict[str, Scalar] | None = None
    touchpoints: list[TouchpointCard] | None = None


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
    in_stage_switch_customers: int | None = None
    in_stage_switch_share: Number = None
    hops_distribution: list[dict[str, Scalar]]
    online_offline: dict[str, dict[str, int]]
    matrix: list[dict[str, Scalar]]


class ConformancePublic(Shape):
    customers: int
    following_customers: int
    following_share: Number
    skipping_customers: int
    backward_moves: list[dict[str, Scalar]]
    skipped_stages: list[dict[str, Scalar]]
    friction: list[dict[str, Scalar]]


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


class TimelineSummary(Shape):
    events: int
    feedback: int
    first_seen: str | None = None
    last_seen: str | None = None
    episodes: int
    stages: list[str]


class CustomerTimelinePublic(Shape):
    customer_id: str
    resolved_from: str | None = None
    anonymous_ids: list[str]
    attributes: dict[str, Scalar] | None = None
    outcomes: dict[str, Scalar] | None = None
    summary: TimelineSummary
    items: list[dict[str, Scalar]]


# --- metrics, outcomes and trust -----------------------------------------------------------
class MetricRow(Keyed):
    n: int | None = None
    touchpoint: str | None = None
    nps: Number = None
    csat: Number = None
    ces: Number = None
    target_status: str | None = None


class MetricChangeRow(Keyed):
    touchpoint: str | None = None
    metric: str
    test: str | None = None
    statistic: Number = None
    incomplete: bool | None = None
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
    customers: list[dict[str, Scalar]]


class OutcomesPublic(Shape):
    period: str
    overall: dict[str, Scalar]
    periods: list[dict[str, Scalar]]
    latest_change: list[dict[str, Scalar]]


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


# --- journey analyses ----------------------------------------------------------------------
class TransitionRow(Keyed):
    """A move; split by a property (``by=``), plus that property's value under its own name."""

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
    outcome_rate: Number = None
    median_seconds: Number = None


class FunnelStep(Shape):
    step: str
    customers: int
    conversion_from_start: Number = None
    conversion_from_previous: Number = None
    median_seconds_from_previous: Number = None
    group: str | None = None


class GroupPair(Shape):
    a: str | None
    b: str | None
    difference: Number = None
    z: Number = None
    p_value: Number = None
    p_adjusted: Number = None
    significant: bool


class FunnelGroupTest(Keyed):
    method: str
    statistic: Number = None
    dof: int | None = None
    p_value: Number = None
    alpha: Number = None
    significant: bool | None = None
    pairs: list[GroupPair] = []


class FunnelByGroup(Shape):
    groups: list[FunnelStep]
    test: FunnelGroupTest | None = None


class SwitchImpactRow(Keyed):
    """A channel switch within a stage; plus its NPS and churn comparisons (``nps_*``, ``churn_*``, ``q``)."""

    stage: str | None
    from_channel: str | None
    to_channel: str | None
    customers: int
    others: int


class Health(Shape):
    status: str
    warehouse: str | None = None
    data_version: str | None = None
    error: str | None = None


class Coverage(Shape):
    events: int
    matched: int
    share: Number = None
    event_names: int
    matched_event_names: int


class DefinitionCheckPublic(Shape):
    valid: bool
    name: str | None = None
    version: str | int | float | None = None
    stages: int
    touchpoints: int
    cohorts: int
    coverage: Coverage
    by_stage: list[dict[str, Scalar]]
    unmatched: list[dict[str, Scalar]]
    unused_rules: list[str]


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
