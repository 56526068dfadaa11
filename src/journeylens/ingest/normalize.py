"""Normalisation and validation as one set-based SQL statement per batch.

:func:`stage_batch` turns a reader batch into an Arrow table whose column names are all
generated here (``s_<canonical>`` for mapped columns, ``_extra``/``_raw`` structs that carry
the source's own names as struct fields), so the SQL built by :func:`normalize_sql` never
contains a name or value from the input. The statement parses and types every canonical
column, picks the first failing check as ``_reason`` (codes from :mod:`reasons`), sets
``_key`` to the row's id (null without one: such rows are deduplicated on their content, no
hash is computed) and builds ``_detail`` and the ``raw`` JSON only for bad rows. The same
statement runs over a registered Arrow batch (chunked path) or over DuckDB's own scan of a
CSV / Parquet file (:mod:`.bulk`), on the warehouse connection (DuckDB) or an embedded
DuckDB (other engines). Every expensive parse is computed once per row in its own
projection (``t_`` trimmed text, ``p_`` parsed values) and only referenced by the checks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from journeylens.ingest import reasons as r
from journeylens.ingest.mapping import EXTRA_COLUMN, ColumnPlan, canonical_columns
from journeylens.ingest.readers.base import ABSENT_COL, ROW_COL, json_for_empty_structs
from journeylens.ingest.scalars import count_valid, judge_columns, metric_values

# Column kinds (how a source value is parsed).
_IDS: Final = {"event_id", "customer_id", "anonymous_id", "touchpoint", "channel", "response_id",
               "survey", "respondent", "language", "segment", "region", "plan", "currency", "campaign"}
_TIMES: Final = {"timestamp", "churn_date", "date"}
_SCORE_RANGES: Final = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
_FLOATS: Final = {"value", "revenue", "amount"}
_BOOLS: Final = {"churned"}
_TRUE: Final = "('true','t','yes','y','1')"
_FALSE: Final = "('false','f','no','n','0')"
_HAS_OFFSET: Final = r"'(Z|z|[+-]\d\d(:?\d\d)?)$'"
_SCAN_CHUNK_ROWS: Final = 32_768
_FORMAT_HINT: Final = " (expected ISO 8601, e.g. 2024-05-01T12:30:00+02:00)"


#: Unmapped source columns named like a JSON catch-all are merged into it (a Segment-style
#: ``properties`` object, a ``metrics`` object) instead of being nested one level down.
OWN_JSON: Final = {"events": ("properties",), "feedback": ("properties", "metrics"),
                   "customers": ("attributes",), "spend": ("properties",)}


@dataclass(frozen=True)
class StageShape:
    """What :func:`normalize_sql` needs to know about its input relation's generated columns."""

    types: dict[str, pa.DataType]  # canonical column -> source Arrow type (mapped ones only)
    own: dict[str, pa.DataType] = field(default_factory=dict)  # catch-all -> type of the source's own
    extra: bool = False  # an ``_extra`` struct of the leftover columns
    metrics: bool = False  # ``_metrics`` / ``_metric_n`` / ``_metric_bad`` (feedback)
    sparse: bool = False  # ``_extra_absent`` / ``_raw_absent``: struct fields a record did not have
    value_bad: bool = False  # ``_value_bad``: per row, a value of the wrong kind (:mod:`.scalars`)


@dataclass(frozen=True)
class StagedBatch:
    """A batch ready for :func:`normalize_sql`: the Arrow data and its shape."""

    data: pa.Table
    shape: StageShape


