"""The shapes of the text-analytics answers (``/v1/text/*``), closed: every key is declared.

A key an answer may carry per aspect (``aspect_<id>``, ``aspect_<id>_score`` on each response)
is typed through ``__pydantic_extra__``; nothing else is allowed, so the OpenAPI document says
``additionalProperties: false`` (or the extra keys' type) and the fuzzer
(``tests/surfaces/api/test_fuzz.py``) and ``tests/surfaces/api/test_response_shapes.py`` fail
on any key that drifts in.

>>> SentimentPublic.model_json_schema()["additionalProperties"]
False
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Number = float | None


class Closed(BaseModel):
    """An answer shape that declares every key (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


# --- sentiment -----------------------------------------------------------------------------
class SentimentCounts(Closed):
    n: int
    positive: int
    neutral: int
    negative: int
    not_scored: int
    not_scored_languages: dict[str, int]
    mean_score: Number
    negative_share: Number


class TouchpointSentiment(SentimentCounts):
    touchpoint: str | None


class ScoredComment(Closed):
    response_id: str | None = None
    customer_id: str | None = None
    timestamp: str | None = None
    touchpoint: str | None = None
    stage: str | None = None
    language: str | None = None
    score: Number
    label: str
    not_scored_reason: str | None = None
    comment: str


class SentimentPublic(Closed):
    model: str
    overall: SentimentCounts
    by_touchpoint: list[TouchpointSentiment]
    comments: list[ScoredComment]


# --- topics --------------------------------------------------------------------------------
class PeriodPoint(Closed):
    """A point of a trend; the period key is the period asked for (day, week, month, quarter)."""

    day: str | None = None
    week: str | None = None
    month: str | None = None
    quarter: str | None = None
    n: int


class TopicTrendPoint(PeriodPoint):
    share: Number


class Topic(Closed):
    topic: int
    label: str
    keyphrases: list[str]
    size: int
    share: Number
    avg_sentiment: Number
    negative_share: Number
    touchpoints: dict[str, int]
    stages: dict[str, int]
    trend: list[TopicTrendPoint]
    examples: list[str]


class PainCell(Closed):
    """One cell of a touchpoint × topic (or aspect) matrix, with its pain score."""

    touchpoint: str | None
    topic: int | None = None
    aspect: str | None = None
    label: str
    n: int
    negative_share: Number
    mean_score: Number
    pain: Number


class EmergingTopic(Closed):
    topic: int
    label: str
    latest_period: str | None
    latest_n: int
    latest_share: Number
    before_share: Number
    growth: Number
    p: Number


class TopicsPublic(Closed):
    k: int
    silhouette: Number
    comments: int
    excluded_non_english: int
    excluded_languages: dict[str, int] = {}
    excluded_reason: str | None = None
    period: str
    model: str | None
    embedder: str | None
    topics: list[Topic]
    matrix: list[PainCell]
    emerging: list[EmergingTopic]


class PainPoint(PainCell):
    kind: str


# --- aspects -------------------------------------------------------------------------------
class AspectTrendPoint(PeriodPoint):
    positive: int
    neutral: int
    negative: int
    negative_share: Number


class AspectSummary(Closed):
    aspect: str
    name: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    negative_share: Number
    mean_score: Number
    trend: list[AspectTrendPoint]


class AspectResponse(Closed):
    """A response with its aspects; plus ``aspect_<id>`` (label) and ``aspect_<id>_score`` per aspect."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | float | None]

    response_id: str | None = None
    customer_id: str | None = None
    touchpoint: str | None = None
    timestamp: str | None = None
    language: str | None = None
    comment: str
    aspects: list[str]
    negative_aspects: list[str]


class AspectsPublic(Closed):
    model: str
    period: str
    comments: int
    with_aspects: int
    not_scored: int
    not_scored_languages: dict[str, int]
    aspect_names: dict[str, str]
    aspects: list[AspectSummary]
    matrix: list[PainCell]
    responses: list[AspectResponse]


# --- label corrections ---------------------------------------------------------------------
class CorrectionPublic(Closed):
    id: int
    response_id: str
    aspect: str | None
    comment: str
    label: str
    previous_label: str | None
    model: str | None
    corrected_by: str
    created_at: str | None


class CorrectionEvaluation(Closed):
    model: str
    n: int
    accuracy: Number
    macro_f1: Number
    f1: dict[str, Number]
