"""Stable reason codes for quarantined rows.

A row that cannot be used is never dropped: it lands in the ``quarantine`` table with one
of these codes (the first check it fails), its 1-based source row number, the row as read
(``raw``, JSON) and a human ``detail``. The codes are part of the public contract (the CLI
``--reason`` filter, the HTTP API and dashboards use them): add new ones, never rename.

Why the timestamp range is 1970-01-01 .. now + 1 day: CX events predate nothing older than
the Unix epoch in practice, and dates before it are nearly always a parser default or a
sentinel (``0001-01-01``, ``1900-01-01``); a day of slack in the future covers every time
zone offset (at most +14 h) and ordinary clock skew, while anything later is a bad clock or
a wrong format (day and month swapped, milliseconds read as seconds).
"""

from __future__ import annotations

from typing import Final

MALFORMED_ROW: Final = "malformed_row"
INVALID_JSON: Final = "invalid_json"
INVALID_XML: Final = "invalid_xml"
MISSING_CUSTOMER_ID: Final = "missing_customer_id"
MISSING_TOUCHPOINT: Final = "missing_touchpoint"
MISSING_TIMESTAMP: Final = "missing_timestamp"
BAD_TIMESTAMP: Final = "bad_timestamp"
TIMESTAMP_OUT_OF_RANGE: Final = "timestamp_out_of_range"
BAD_NUMBER: Final = "bad_number"
BAD_BOOLEAN: Final = "bad_boolean"
SCORE_OUT_OF_RANGE: Final = "score_out_of_range"
NO_METRIC: Final = "no_metric"
MISSING_CHANNEL: Final = "missing_channel"
MISSING_DATE: Final = "missing_date"
MISSING_AMOUNT: Final = "missing_amount"
BAD_AMOUNT: Final = "bad_amount"
BAD_VALUE: Final = "bad_value"
LINE_BREAK_IN_NAME: Final = "line_break_in_name"

#: Every code with what it means (documented in docs/ingest.md; a test keeps both in step).
REASONS: Final[dict[str, str]] = {
    MALFORMED_ROW: "a CSV line with the wrong number of fields (or otherwise unparseable)",
    INVALID_JSON: "a JSON Lines line that is not a JSON object",
    INVALID_XML: "an XES file that stops being well-formed XML (the rest of the file cannot be read)",
    MISSING_CUSTOMER_ID: "no customer_id (events: and no anonymous_id either)",
    MISSING_TOUCHPOINT: "no touchpoint",
    MISSING_TIMESTAMP: "no timestamp",
    BAD_TIMESTAMP: "a timestamp or date that cannot be parsed",
    TIMESTAMP_OUT_OF_RANGE: "a timestamp before 1970-01-01 or more than 1 day after the ingest",
    BAD_NUMBER: "a score, metric or number that is not a number",
    BAD_BOOLEAN: "a boolean (customers.churned) that is not true/false/yes/no/1/0",
    SCORE_OUT_OF_RANGE: "nps outside 0-10, csat outside 1-5, ces outside 1-7, or not a whole number",
    NO_METRIC: "a feedback row without nps, csat, ces, another metric or a comment",
    MISSING_CHANNEL: "spend without a channel",
    MISSING_DATE: "spend without a date",
    MISSING_AMOUNT: "spend without an amount",
    BAD_AMOUNT: "a spend amount that is not a number",
    BAD_VALUE: "a value of the wrong kind: an array or object where one value belongs, a boolean as an id or "
               "time, or an id with a NUL character",
    LINE_BREAK_IN_NAME: "an id, touchpoint or channel holding a line break: in a CSV file, an unterminated "
                        "quote that swallowed the lines after it (fix the quote and ingest those lines again)",
}