def stage_batch(plan: ColumnPlan, batch: pa.RecordBatch) -> StagedBatch:
    """Rename mapped columns to ``s_<target>``; wrap the rest in ``_extra``; keep ``_raw``."""
    batch = json_for_empty_structs(batch)
    names = [n for n in batch.schema.names if n not in (ROW_COL, ABSENT_COL)]
    arrays: dict[str, pa.Array] = {"_row": batch.column(ROW_COL)}
    judged, value_bad = judge_columns(plan.targets, batch)
    arrays.update({f"s_{target}": column for target, column in judged.items()})
    types = {target: column.type for target, column in judged.items()}
    if value_bad is not None:
        arrays["_value_bad"] = value_bad
    own = {n: batch.schema.field(n).type for n in OWN_JSON[plan.table]
           if n in names and n not in plan.mapped_sources}
    for name in own:
        arrays[f"_own_{name}"] = batch.column(name)
    extras = [n for n in plan.extras(names) if n not in own]
    absent = _absent_lists(batch)
    if extras:
        arrays["_extra"] = _struct(batch, extras)
        if absent is not None:
            arrays["_extra_absent"] = _absent_fields(absent, extras)
    metrics = [m for m in plan.metric_cols if m in names]
    if metrics:
        values, bad = metric_values(batch, metrics)
        arrays["_metrics"] = pa.StructArray.from_arrays(values, names=unique_fields(metrics))
        arrays["_metric_n"] = count_valid(values, batch.num_rows)
        arrays["_metric_bad"] = bad
    arrays["_raw"] = _struct(batch, names) if names else pa.nulls(batch.num_rows, pa.string())
    if absent is not None:
        arrays["_raw_absent"] = _absent_fields(absent, names)
    # Several record batches let DuckDB scan (and normalise) them on all cores.
    data = pa.Table.from_batches(pa.table(arrays).to_batches(max_chunksize=_SCAN_CHUNK_ROWS))
    shape = StageShape(types, own, extra=bool(extras), metrics=bool(metrics),
                       sparse=absent is not None and (bool(extras) or bool(names)), value_bad=value_bad is not None)
    return StagedBatch(data, shape)


def _absent_lists(batch: pa.RecordBatch) -> list[list[str] | None] | None:
    """Per row, the columns the record did not have (readers of dicts add them), or None."""
    if ABSENT_COL not in batch.schema.names:
        return None
    column = batch.column(ABSENT_COL)
    return None if column.null_count == len(column) else column.to_pylist()


def _absent_fields(absent: list[list[str] | None], names: Sequence[str]) -> pa.Array:
    """The absent columns of each row as the struct field names :func:`_struct` gives them."""
    fields = dict(zip(names, unique_fields(names), strict=True))
    return pa.array([None if row is None else [fields[n] for n in row if n in fields] for row in absent],
                    type=pa.list_(pa.string()))


def _struct(batch: pa.RecordBatch, names: Sequence[str]) -> pa.StructArray:
    return pa.StructArray.from_arrays([batch.column(n) for n in names], names=unique_fields(names))


def unique_fields(names: Sequence[str]) -> list[str]:
    """Struct field names unique case-insensitively (DuckDB compares them that way)."""
    seen: set[str] = set()
    out = []
    for name in names:
        candidate, n = name, 2
        while candidate.lower() in seen:
            candidate, n = f"{name}_{n}", n + 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


# --- SQL ------------------------------------------------------------------------------
def _is_text(typ: pa.DataType | None) -> bool:
    return typ is not None and (pa.types.is_string(typ) or pa.types.is_large_string(typ))


def _clean(column: str, typ: pa.DataType | None) -> str:
    """The trimmed, non-empty text of a mapped column (``t_<column>``, computed once per row
    for text columns: an expression repeated in the checks would be evaluated each time)."""
    if typ is None:
        return "CAST(NULL AS VARCHAR)"
    return f"t_{column}" if _is_text(typ) else f"NULLIF(trim(CAST(s_{column} AS VARCHAR)), '')"


def _text(column: str, typ: pa.DataType | None, *, trim: bool) -> str:
    if typ is None:
        return "CAST(NULL AS VARCHAR)"
    if trim:
        return _clean(column, typ)
    return f"s_{column}" if _is_text(typ) else f"CAST(s_{column} AS VARCHAR)"


