"""Custom metrics out of the ``metrics`` JSON: every key from one parse, the same numbers on every engine."""

from __future__ import annotations

import pyarrow as pa

from journeylens.analyses.metrics import MetricSpec, metric_values
from journeylens.warehouse import Warehouse

TEXTS = ['{"a": 4, "b": 2.5}', '{"a": "4", "b": true}', '{"a": {"x": 1}, "b": -2.5e1}', '{"b": 1}', None,
         '{"a": null, "b": [1, 2]}', '{"A": 7, "a ": 3}', '{"a": 3 , "b":0}']
#: Only JSON numbers count (quoted numbers, booleans, objects and lists do not), as the
#: regular expression used before had it; keys match exactly.
EXPECTED_A = [4.0, None, None, None, None, None, None, 3.0]
EXPECTED_B = [2.5, None, -25.0, 1.0, None, None, None, 0.0]


def test_metrics_json_read_in_one_parse_on_every_engine(wh: Warehouse) -> None:
    wh.append("feedback", pa.table({"response_id": [f"r{i}" for i in range(len(TEXTS))], "metrics": TEXTS}))
    fb = wh.table("feedback")
    values = metric_values(fb, [MetricSpec.parse("a"), MetricSpec.parse("b")])
    frame = fb.select("response_id", **values).order_by("response_id").to_pandas()
    assert frame["a"].astype(object).where(frame["a"].notna(), None).tolist() == EXPECTED_A
    assert frame["b"].astype(object).where(frame["b"].notna(), None).tolist() == EXPECTED_B
