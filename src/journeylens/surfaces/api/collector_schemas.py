"""What the collector accepts and answers, as pydantic models (for the OpenAPI document).

The collector reads its bodies itself (gzip, byte and batch limits, see
:mod:`journeylens.surfaces.api.collector`), so FastAPI does not validate them: these models
describe the envelope that is checked (a JSON list of records, ``{"events": [...]}`` or one
record; ``{"batch": [...]}`` for Segment batches) and the fields each record should carry.
A record that breaks the row schema is still accepted and acknowledged — it is quarantined
on load with its reason, one row at a time, so one bad record never rejects its batch.

>>> "items" in events_body_schema()["anyOf"][0]
True
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_ROW_NOTE = ("A record that breaks this schema is accepted and quarantined on load with its reason "
             "(one row at a time); other keys are kept in `properties`.")


class EventIn(BaseModel):
    """One event of the data contract (``docs/data-contract.md``)."""

    model_config = ConfigDict(extra="allow", title="EventIn", json_schema_extra={"description": _ROW_NOTE})

    event_id: str | None = Field(default=None, description="Unique id; generated when missing (dedupe key).")
    customer_id: str | None = Field(default=None, description="Known customer (this or anonymous_id is needed).")
    anonymous_id: str | None = Field(default=None, description="Device or cookie id, stitched to a customer later.")
    timestamp: str | float | None = Field(default=None, description="ISO 8601 date-time or epoch seconds.")
    touchpoint: str | None = Field(default=None, description="What happened, e.g. 'visit'.")
    channel: str | None = Field(default=None, description="Where it happened, e.g. 'web'.")
    properties: dict[str, Any] | None = Field(default=None, description="Anything else (JSON object).")


class FeedbackIn(BaseModel):
    """One feedback row of the data contract (a survey answer, a review, ...)."""

    model_config = ConfigDict(extra="allow", title="FeedbackIn", json_schema_extra={"description": _ROW_NOTE})

    feedback_id: str | None = None
    customer_id: str | None = None
    timestamp: str | float | None = Field(default=None, description="ISO 8601 date-time or epoch seconds.")
    nps: float | None = Field(default=None, description="0-10.")
    csat: float | None = Field(default=None, description="1-5.")
    ces: float | None = Field(default=None, description="1-7.")
    comment: str | None = None
    touchpoint: str | None = None
    channel: str | None = None
    survey: str | None = None


class SegmentMessage(BaseModel):
    """One Segment tracking-spec message (what the Segment and RudderStack SDKs send)."""

    model_config = ConfigDict(extra="allow", title="SegmentMessage", json_schema_extra={"description": (
        "Other Segment fields are accepted; a message that cannot be used is quarantined on load.")})

    type: str | None = Field(default=None, description="track, page, screen, identify, alias or group "
                                                       "(only read inside /v1/batch).")
    userId: str | None = None  # Segment's own field names
    anonymousId: str | None = None
    messageId: str | None = Field(default=None, description="Becomes the event id (replays are idempotent).")
    timestamp: str | None = None
    event: str | None = Field(default=None, description="track: the touchpoint.")
    name: str | None = Field(default=None, description="page/screen: touchpoint 'page:<name>'.")
    previousId: str | None = Field(default=None, description="alias: the id being merged.")
    groupId: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None


class SegmentBatch(BaseModel):
    """``POST /v1/batch``: what the Segment SDKs send."""

    model_config = ConfigDict(extra="allow", title="SegmentBatch")

    batch: list[SegmentMessage]
    context: dict[str, Any] | None = None


class Accepted(BaseModel):
    """The records were spooled and fsynced; they reach the warehouse shortly (or on flush)."""

    accepted: int
    queued: bool


class SegmentAck(BaseModel):
    """Segment's own answer shape."""

    success: bool


class FlushReport(BaseModel):
    """What ``POST /v1/flush`` loaded."""

    segments: int
    records: int
    records_by_table: dict[str, int]
    pending_segments: int
    max_lag_seconds: float
    journeys_refreshed: bool
    journeys_error: str | None = None


class CollectorStatus(BaseModel):
    """Spool and loader counters."""

    commit: str
    spool: str
    pending_segments: int
    appends: int
    fsyncs: int
    bytes_written: int
    loaded_segments: int
    loaded_records: int
    failed_segments: int
    max_lag_seconds: float
    last_error: str | None


def _inline(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with nested models inlined (the body is read by hand, so the
    schema goes in ``openapi_extra`` where ``$defs`` references would not resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


def _list_body(row: type[BaseModel], key: str) -> dict[str, Any]:
    item = _inline(row)
    return {"anyOf": [{"type": "array", "items": item},
                      {"type": "object", "properties": {key: {"type": "array", "items": item}}, "required": [key]},
                      item]}


def events_body_schema() -> dict[str, Any]:
    return _list_body(EventIn, "events")


def request_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """``openapi_extra`` declaring a JSON request body (gzip allowed via Content-Encoding)."""
    return {"requestBody": {"required": True, "description": description + " Send `Content-Encoding: gzip` "
                            "for a compressed body.", "content": {"application/json": {"schema": schema}}}}


EVENTS_BODY = request_body(events_body_schema(), "A JSON list of events, `{\"events\": [...]}` or one event.")
FEEDBACK_BODY = request_body(_list_body(FeedbackIn, "feedback"),
                             "A JSON list of feedback rows, `{\"feedback\": [...]}` or one row.")
SEGMENT_BODY = request_body(_inline(SegmentMessage), "One Segment message (a JSON object).")
BATCH_BODY = request_body(_inline(SegmentBatch), "`{\"batch\": [messages...]}`.")
