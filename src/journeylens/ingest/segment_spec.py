"""HTTP payloads → records of the data contract (what the collector spools).

Two dialects reach the collector: JourneyLens' own events (the canonical columns, posted as
a JSON list) and the Segment tracking spec (``track``, ``identify``, ``page``, ``screen``,
``alias``, ``group`` and ``batch``), so that existing Segment / RudderStack SDKs can send
to JourneyLens unchanged. Mapping is cheap and never rejects: a message that cannot be
used is still spooled and ends up in the quarantine with its reason.

Every record gets a stable ``event_id`` at acceptance (Segment's ``messageId`` when
present), which makes replaying the spool after a crash idempotent.

>>> entries = normalise_segment("page", {"anonymousId": "a1", "name": "Pricing",
...     "messageId": "m1", "timestamp": "2024-05-01T10:00:00Z",
...     "context": {"library": {"name": "analytics.js"}}}, received_at="2024-05-01T10:00:01Z")
>>> entries[0][1]["touchpoint"], entries[0][1]["channel"], entries[0][1]["event_id"]
('page:Pricing', 'web', 'm1')
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from journeylens.ingest.spool import Entry
from journeylens.warehouse.schema import EVENTS

#: Touchpoints of Segment calls that are not visits: ``$``-prefixed events are used for
#: identity stitching and are left out of journeys.
IDENTITY_TOUCHPOINTS: dict[str, str] = {"identify": "$identify", "alias": "$alias", "group": "$group"}
SEGMENT_TYPES: tuple[str, ...] = ("track", "page", "screen", "identify", "alias", "group")

#: Segment's top-level ``channel`` values → JourneyLens channels.
SEGMENT_CHANNELS: dict[str, str] = {"browser": "web", "client": "web", "mobile": "mobile", "server": "server"}
_MOBILE_LIBRARY_HINTS = ("ios", "android", "react-native", "swift", "kotlin", "flutter", "xamarin", "unity")
_RESERVED_COLUMNS = frozenset(EVENTS.names) | {"_row", "payload"}
_WEB_LIBRARY_HINTS = ("analytics.js", "analytics-next", "javascript", "browser", "rudder-sdk-js")


def received_now() -> str:
    """The acceptance time stamp used when a message carries none (ISO 8601, UTC)."""
    return datetime.now(UTC).isoformat()


def new_event_id() -> str:
    return uuid.uuid4().hex


def normalise_events(items: list[Any]) -> list[Entry]:
    """Canonical events: kept as sent, plus an ``event_id`` when missing.

    Anything that is not a JSON object is kept under ``payload`` (it will be quarantined).

    >>> [r for _, r in normalise_events([{"event_id": "e1", "touchpoint": "login"}])]
    [{'event_id': 'e1', 'touchpoint': 'login'}]
    """
    entries: list[Entry] = []
    for item in items:
        record = dict(item) if isinstance(item, dict) else {"payload": item}
        if not record.get("event_id"):
            record["event_id"] = new_event_id()
        entries.append(("events", record))
    return entries


def normalise_batch(body: Mapping[str, Any], *, received_at: str) -> list[Entry]:
    """A Segment ``/v1/batch`` body: ``{"batch": [...], "sentAt", "context"}``."""
    envelope = {"sentAt": body.get("sentAt"), "context": body.get("context")}
    entries: list[Entry] = []
    for message in body.get("batch") or []:
        kind = message.get("type") if isinstance(message, dict) else None
        kind = kind if isinstance(kind, str) else None  # any other JSON value: an unknown call, quarantined
        entries.extend(normalise_segment(kind, message, received_at=received_at, envelope=envelope))
    return entries


def normalise_segment(kind: str | None, message: Any, *, received_at: str,
                      envelope: Mapping[str, Any] | None = None) -> list[Entry]:
    """One Segment message → an ``events`` record (plus a ``customers`` record for ``identify``)."""
    if not isinstance(message, dict):
        return [("events", {"event_id": new_event_id(), "payload": message})]
    envelope = envelope or {}
    # a field of the wrong JSON type is ignored here; the row is still judged (and maybe quarantined) on load
    context = {**_object(envelope.get("context")), **_object(message.get("context"))}
    traits = message.get("traits") or context.get("traits") or {}
    properties = _properties(kind, message, traits)
    record: dict[str, Any] = {
        "event_id": _text(message.get("messageId")) or new_event_id(),
        "customer_id": _text(message.get("userId")),
        "anonymous_id": _text(message.get("anonymousId") or message.get("previousId")),
        "timestamp": (message.get("timestamp") or message.get("originalTimestamp")
                      or message.get("sentAt") or envelope.get("sentAt") or received_at),
        "touchpoint": _touchpoint(kind, message),
        "channel": _channel(message, properties, context),
        "properties": properties,
    }
    if kind not in SEGMENT_TYPES:
        record["payload"] = message  # unknown call type: quarantined with the whole message
    record = {k: v for k, v in record.items() if v is not None}
    entries: list[Entry] = [("events", record)]
    if kind == "identify" and record.get("customer_id") and isinstance(traits, dict) and traits:
        entries.append(("customers", {**traits, "customer_id": record["customer_id"]}))
    return entries


def flatten_properties(record: Mapping[str, Any]) -> dict[str, Any]:
    """Lift ``properties`` keys to columns (the contract: any other column is a property).

    Keys that would shadow a column of the events table stay nested under ``properties``.

    >>> flatten_properties({"touchpoint": "buy", "properties": {"total": 3, "timestamp": "x"}})
    {'touchpoint': 'buy', 'total': 3, 'properties': {'timestamp': 'x'}}
    """
    properties = record.get("properties")
    if not isinstance(properties, dict):
        return dict(record)
    flat = {k: v for k, v in record.items() if k != "properties"}
    shadowing = {k: v for k, v in properties.items() if k in flat or k in _RESERVED_COLUMNS}
    flat.update({k: v for k, v in properties.items() if k not in shadowing})
    if shadowing:
        flat["properties"] = shadowing
    return flat


def _touchpoint(kind: str | None, message: Mapping[str, Any]) -> str | None:
    """``track`` → its event name; ``page``/``screen`` → ``page:<name>`` (``page`` when
    unnamed); ``identify``/``alias``/``group`` → ``$identify``/``$alias``/``$group``."""
    if kind == "track":
        return _text(message.get("event"))
    if kind in ("page", "screen"):
        name = _text(message.get("name") or _object(message.get("properties")).get("name"))
        return f"{kind}:{name}" if name else kind
    return IDENTITY_TOUCHPOINTS.get(kind or "")


def _properties(kind: str | None, message: Mapping[str, Any], traits: Any) -> dict[str, Any]:
    if kind == "identify":
        return dict(traits) if isinstance(traits, dict) else {}
    properties = message.get("properties")
    properties = dict(properties) if isinstance(properties, dict) else {}
    if kind == "alias" and message.get("previousId") is not None:
        properties["previous_id"] = message["previousId"]
    if kind == "group":
        properties.update({"group_id": message.get("groupId"), **(traits if isinstance(traits, dict) else {})})
    return properties


def _channel(message: Mapping[str, Any], properties: Mapping[str, Any],
             context: Mapping[str, Any]) -> str | None:
    """``properties.channel`` wins; else Segment's ``context.channel`` / ``channel``
    (browser → web, mobile, server); else guessed from ``context.library.name``."""
    if properties.get("channel"):
        return str(properties["channel"])
    declared = context.get("channel") or message.get("channel")
    if declared:
        return SEGMENT_CHANNELS.get(str(declared).lower(), str(declared))
    library = context.get("library")
    name = str(library.get("name", "")).lower() if isinstance(library, dict) else ""
    if not name:
        return None
    if any(hint in name for hint in _MOBILE_LIBRARY_HINTS):
        return "mobile"
    if any(hint in name for hint in _WEB_LIBRARY_HINTS):
        return "web"
    return "server"


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else empty (Segment's nested objects may be anything)."""
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
