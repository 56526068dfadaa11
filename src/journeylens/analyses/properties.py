"""Properties that can split a number: keys of the events' ``properties``, the feedback's
``properties`` and the customers' columns and ``attributes``, discovered from the data with
their cardinality.

A feedback answer takes an *event* property's value from the customer's latest event carrying
it at or before the answer (an as-of join), so "CSAT by app_version" compares answers given
on app 5.14.2 with answers given on 6.0.0. High-cardinality properties keep their ``top``
most frequent values and put the rest in ``"other"`` (:data:`OTHER`).

>>> json_key_pattern("app_version")
'"app_version"\\\\s*:\\\\s*"?([^",}]*)'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.result import Result
from journeylens.errors import ParameterError

OTHER = "other"
#: Values kept per property before the rest become "other".
DEFAULT_TOP = 10
#: Rows read per table to find property names (cardinality is then counted on all rows).
SAMPLE_ROWS = 20_000
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .:-]{0,63}$")
SOURCES: tuple[str, ...] = ("event", "feedback", "customer")
_JSON_COLUMN = {"event": "properties", "feedback": "properties", "customer": "attributes"}


def json_key_pattern(key: str) -> str:
    return r'"' + re.escape(key) + r'"\s*:\s*"?([^",}]*)'


def json_value(column: ir.StringValue, key: str) -> ir.StringValue:
    """The text of ``key`` in a JSON-object column (null when absent or JSON null); a regular
    expression so every engine agrees (values with commas or quotes are cut at them).

    Surrounding white space is removed with a regular expression, not ``.strip()``: Ibis
    compiles ``strip`` for Spark as ``TRIM(' \\t\\n\\r\\v\\f' FROM …)`` and Spark reads ``\\v`` and
    ``\\f`` as the letters, so values were cut at leading or trailing ``t n r v f``."""
    value = column.re_extract(json_key_pattern(key), 1).re_replace(r"^\s+|\s+$", "")
    return value.nullif("").nullif("null")


@dataclass(frozen=True)
class PropertiesResult(Result):
    """Rows ``source, property, distinct, top_values`` (the most frequent values first)."""

    title: str = "Properties"


def _keys(table: ir.Table, column: str, sample_rows: int) -> list[str]:
    if column not in table.columns:
        return []
    sample = table.select(column).filter(table[column].notnull()).limit(sample_rows).to_pyarrow()
    keys: dict[str, None] = {}
    for text in sample.column(column).to_pylist():
        try:
            parsed = json.loads(text)
        except (TypeError, ValueError):
            continue
        if isinstance(parsed, dict):
            keys.update(dict.fromkeys(k for k, v in parsed.items() if v is not None and _KEY_RE.match(k)))
    return list(keys)


def _profiles(table: ir.Table, source: str, values: dict[str, ir.Value], top: int) -> list[dict[str, Any]]:
    """Distinct count and most frequent values of every named value, in ONE scan of ``table``
    (a scan per property read a 10M-row table once per key)."""
    if not values:
        return []
    names = list(values)
    columns = {f"_p{i}": value.cast("string") for i, value in enumerate(values.values())}
    longer = table.select(**columns).pivot_longer(list(columns), names_to="_key", values_to="value")
    counted = longer.filter(longer.value.notnull()).group_by(["_key", "value"]).aggregate(n=ibis._.count())
    found: dict[str, list[dict[str, Any]]] = {key: [] for key in columns}
    for r in counted.order_by(["_key", ibis.desc("n"), "value"]).to_pyarrow().to_pylist():
        found[r["_key"]].append(r)
    return [{"source": source, "property": name, "distinct": len(found[key]),
             "top_values": [{"value": r["value"], "n": int(r["n"])} for r in found[key][:top]]}
            for name, key in zip(names, columns, strict=True)]


def discover(events: ir.Table | None, feedback: ir.Table | None, customers: ir.Table | None, *,
             top: int = 5, sample_rows: int = SAMPLE_ROWS, sources: Sequence[str] = SOURCES) -> PropertiesResult:
    """Every property that can split a number, with its distinct count and top values (of the
    ``sources`` asked for: ``event``, ``feedback``, ``customer``)."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ParameterError(f"Unknown property source {sorted(unknown)[0]!r}; allowed: {', '.join(SOURCES)}.")
    rows: list[dict[str, Any]] = []
    for source, table in (("event", events), ("feedback", feedback), ("customer", customers)):
        if table is None or source not in sources:
            continue
        values: dict[str, ir.Value] = {}
        if source == "customer":
            values |= {c: table[c].cast("string") for c in ("segment", "region", "plan") if c in table.columns}
        column = _JSON_COLUMN[source]
        values |= {key: json_value(table[column], key) for key in _keys(table, column, sample_rows)
                   if key not in values}
        rows += _profiles(table, source, values, top)
    return PropertiesResult(records=tuple(rows), params={"top": top})


