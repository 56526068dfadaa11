"""Normalisation and validation as one set-based SQL statement per batch.

:func:`stage_batch` turns a reader batch into an Arrow table whose column names are all
generated here (``s_<canonical>`` for mapped columns, ``_extra``/``_raw`` structs that carry
the source's own names as struct fields), so the SQL built by :func:`normalize_sql` never
contains a name or value from the input. The statement parses and types every canonical
column, picks the first failing check as ``_reason`` (codes from :mod:`reasons`), builds the
dedupe ``_key`` for good rows and the ``raw`` JSON only for bad ones. It is plain DuckDB SQL,
run on the warehouse connection (DuckDB) or an embedded DuckDB (other engines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from journeylens.ingest import reasons as r
from journeylens.ingest.mapping import EXTRA_COLUMN, ColumnPlan, canonical_columns

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
class StagedBatch:
    """A batch ready for :func:`normalize_sql`: the Arrow data and the types it was built from."""

    data: pa.Table
    types: dict[str, pa.DataType]  # canonical column -> source Arrow type (mapped ones only)
    own: dict[str, pa.DataType] = field(default_factory=dict)  # catch-all -> type of the source's own


def stage_batch(plan: ColumnPlan, batch: pa.RecordBatch) -> StagedBatch:
    """Rename mapped columns to ``s_<target>``; wrap the rest in ``_extra``; keep ``_raw``."""
    names = [n for n in batch.schema.names if n != "_row"]
    arrays: dict[str, pa.Array] = {"_row": batch.column("_row")}
    types: dict[str, pa.DataType] = {}
    for target, source in plan.targets.items():
        if source in names:
            arrays[f"s_{target}"] = batch.column(source)
            types[target] = batch.schema.field(source).type
    own = {n: batch.schema.field(n).type for n in OWN_JSON[plan.table]
           if n in names and n not in plan.mapped_sources}
    for name in own:
        arrays[f"_own_{name}"] = batch.column(name)
    extras = [n for n in plan.extras(names) if n not in own]
    if extras:
        arrays["_extra"] = _struct(batch, extras)
    metrics = [m for m in plan.metric_cols if m in names]
    if metrics:
        values, bad = _metric_values(batch, metrics)
        arrays["_metrics"] = pa.StructArray.from_arrays(values, names=_unique_fields(metrics))
        arrays["_metric_n"] = _count_valid(values, batch.num_rows)
        arrays["_metric_bad"] = bad
    arrays["_raw"] = _struct(batch, names) if names else pa.nulls(batch.num_rows, pa.string())
    # Several record batches let DuckDB scan (and normalise) them on all cores.
    data = pa.Table.from_batches(pa.table(arrays).to_batches(max_chunksize=_SCAN_CHUNK_ROWS))
    return StagedBatch(data, types, own)


def _struct(batch: pa.RecordBatch, names: Sequence[str]) -> pa.StructArray:
    return pa.StructArray.from_arrays([batch.column(n) for n in names], names=_unique_fields(names))


def _unique_fields(names: Sequence[str]) -> list[str]:
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


def _metric_values(batch: pa.RecordBatch, metrics: Sequence[str]) -> tuple[list[pa.Array], pa.Array]:
    """Metric columns as float64, plus the name of the first unparseable one per row."""
    values: list[pa.Array] = []
    bad: list[str | None] = [None] * batch.num_rows
    for name in metrics:
        column = batch.column(name)
        try:
            values.append(pc.cast(column, pa.float64()))
            continue
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        parsed: list[float | None] = []
        for i, text in enumerate(column.to_pylist()):
            try:
                parsed.append(None if text is None or str(text).strip() == "" else float(text))
            except ValueError:
                parsed.append(None)
                bad[i] = bad[i] or f"{name}={text!r}"
        values.append(pa.array(parsed, type=pa.float64()))
    return values, pa.array(bad, type=pa.string())


def _count_valid(values: Sequence[pa.Array], n_rows: int) -> pa.Array:
    total = pa.array([0] * n_rows, type=pa.int64())
    for array in values:
        total = pc.add(total, pc.cast(pc.is_valid(array), pa.int64()))
    return total


# --- SQL ------------------------------------------------------------------------------
def _text(col: str, typ: pa.DataType | None, *, trim: bool) -> str:
    if typ is None:
        return "CAST(NULL AS VARCHAR)"
    value = col if pa.types.is_string(typ) or pa.types.is_large_string(typ) else f"CAST({col} AS VARCHAR)"
    return f"NULLIF(trim({value}), '')" if trim else value


def _timestamp(col: str, typ: pa.DataType | None) -> str:
    if typ is None:
        return "CAST(NULL AS TIMESTAMPTZ)"
    if pa.types.is_timestamp(typ):
        return f"CAST({col} AS TIMESTAMPTZ)" if typ.tz else f"timezone($tz, CAST({col} AS TIMESTAMP))"
    if pa.types.is_date(typ):
        return f"timezone($tz, CAST({col} AS TIMESTAMP))"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        # Epoch numbers: seconds, milliseconds or microseconds by magnitude.
        return (f"CASE WHEN abs({col}) < 1e11 THEN to_timestamp({col}) "
                f"WHEN abs({col}) < 1e14 THEN to_timestamp({col} / 1e3) ELSE to_timestamp({col} / 1e6) END")
    text = _text(col, typ, trim=True)
    return (f"CASE WHEN regexp_matches({text}, {_HAS_OFFSET}) THEN TRY_CAST({text} AS TIMESTAMPTZ) "
            f"ELSE timezone($tz, TRY_CAST({text} AS TIMESTAMP)) END")


def _number(col: str, typ: pa.DataType | None) -> str:
    if typ is None:
        return "CAST(NULL AS DOUBLE)"
    if pa.types.is_boolean(typ):
        return f"CAST(CAST({col} AS INTEGER) AS DOUBLE)"
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return f"CAST({col} AS DOUBLE)"
    return f"TRY_CAST(NULLIF(trim({_text(col, typ, trim=False)}), '') AS DOUBLE)"


def _boolean(col: str, typ: pa.DataType | None) -> str:
    if typ is None:
        return "CAST(NULL AS BOOLEAN)"
    if pa.types.is_boolean(typ):
        return col
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return f"({col} <> 0)"
    low = f"lower(trim({_text(col, typ, trim=False)}))"
    return f"CASE WHEN {low} IN {_TRUE} THEN true WHEN {low} IN {_FALSE} THEN false END"


def _parsed(column: str, typ: pa.DataType | None) -> str:
    col = f"s_{column}"
    if column in _TIMES:
        return _timestamp(col, typ)
    if column in _SCORE_RANGES or column in _FLOATS:
        return _number(col, typ)
    if column in _BOOLS:
        return _boolean(col, typ)
    return _text(col, typ, trim=column in _IDS)


def _given(column: str, typ: pa.DataType | None) -> str:
    """True where the source had a (non-blank) value."""
    if typ is None:
        return "false"
    if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
        return f"(s_{column} IS NOT NULL)"
    return f"(NULLIF(trim(s_{column}), '') IS NOT NULL)"


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


def _checks(table: str, types: dict[str, pa.DataType], has_metrics: bool) -> list[Check]:
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


def _final(table: str, column: str, staged: StagedBatch) -> str:
    names = staged.data.column_names
    if column == EXTRA_COLUMN[table]:
        return _json_catch_all(column, "_extra" if "_extra" in names else None, staged.own.get(column))
    if column == "metrics":
        return _json_catch_all(column, "_metrics" if "_metrics" in names else None, staged.own.get(column))
    if column in _SCORE_RANGES:
        return f"CAST(p_{column} AS INTEGER)"
    if column == "respondent":
        return "coalesce(p_respondent, 'customer')"
    return f"p_{column}"


def _json_catch_all(column: str, struct: str | None, own_type: pa.DataType | None) -> str:
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
    if struct and own:
        return f"CAST(json_merge_patch(coalesce({own}, CAST('{{}}' AS JSON)), to_json({struct})) AS VARCHAR)"
    if struct:
        return f"CAST(to_json({struct}) AS VARCHAR)"
    if own:
        return f"CAST({own} AS VARCHAR)"
    return "CAST(NULL AS VARCHAR)"


def _key(table: str, columns: Sequence[str]) -> str:
    """``event_id``/``response_id`` when given, else an MD5 of the canonical content."""
    parts = [f'CAST(epoch_us("{c}") AS VARCHAR)' if c in _TIMES else f'CAST("{c}" AS VARCHAR)' for c in columns
             if c not in ("event_id", "response_id")]
    digest = f"md5(to_json([{', '.join(parts)}]))"
    own = {"events": "event_id", "feedback": "response_id"}.get(table)
    return f'coalesce("{own}", {digest})' if own else digest


def _collapse(table: str) -> str:
    """Whether rows with the same key collapse to the first: always for ids, customers and spend.

    Events and feedback without an id keep repeated identical rows of one source (two equal
    clicks are two events); the repeats get the occurrence number into their key at landing.
    """
    own = {"events": "event_id", "feedback": "response_id"}.get(table)
    return f'("{own}" IS NOT NULL)' if own else "true"


def normalize_sql(table: str, staged: StagedBatch, view: str) -> str:
    """The SELECT that normalises the staged batch registered as ``view`` (a generated name).

    Parameters: ``$tz`` (zone of naive times) and ``$now`` (the ingest's start, UTC).
    """
    columns = _all_columns(table)
    quoted = [f'"{c}"' for c in columns]
    canonical = canonical_columns(table)
    parsed = ", ".join(f"{_parsed(c, staged.types.get(c))} AS p_{c}" for c in canonical)
    checks = _checks(table, staged.types, "_metrics" in staged.data.column_names)
    reason = " ".join(f"WHEN {cond} THEN '{code}'" for code, cond, _ in checks)
    detail = " ".join(f"WHEN {cond} THEN {text}" for _, cond, text in checks)
    finals = ", ".join(f'{_final(table, c, staged)} AS "{c}"' for c in columns)
    return (
        f"WITH p AS (SELECT *, {parsed} FROM {view}), "
        f"q AS (SELECT *, CASE {reason} END AS _reason, CASE {detail} END AS _detail FROM p), "
        f"f AS (SELECT {finals}, _row, _reason, _detail, _raw FROM q) "
        f"SELECT {', '.join(quoted)}, _row, "
        f"CASE WHEN _reason IS NULL THEN {_key(table, columns)} END AS _key, {_collapse(table)} AS _collapse, "
        f"_reason, _detail, "
        f"CASE WHEN _reason IS NOT NULL THEN to_json(_raw)::VARCHAR END AS _rawjson FROM f"
    )


def _all_columns(table: str) -> list[str]:
    from journeylens.warehouse.schema import INPUT_TABLES, LINEAGE

    return [n for n in INPUT_TABLES[table].names if n not in LINEAGE]


#: Columns of the staging table besides the canonical ones, in order.
STAGE_EXTRA_COLUMNS: Final = ("_row", "_key", "_collapse", "_reason", "_detail", "_rawjson")
