"""Segment spec and canonical payloads → data-contract records."""

from __future__ import annotations

import pytest

from journeylens.ingest.segment_spec import normalise_batch, normalise_events, normalise_segment

NOW = "2024-05-01T12:00:00+00:00"


def test_track_maps_the_segment_fields() -> None:
    [(table, record)] = normalise_segment("track", {
        "userId": 42, "anonymousId": "a1", "event": "Order Completed", "messageId": "m-1",
        "timestamp": "2024-05-01T10:00:00Z", "properties": {"total": 30},
        "context": {"library": {"name": "analytics-python"}}}, received_at=NOW)
    assert table == "events"
    assert record == {"event_id": "m-1", "customer_id": "42", "anonymous_id": "a1",
                      "timestamp": "2024-05-01T10:00:00Z", "touchpoint": "Order Completed",
                      "channel": "server", "properties": {"total": 30}}


def test_identify_is_a_dollar_event_plus_customer_traits() -> None:
    entries = normalise_segment("identify", {"userId": "u1", "anonymousId": "a1",
                                             "traits": {"plan": "pro", "email": "x@example.com"}},
                                received_at=NOW)
    assert [t for t, _ in entries] == ["events", "customers"]
    event, customer = entries[0][1], entries[1][1]
    assert event["touchpoint"] == "$identify" and event["anonymous_id"] == "a1"
    assert event["timestamp"] == NOW  # no time stamp sent: the acceptance time
    assert customer == {"plan": "pro", "email": "x@example.com", "customer_id": "u1"}


def test_anonymous_identify_adds_no_customer_row() -> None:
    entries = normalise_segment("identify", {"anonymousId": "a1", "traits": {"plan": "pro"}}, received_at=NOW)
    assert [t for t, _ in entries] == ["events"]


def test_page_and_screen_touchpoints() -> None:
    def touchpoint(kind: str, message: dict) -> str:
        return normalise_segment(kind, message, received_at=NOW)[0][1]["touchpoint"]

    assert touchpoint("page", {"anonymousId": "a", "name": "Pricing"}) == "page:Pricing"
    assert touchpoint("page", {"anonymousId": "a", "properties": {"name": "Home"}}) == "page:Home"
    assert touchpoint("page", {"anonymousId": "a"}) == "page"
    assert touchpoint("screen", {"userId": "u", "name": "Basket"}) == "screen:Basket"
    assert touchpoint("alias", {"userId": "u", "previousId": "a"}) == "$alias"


def test_channel_precedence() -> None:
    def channel(message: dict) -> str | None:
        return normalise_segment("track", {"userId": "u", "event": "e", **message}, received_at=NOW)[0][1].get("channel")

    ios = {"context": {"library": {"name": "analytics-ios"}}}
    assert channel(ios) == "mobile"
    assert channel({"context": {"library": {"name": "analytics.js"}}}) == "web"
    assert channel({"channel": "browser", **ios}) == "web"
    assert channel({"properties": {"channel": "store"}, **ios}) == "store"
    assert channel({}) is None


def test_batch_uses_envelope_sent_at_and_context() -> None:
    entries = normalise_batch({"sentAt": "2024-05-01T09:00:00Z",
                               "context": {"library": {"name": "analytics-android"}},
                               "batch": [{"type": "track", "userId": "u", "event": "open"},
                                         {"type": "track", "userId": "u", "event": "x",
                                          "originalTimestamp": "2024-05-01T08:00:00Z"}]},
                              received_at=NOW)
    assert [r["timestamp"] for _, r in entries] == ["2024-05-01T09:00:00Z", "2024-05-01T08:00:00Z"]
    assert {r["channel"] for _, r in entries} == {"mobile"}
    assert len({r["event_id"] for _, r in entries}) == 2  # assigned ids are unique


def test_unusable_messages_are_kept_not_dropped() -> None:
    [(_, unknown)] = normalise_segment("launch", {"userId": "u"}, received_at=NOW)
    assert "touchpoint" not in unknown and unknown["payload"] == {"userId": "u"}
    [(_, scalar)] = normalise_events([7])
    assert scalar["payload"] == 7 and scalar["event_id"]


def test_canonical_events_keep_their_event_id() -> None:
    records = [r for _, r in normalise_events([{"event_id": "e1"}, {"event_id": ""}, {}])]
    assert records[0]["event_id"] == "e1"
    assert records[1]["event_id"] and records[2]["event_id"] and records[1]["event_id"] != records[2]["event_id"]


@pytest.mark.parametrize("odd", [[None, {}], "text", 5, True])
def test_nested_objects_of_the_wrong_type_never_fail_the_request(odd: object) -> None:
    """Found by the API fuzzer: a ``context`` or ``properties`` that is not an object raised a 500."""
    message = {"userId": "u1", "event": "Signed Up", "name": "Pricing", "timestamp": "2024-05-01T10:00:00Z",
               "context": odd, "properties": odd, "traits": odd}
    for kind in ("track", "page", "identify", "group"):
        [(table, record), *_] = normalise_segment(kind, message, received_at="2024-05-01T10:00:01Z")
        assert table == "events" and record["customer_id"] == "u1"
    [(_, batched)] = normalise_batch({"batch": [{**message, "type": "track"}], "context": odd},
                                     received_at="2024-05-01T10:00:01Z")
    assert batched["touchpoint"] == "Signed Up"
    [(_, unknown)] = normalise_batch({"batch": [{**message, "type": odd}]}, received_at="2024-05-01T10:00:01Z")
    assert "payload" in unknown  # a type that is not a call name: kept whole, to be quarantined