def _timestamp(column: str, typ: pa.DataType | None) -> str:
    col = f"s_{column}"
    if typ is None:
        return "CAST(NULL AS TIMESTAMPTZ)"
    if pa.types.is_timestamp(typ):
        return f"CAST({col} AS TIMESTAMPTZ)" if typ.tz else f"timezone($tz, CAST({col} AS TIMESTAMP))"
    if pa.types.is_date(typ):
        return f"timezone($tz, CAST({col} AS TIMESTAMP))"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        # Epoch numbers: seconds, milliseconds or microseconds by magnitude.
        # Beyond 1e17 (microseconds in year 5138), or not finite: not a time (bad_timestamp).
        size = f"abs(CAST({col} AS DOUBLE))"
        return (f"CASE WHEN NOT isfinite(CAST({col} AS DOUBLE)) OR {size} >= 1e17 THEN NULL "
                f"WHEN {size} < 1e11 THEN to_timestamp({col}) "
                f"WHEN {size} < 1e14 THEN to_timestamp({col} / 1e3) ELSE to_timestamp({col} / 1e6) END")
    text = _clean(column, typ)
    # A trailing Z (the common case) settles it without the regular expression.
    with_zone = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    return (f"CASE WHEN suffix({text}, 'Z') THEN {with_zone} WHEN regexp_matches({text}, {_HAS_OFFSET}) "
            f"THEN {with_zone} ELSE timezone($tz, TRY_CAST({text} AS TIMESTAMP)) END")


def _number(column: str, typ: pa.DataType | None) -> str:
    col = f"s_{column}"
    if typ is None:
        return "CAST(NULL AS DOUBLE)"
    if pa.types.is_boolean(typ):
        return f"CAST(CAST({col} AS INTEGER) AS DOUBLE)"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return f"CAST({col} AS DOUBLE)"
    return f"TRY_CAST({_clean(column, typ)} AS DOUBLE)"


def _boolean(column: str, typ: pa.DataType | None) -> str:
    col = f"s_{column}"
    if typ is None:
        return "CAST(NULL AS BOOLEAN)"
    if pa.types.is_boolean(typ):
        return col
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return f"({col} <> 0)"
    low = f"lower({_clean(column, typ)})"
    return f"CASE WHEN {low} IN {_TRUE} THEN true WHEN {low} IN {_FALSE} THEN false END"


def _parsed(column: str, typ: pa.DataType | None) -> str:
    if column in _TIMES:
        return _timestamp(column, typ)
    if column in _SCORE_RANGES or column in _FLOATS:
        return _number(column, typ)
    if column in _BOOLS:
        return _boolean(column, typ)
    return _text(column, typ, trim=column in _IDS)


def _given(column: str, typ: pa.DataType | None) -> str:
    """True where the source had a (non-blank) value."""
    if typ is None:
        return "false"
    if not _is_text(typ):
        return f"(s_{column} IS NOT NULL)"
    return f"(t_{column} IS NOT NULL)"


def _shown(column: str, typ: pa.DataType | None) -> str:
    return f"coalesce(CAST(s_{column} AS VARCHAR), '')" if typ is not None else "''"


Check = tuple[str, str, str]  # (reason code, condition, detail expression)


def _time_checks(column: str, typ: pa.DataType | None, missing_code: str | None,
                 *, in_range: bool = True) -> list[Check]:
    given, shown, parsed = _given(column, typ), _shown(column, typ), f"p_{column}"
    checks: list[Check] = []
    if missing_code:
        checks.append((missing_code, f"NOT {given}", f"'no {column} value'"))
    checks.append((r.BAD_TIMESTAMP, f"{given} AND {parsed} IS NULL",
                   f"'{column} ''' || {shown} || ''' is not a date-time{_FORMAT_HINT}'"))
    if in_range:
        checks.append((r.TIMESTAMP_OUT_OF_RANGE,
                       f"{parsed} < TIMESTAMPTZ '1970-01-01 00:00:00+00' OR {parsed} > $now + INTERVAL 1 DAY",
                       f"'{column} ' || strftime({parsed}, '%Y-%m-%dT%H:%M:%SZ') || "
                       "' is before 1970-01-01 or more than 1 day after the ingest'"))
    return checks


def _number_check(column: str, typ: pa.DataType | None, code: str) -> Check:
    return (code, f"{_given(column, typ)} AND p_{column} IS NULL",
            f"'{column} ''' || {_shown(column, typ)} || ''' is not a number'")


#: Columns that never hold a line break; one that does was swallowed by an unterminated CSV quote.
_SINGLE_LINE: Final = {"events": ("customer_id", "anonymous_id", "touchpoint", "channel"),
                       "feedback": ("customer_id", "touchpoint", "channel"), "customers": ("customer_id",),
                       "spend": ("channel",)}


