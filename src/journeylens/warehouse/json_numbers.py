"""Numbers out of a JSON object column, every key in one parse, on every engine.

Feedback keeps custom metrics (``sat_app``, ``sat_branch``, …) as JSON text in ``metrics``.
Reading each key with its own regular expression (or its own ``json_extract``) scans the text
once per key: at a million responses × 12 ratings that was most of a driver analysis (ADR 0099).
Here the text is parsed once per row into a struct of doubles — ``json_transform`` on DuckDB,
``from_json`` on Spark (engine-specific names chosen in one place, as in
:mod:`journeylens.warehouse.durations`) — and each key is a field of it. A value that is not a
number (text such as ``"4"``, ``true``, an object, a list) is null on every engine, as the regular
expression used before had it; other engines still use one regular expression per key.

>>> import ibis
>>> t = ibis.memtable({"metrics": ['{"a": 4, "b": 2.5}', '{"a": "4", "b": true}', None]})
>>> numbers = json_numbers(t.metrics, ["a", "b"])
>>> t.select(**numbers).to_pandas().to_dict("list")
{'a': [4.0, nan, nan], 'b': [2.5, nan, nan]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


def _struct(text: ir.StringValue, keys: Sequence[str], function: str, shape: str, kind: dt.DataType) -> ir.StructValue:
    struct = dt.Struct(dict.fromkeys(keys, kind))

    def parse(text, shape):  # type: ignore[no-untyped-def]  # the signature is given below
        """The engine's own JSON-to-struct function."""

    udf = ibis.udf.scalar.builtin(parse, name=function, signature=((dt.string, dt.string), struct))
    return udf(text, ibis.literal(shape))  # type: ignore[no-any-return]


def _spark_ddl(keys: Sequence[str]) -> str:
    return ", ".join(f"`{key.replace('`', '``')}` DOUBLE" for key in keys)


def json_numbers(text: ir.StringValue, keys: Sequence[str]) -> dict[str, ir.FloatingValue]:
    """``{key: the key's number in the JSON object text, or null}``, the text parsed once per row."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    engine = ibis.get_backend(text).name
    if engine == "duckdb":  # each value as JSON text: a number casts, "4" (quoted) or true does not, as on Spark
        parsed = _struct(text, keys, "json_transform", json.dumps(dict.fromkeys(keys, "JSON")), dt.json)
        return {key: parsed[key].cast("string").try_cast("float64") for key in keys}
    if engine == "pyspark":
        parsed = _struct(text, keys, "from_json", _spark_ddl(keys), dt.float64)
        return {key: parsed[key] for key in keys}
    return {key: _regex_number(text, key) for key in keys}  # pragma: no cover - other engines


def _regex_number(text: ir.StringValue, key: str) -> ir.FloatingValue:
    pattern = r'"' + re.escape(key) + r'"\s*:\s*(-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)'
    return text.re_extract(pattern, 1).nullif("").cast("float64")