def known_properties(events: ir.Table | None, feedback: ir.Table | None, customers: ir.Table | None) -> list[str]:
    names = [str(r["property"]) for r in discover(events, feedback, customers, top=0).records]
    return list(dict.fromkeys(names))


def has_key(table: ir.Table | None, column: str, key: str) -> bool:
    if table is None or column not in table.columns or not _KEY_RE.match(key):
        return False
    return bool(table[column].contains(f'"{key}"').any().execute())


def top_or_other(table: ir.Table, column: str, top: int = DEFAULT_TOP) -> ir.Table:
    """Keep the ``top`` most frequent values of ``column``; the rest become ``"other"``."""
    counts = table[column].value_counts(name="_n").filter(ibis._[column].notnull())
    kept = counts.order_by([ibis.desc("_n"), column]).limit(top)[column].to_pyarrow().to_pylist()
    total = int(counts.count().execute())
    if total <= top:
        return table
    return table.mutate(**{column: ibis.ifelse(table[column].isin(kept), table[column],
                                               ibis.ifelse(table[column].isnull(), ibis.null("string"),
                                                           ibis.literal(OTHER)))})


def with_event_property(rows: ir.Table, events: ir.Table, key: str, *, time_col: str = "timestamp") -> ir.Table:
    """``rows`` (with ``customer_id`` and ``time_col``) plus column ``key``: the value on the
    customer's latest event carrying it at or before the row's time.

    An as-of join written with window functions every engine has (Spark SQL has no as-of
    join): the rows and the carrying events are stacked, ordered per customer by time with the
    events first on a tie, and a running count of events numbers the stretches; each row takes
    the one value of its stretch (see ADR 0022)."""
    carrying = events.filter(events.properties.contains(f'"{key}"'))
    carrying = carrying.filter(json_value(carrying.properties, key).notnull())
    schema = rows.schema()
    helpers = {"_cid": "string", "_ts": schema[time_col], "_kind": "int8", "_order": "int64", "_v": "string"}
    asked = rows.select(*rows.columns, _cid=rows.customer_id.cast("string"), _ts=rows[time_col],
                        _kind=ibis.literal(1, "int8"), _order=ibis.null("int64"), _v=ibis.null("string"))
    known = carrying.select(**{c: ibis.null(schema[c]) for c in rows.columns},
                            _cid=carrying.customer_id.cast("string"), _ts=carrying.timestamp.cast(helpers["_ts"]),
                            _kind=ibis.literal(0, "int8"), _order=carrying._seq.cast("int64"),
                            _v=json_value(carrying.properties, key))
    both = asked.union(known)
    running = ibis.window(group_by=both._cid, order_by=[both._ts, both._kind, both._order], rows=(None, 0))
    stretched = both.mutate(_stretch=(both._kind == 0).cast("int64").sum().over(running))
    valued = stretched.mutate(**{key: stretched._v.max().over(ibis.window(group_by=[stretched._cid,
                                                                                     stretched._stretch]))})
    return valued.filter(valued._kind == 1).drop(*helpers, "_stretch")


def property_column(rows: ir.Table, key: str, *, events: ir.Table | None, customers: ir.Table | None,
                    kind: str, top: int = DEFAULT_TOP, what: str = "property",
                    also_known: Sequence[str] = ()) -> ir.Table:
    """``rows`` plus a string column ``key`` from, in order: the rows' own properties, the
    customer's columns / attributes, the customer's latest event with the property.
    ``kind`` names what the rows are (``feedback`` or ``event``); ``what`` names the parameter
    in the error message; ``also_known`` adds names the caller accepts itself (listed as
    close matches of an unknown name)."""
    if key in rows.columns:
        out = rows.mutate(**{key: rows[key].cast("string")})
    elif has_key(rows, "properties", key):
        out = rows.mutate(**{key: json_value(rows.properties, key)})
    elif customers is not None and ((key in customers.columns and key != "customer_id")
                                    or has_key(customers, "attributes", key)):
        value = customers[key].cast("string") if key in customers.columns else json_value(customers.attributes, key)
        attrs = customers.select(_cid=customers.customer_id, _v=value).distinct(on="_cid")
        joined = rows.left_join(attrs, rows.customer_id == attrs._cid)
        out = joined.mutate(**{key: joined._v}).drop("_cid", "_v")
    elif kind != "event" and events is not None and has_key(events, "properties", key):
        out = with_event_property(rows, events, key)
    else:
        from journeylens.analyses.names import check_names

        known = [*also_known, *known_properties(events, rows if kind == "feedback" else None, customers)]
        check_names(what, [key], list(dict.fromkeys(known)))
        raise ParameterError(f"Cannot split by {key!r}.")  # unreachable: check_names raised
    return top_or_other(out, key, top)