def _line_break_checks(table: str, types: dict[str, pa.DataType]) -> list[Check]:
    checks: list[Check] = []
    for column in _SINGLE_LINE.get(table, ()):
        if not _is_text(types.get(column)):
            continue
        breaks = f"(length(p_{column}) - length(replace(p_{column}, chr(10), '')))"
        checks.append((r.LINE_BREAK_IN_NAME, f"contains(p_{column}, chr(10))",
                       f"'{column} runs over ' || CAST({breaks} + 1 AS VARCHAR) || ' lines: an unterminated quote "
                       "on this row probably swallowed the lines after it; fix the quote and ingest those lines "
                       "again'"))
    return checks


def _checks(table: str, types: dict[str, pa.DataType], has_metrics: bool) -> list[Check]:
    return [*_line_break_checks(table, types), *_table_checks(table, types, has_metrics)]


def _table_checks(table: str, types: dict[str, pa.DataType], has_metrics: bool) -> list[Check]:
    t = types.get
    if table == "events":
        return [
            (r.MISSING_CUSTOMER_ID, "p_customer_id IS NULL AND p_anonymous_id IS NULL",
             "'no customer_id or anonymous_id value'"),
            (r.MISSING_TOUCHPOINT, "p_touchpoint IS NULL", "'no touchpoint value'"),
            *_time_checks("timestamp", t("timestamp"), r.MISSING_TIMESTAMP),
        ]
    if table == "feedback":
        checks = _time_checks("timestamp", t("timestamp"), r.MISSING_TIMESTAMP)
        for score, (low, high) in _SCORE_RANGES.items():
            checks.append(_number_check(score, t(score), r.BAD_NUMBER))
            checks.append((r.SCORE_OUT_OF_RANGE,
                           f"p_{score} <> floor(p_{score}) OR p_{score} < {low} OR p_{score} > {high}",
                           f"'{score} ' || CAST(p_{score} AS VARCHAR) || ' is not a whole number from {low} to {high}'"))
        if has_metrics:
            checks.append((r.BAD_NUMBER, "_metric_bad IS NOT NULL", "'metric ' || _metric_bad || ' is not a number'"))
        metric_n = "_metric_n" if has_metrics else "0"
        checks.append((r.NO_METRIC, f"p_nps IS NULL AND p_csat IS NULL AND p_ces IS NULL AND p_comment IS NULL "
                                    f"AND {metric_n} = 0", "'no nps, csat, ces, other metric or comment'"))
        return checks
    if table == "customers":
        return [
            (r.MISSING_CUSTOMER_ID, "p_customer_id IS NULL", "'no customer_id value'"),
            _number_check("value", t("value"), r.BAD_NUMBER),
            _number_check("revenue", t("revenue"), r.BAD_NUMBER),
            (r.BAD_BOOLEAN, f"{_given('churned', t('churned'))} AND p_churned IS NULL",
             f"'churned ''' || {_shown('churned', t('churned'))} || ''' is not true/false/yes/no/1/0'"),
            *_time_checks("churn_date", t("churn_date"), None, in_range=False),
        ]
    return [  # spend
        (r.MISSING_CHANNEL, "p_channel IS NULL", "'no channel value'"),
        *_time_checks("date", t("date"), r.MISSING_DATE),
        (r.MISSING_AMOUNT, f"NOT {_given('amount', t('amount'))}", "'no amount value'"),
        _number_check("amount", t("amount"), r.BAD_AMOUNT),
    ]


def _final(table: str, column: str, shape: StageShape) -> str:
    if column == EXTRA_COLUMN[table]:
        struct = _struct_json("_extra", "_extra_absent" if shape.sparse else None) if shape.extra else None
        return _json_catch_all(column, struct, shape.own.get(column))
    if column == "metrics":
        return _json_catch_all(column, "to_json(_metrics)" if shape.metrics else None, shape.own.get(column))
    if column in _SCORE_RANGES:
        return f"TRY_CAST(p_{column} AS INTEGER)"  # in range for good rows; bad ones may be huge
    if column == "respondent":
        return "coalesce(p_respondent, 'customer')"
    return f"p_{column}"


