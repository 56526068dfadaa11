"""Canonical table schemas: the data contract of ``DESIGN.md`` as column types.

Every stored table carries lineage columns: ``_source`` (file name, ``http`` or ``frame``),
``_row`` (1-based row number in that source), ``_seq`` (global ingest order, the tie-breaker
that keeps equal timestamps in source order), ``_key`` (dedupe key: the row's id, null without one) and ``_batch`` (ingest id).
"""

from __future__ import annotations

from typing import Final

import ibis.expr.datatypes as dt
import ibis.expr.schema as sch

TIMESTAMP: Final = dt.Timestamp(timezone="UTC", nullable=True)

LINEAGE: Final[dict[str, dt.DataType]] = {
    "_source": dt.string,
    "_row": dt.int64,
    "_seq": dt.int64,
    "_key": dt.string,
    "_batch": dt.string,
}

EVENTS: Final = sch.Schema(
    {
        "event_id": dt.string,
        "customer_id": dt.string,
        "anonymous_id": dt.string,
        "timestamp": TIMESTAMP,
        "touchpoint": dt.string,
        "channel": dt.string,
        "properties": dt.string,  # JSON object of every other column
        **LINEAGE,
    }
)

FEEDBACK: Final = sch.Schema(
    {
        "response_id": dt.string,
        "customer_id": dt.string,
        "timestamp": TIMESTAMP,
        "touchpoint": dt.string,
        "channel": dt.string,
        "survey": dt.string,
        "respondent": dt.string,  # 'customer' (default) or 'employee' (eNPS)
        "nps": dt.int32,
        "csat": dt.int32,
        "ces": dt.int32,
        "comment": dt.string,
        "language": dt.string,
        "metrics": dt.string,  # JSON object of other numeric metrics
        "properties": dt.string,
        **LINEAGE,
    }
)

CUSTOMERS: Final = sch.Schema(
    {
        "customer_id": dt.string,
        "segment": dt.string,
        "region": dt.string,
        "plan": dt.string,
        "value": dt.float64,
        "churned": dt.boolean,
        "churn_date": TIMESTAMP,
        "revenue": dt.float64,
        "attributes": dt.string,  # JSON object of other columns
        **LINEAGE,
    }
)

SPEND: Final = sch.Schema(
    {
        "channel": dt.string,
        "date": TIMESTAMP,
        "amount": dt.float64,
        "currency": dt.string,
        "campaign": dt.string,
        "properties": dt.string,
        **LINEAGE,
    }
)

QUARANTINE: Final = sch.Schema(
    {
        "table": dt.string,
        "source": dt.string,
        "row": dt.int64,
        "raw": dt.string,  # the row as read, JSON
        "reason": dt.string,  # stable reason code, see journeylens.ingest.reasons
        "detail": dt.string,
        "_batch": dt.string,
        "quarantined_at": TIMESTAMP,
    }
)

INGEST_LOG: Final = sch.Schema(
    {
        "_batch": dt.string,
        "table": dt.string,
        "source": dt.string,
        "started_at": TIMESTAMP,
        "finished_at": TIMESTAMP,
        "read": dt.int64,
        "accepted": dt.int64,
        "duplicates": dt.int64,
        "quarantined": dt.int64,
        "reasons": dt.string,  # JSON {code: n}
    }
)

IDENTITIES: Final = sch.Schema(
    {
        "anonymous_id": dt.string,
        "customer_id": dt.string,
        "first_linked_at": TIMESTAMP,
        "events": dt.int64,
    }
)

#: Canonical input tables (what ``journeylens ingest`` accepts) and their schemas.
INPUT_TABLES: Final[dict[str, sch.Schema]] = {
    "events": EVENTS,
    "feedback": FEEDBACK,
    "customers": CUSTOMERS,
    "spend": SPEND,
}

#: Tables the warehouse keeps besides the inputs.
SYSTEM_TABLES: Final[dict[str, sch.Schema]] = {
    "quarantine": QUARANTINE,
    "ingest_log": INGEST_LOG,
}

#: Required columns per input table (feedback additionally needs one metric or a comment).
REQUIRED: Final[dict[str, tuple[str, ...]]] = {
    "events": ("customer_id", "timestamp", "touchpoint"),
    "feedback": ("timestamp",),
    "customers": ("customer_id",),
    "spend": ("channel", "date", "amount"),
}

#: One row: what ``journey_events`` was built from (see ``journeylens.journeys.incremental``).
JOURNEY_STATE: Final = "journey_state"

#: Name of the enriched, stitched event table that analyses read.
JOURNEY_EVENTS: Final = "journey_events"

#: Schema of ``journey_events``: events after identity stitching and the journey definition.
#: ``customer_id`` is the stitched customer (``anon:<id>`` when an anonymous id was never
#: linked); ``step`` and ``episode`` are 1-based per customer in (timestamp, _seq) order;
#: ``stage``/``category`` are null when no touchpoint rule matched; ``channel`` is the event's
#: own channel, else the definition's.
JOURNEY_EVENTS_SCHEMA: Final = sch.Schema(
    {
        "customer_id": dt.string,
        "anonymous_id": dt.string,
        "event_id": dt.string,
        "timestamp": TIMESTAMP,
        "touchpoint": dt.string,
        "channel": dt.string,
        "stage": dt.string,
        "stage_order": dt.int32,
        "category": dt.string,
        "critical": dt.boolean,
        "step": dt.int64,
        "seconds_since_previous": dt.float64,
        "episode": dt.int64,
        "properties": dt.string,
        "_seq": dt.int64,
    }
)