def _struct_json(struct: str, absent: str | None) -> str:
    """JSON of a struct column; with ``absent``, without the fields the record did not have
    (a record's explicit nulls stay as JSON nulls, a key it lacked is left out)."""
    if absent is None:
        return f"to_json({struct})"
    entries = f"map_entries(CAST(to_json({struct}) AS MAP(VARCHAR, JSON)))"
    kept = f"list_filter({entries}, e -> NOT coalesce(list_contains({absent}, e.key), false))"
    return f"to_json(map_from_entries({kept}))"


def _json_catch_all(column: str, struct_json: str | None, own_type: pa.DataType | None) -> str:
    """JSON text of the leftover columns, merged over the source's own object of that name."""
    own = None
    if own_type is not None:
        col = f"_own_{column}"
        if pa.types.is_struct(own_type) or pa.types.is_map(own_type):
            own = f"CAST(to_json({col}) AS JSON)"
        else:
            text = f"CAST({col} AS VARCHAR)"
            own = (f"CASE WHEN json_valid({text}) AND json_type({text}) = 'OBJECT' THEN CAST({text} AS JSON) "
                   f"WHEN {col} IS NOT NULL THEN json_object('{column}', {col}) END")
    if struct_json and own:
        return f"CAST(json_merge_patch(coalesce({own}, CAST('{{}}' AS JSON)), {struct_json}) AS VARCHAR)"
    if struct_json:
        return f"CAST({struct_json} AS VARCHAR)"
    if own:
        return f"CAST({own} AS VARCHAR)"
    return "CAST(NULL AS VARCHAR)"


#: The id column of a table whose rows may carry one (dedupe on it when present).
ID_COLUMN: Final = {"events": "event_id", "feedback": "response_id"}


def normalize_sql(table: str, shape: StageShape, relation: str) -> str:
    """The SELECT that normalises ``relation`` (a generated view name, or a parenthesised
    query over a file) whose columns follow :func:`stage_batch`'s generated names.

    Output: the canonical columns, ``_row``, ``_key`` (the row's id; null without one),
    ``_reason``/``_detail`` (null for good rows) and ``_rawjson`` (bad rows only).
    Parameters: ``$tz`` (zone of naive times) and ``$now`` (the ingest's start, UTC).
    """
    columns = _all_columns(table)
    quoted = [f'"{c}"' for c in columns]
    canonical = canonical_columns(table)
    cleaned = "".join(f", NULLIF(trim(s_{c}), '') AS t_{c}" for c in canonical if _is_text(shape.types.get(c)))
    parsed = ", ".join(f"{_parsed(c, shape.types.get(c))} AS p_{c}" for c in canonical)
    checks = _checks(table, shape.types, shape.metrics)
    if shape.value_bad:  # a value of the wrong kind is the first thing to report
        checks.insert(0, (r.BAD_VALUE, "_value_bad IS NOT NULL", "_value_bad"))
    reason = " ".join(f"WHEN {cond} THEN '{code}'" for code, cond, _ in checks)
    detail = " ".join(f"WHEN {cond} THEN {text}" for _, cond, text in checks)
    finals = ", ".join(f'{_final(table, c, shape)} AS "{c}"' for c in columns)
    key = f'"{ID_COLUMN[table]}"' if table in ID_COLUMN else "CAST(NULL AS VARCHAR)"
    raw = _struct_json("_raw", "_raw_absent" if shape.sparse else None)
    return (
        f"WITH t AS (SELECT *{cleaned} FROM {relation}), p AS (SELECT *, {parsed} FROM t), "
        f"q AS (SELECT *, CASE {reason} END AS _reason FROM p), "
        f"r AS (SELECT *, CASE WHEN _reason IS NULL THEN NULL {detail} END AS _detail FROM q), "
        f"f AS (SELECT {finals}, _row, _reason, _detail, "
        f"CASE WHEN _reason IS NOT NULL THEN CAST({raw} AS VARCHAR) END AS _rawjson FROM r) "
        f"SELECT {', '.join(quoted)}, _row, {key} AS _key, _reason, _detail, _rawjson FROM f"
    )


def _all_columns(table: str) -> list[str]:
    from journeylens.warehouse.schema import INPUT_TABLES, LINEAGE

    return [n for n in INPUT_TABLES[table].names if n not in LINEAGE]


#: Columns of the staging table besides the canonical ones, in order.
STAGE_EXTRA_COLUMNS: Final = ("_row", "_key", "_reason", "_detail", "_rawjson")
