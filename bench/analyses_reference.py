"""The hand-written reference queries of ``bench/analyses.py`` and how both sides' outputs
are reduced to the same rows for the equality check.

Every reference is the SQL a careful analyst would write for the *same numbers* our analysis
returns, on the demo bank (its journey definition is known to the analyst: the online
channels, the contact channels, the outcome touchpoints, the cohort rules). They are written
once, in DuckDB's dialect; :func:`spark_sql` rewrites the few engine-specific functions for
Spark SQL (``bench/analyses_spark.py``).

Each task has ``ours(lens) -> {section: rows}`` and ``reference(run) -> {section: rows}``
where ``run(sql, params)`` executes one statement and returns tuples; :func:`compare` checks
that every section has the same rows (integers exactly, floats to 1e-9 relative). What the
analyses derive in Python from these numbers (margins of error, intervals, tests, q-values,
rankings) costs microseconds and is not part of the reference; everything the engine
computes is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

Rows = list[tuple[Any, ...]]
Run = Callable[[str, dict[str, Any] | None], Rows]

FUNNEL = ["Open account online", "KYC document upload", "Account approved", "Card activation"]
#: The demo definition's channel kinds and outcome/contact touchpoints, as the analyst knows them.
ONLINE = "('web', 'app', 'email', 'chat', 'social')"
CONTACT = "('call_centre', 'chat')"
CONTACT_TOUCHPOINTS = ("('Chat: dispute', 'Call centre: card issue', 'Call centre: fees query', 'Complaint', "
                       "'Renewal call', 'Account closure request')")
CONVERSION = "('Account approved', 'ID check in branch')"
CHURN = "('Account closed')"
ATTRIBUTE_COHORTS = [("Mass segment", "segment", "mass"), ("Affluent segment", "segment", "affluent"),
                     ("Business segment", "segment", "business"), ("Student segment", "segment", "student"),
                     ("Premium plan", "plan", "premium")]
JSON_COHORTS = [("Acquired via TV", "acquisition_channel", "tv"),
                ("Acquired via comparison sites", "acquisition_channel", "comparison_site")]
MIN_SAMPLE = 5

# --- SQL ---------------------------------------------------------------------------------------
TRANSITIONS = """
WITH o AS (
  SELECT customer_id, touchpoint AS node, epoch_us(timestamp) AS us,
         lead(touchpoint) OVER w AS nxt, lead(epoch_us(timestamp)) OVER w AS next_us, row_number() OVER w AS rn
  FROM journey_events WHERE touchpoint IS NOT NULL WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq)),
e AS (
  SELECT customer_id, node AS src, coalesce(nxt, '__end__') AS dst, next_us - us AS d FROM o
  UNION ALL SELECT customer_id, '__start__', node, NULL FROM o WHERE rn = 1)
SELECT src, dst, count(*), count(DISTINCT customer_id), quantile_cont(d, 0.5) / 1e6, avg(d) / 1e6,
       quantile_cont(d, 0.9) / 1e6
FROM e GROUP BY src, dst"""

# Paths as lists of small integer codes (a list of strings per customer runs out of memory at
# 10M events, and so does the ordered aggregate ``list(code ORDER BY timestamp, _seq)``, which
# buffers and sorts every group: 6 GB was not enough). The journey order is a window position
# (a sort that spills), the list is collected unordered as (position, code) pairs and sorted
# per customer.
VARIANTS = """
WITH codes AS (SELECT touchpoint, CAST(row_number() OVER (ORDER BY touchpoint) AS SMALLINT) AS code
               FROM (SELECT DISTINCT touchpoint FROM journey_events WHERE touchpoint IS NOT NULL)),
o AS (SELECT customer_id, code, epoch_us(timestamp) AS us,
             CAST(row_number() OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS INTEGER) AS pos
      FROM journey_events JOIN codes USING (touchpoint)),
p AS (SELECT customer_id, list_transform(list_sort(list(struct_pack(pos := pos, code := code))), x -> x.code) AS path,
             (max(us) - min(us)) / 1e6 AS secs
      FROM o GROUP BY customer_id),
v AS (SELECT path, count(*) AS customers, median(secs) AS m FROM p GROUP BY path),
dictionary AS (SELECT list(touchpoint ORDER BY code) AS names FROM codes)
SELECT list_transform(path, c -> names[c]) AS path_names, customers, customers / sum(customers) OVER () AS share, m
FROM v, dictionary ORDER BY customers DESC, path_names LIMIT 20"""

# Spark has no ordered list aggregate: sort the collected (time, seq, touchpoint) structs.
VARIANTS_SPARK = """
WITH p AS (SELECT customer_id,
                  transform(array_sort(collect_list(struct(timestamp AS t, _seq AS s, touchpoint AS tp))), x -> x.tp) AS path,
                  (max(unix_micros(timestamp)) - min(unix_micros(timestamp))) / 1e6 AS secs
           FROM journey_events WHERE touchpoint IS NOT NULL GROUP BY customer_id),
v AS (SELECT path, count(*) AS customers, percentile(secs, 0.5) AS m FROM p GROUP BY path)
SELECT path, customers, customers / sum(customers) OVER () AS share, m FROM v ORDER BY customers DESC, path LIMIT 20"""

# Steps $s1..$s4; positions count the journey's events at the step touchpoints only.
FUNNEL_ORDERED = """
WITH e AS (SELECT customer_id, touchpoint, timestamp AS ts,
                  row_number() OVER (PARTITION BY customer_id ORDER BY timestamp, _seq) AS pos
           FROM journey_events WHERE touchpoint IN ($s1, $s2, $s3, $s4)),
s1 AS (SELECT customer_id, min(pos) AS p, min(ts) AS t FROM e WHERE touchpoint = $s1 GROUP BY customer_id),
s2 AS (SELECT s.customer_id, min(e.pos) AS p, min(e.ts) AS t FROM s1 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $s2 AND e.pos > s.p GROUP BY s.customer_id),
s3 AS (SELECT s.customer_id, min(e.pos) AS p, min(e.ts) AS t FROM s2 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $s3 AND e.pos > s.p GROUP BY s.customer_id),
s4 AS (SELECT s.customer_id, min(e.pos) AS p, min(e.ts) AS t FROM s3 s JOIN e ON e.customer_id = s.customer_id
       AND e.touchpoint = $s4 AND e.pos > s.p GROUP BY s.customer_id)
SELECT count(s1.t), count(s2.t), count(s3.t), count(s4.t),
       median((epoch_us(s2.t) - epoch_us(s1.t)) / 1e6), median((epoch_us(s3.t) - epoch_us(s2.t)) / 1e6),
       median((epoch_us(s4.t) - epoch_us(s3.t)) / 1e6)
FROM s1 LEFT JOIN s2 USING (customer_id) LEFT JOIN s3 USING (customer_id) LEFT JOIN s4 USING (customer_id)"""

FUNNEL_ANY = """
WITH f AS (SELECT customer_id, epoch_us(min(timestamp) FILTER (WHERE touchpoint = $s1)) AS t1,
                  epoch_us(min(timestamp) FILTER (WHERE touchpoint = $s2)) AS t2,
                  epoch_us(min(timestamp) FILTER (WHERE touchpoint = $s3)) AS t3,
                  epoch_us(min(timestamp) FILTER (WHERE touchpoint = $s4)) AS t4
           FROM journey_events WHERE touchpoint IN ($s1, $s2, $s3, $s4) GROUP BY customer_id),
d AS (SELECT t1 AS d1, CASE WHEN t2 IS NOT NULL THEN greatest(t1, t2) END AS d2,
             CASE WHEN t2 IS NOT NULL AND t3 IS NOT NULL THEN greatest(t1, t2, t3) END AS d3,
             CASE WHEN t2 IS NOT NULL AND t3 IS NOT NULL AND t4 IS NOT NULL THEN greatest(t1, t2, t3, t4) END AS d4
      FROM f WHERE t1 IS NOT NULL)
SELECT count(d1), count(d2), count(d3), count(d4), median((d2 - d1) / 1e6), median((d3 - d2) / 1e6),
       median((d4 - d3) / 1e6) FROM d"""

FUNNEL_STRICT = """
WITH o AS (SELECT customer_id, touchpoint AS a, epoch_us(timestamp) AS t0,
                  lead(touchpoint, 1) OVER w AS b, lead(touchpoint, 2) OVER w AS c, lead(touchpoint, 3) OVER w AS d,
                  lead(epoch_us(timestamp), 1) OVER w AS t1, lead(epoch_us(timestamp), 2) OVER w AS t2,
                  lead(epoch_us(timestamp), 3) OVER w AS t3,
                  row_number() OVER (PARTITION BY customer_id, touchpoint ORDER BY timestamp, _seq) AS k
           FROM journey_events WHERE touchpoint IS NOT NULL
           WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq)),
f AS (SELECT * FROM o WHERE a = $s1 AND k = 1)
SELECT count(*), count(*) FILTER (WHERE b = $s2), count(*) FILTER (WHERE b = $s2 AND c = $s3),
       count(*) FILTER (WHERE b = $s2 AND c = $s3 AND d = $s4),
       median((t1 - t0) / 1e6) FILTER (WHERE b = $s2), median((t2 - t1) / 1e6) FILTER (WHERE b = $s2 AND c = $s3),
       median((t3 - t2) / 1e6) FILTER (WHERE b = $s2 AND c = $s3 AND d = $s4)
FROM f"""

# The journey map: one pass of windows over the staged events (kept in a temporary table),
# then one aggregate per part of the map.
JOURNEY_MAP_SETUP = f"""
CREATE TEMP TABLE jm AS
WITH outcomes AS (
  SELECT e.customer_id, bool_or(touchpoint IN {CONVERSION}) AS converted,
         bool_or(touchpoint IN {CHURN}) OR coalesce(any_value(c.churned), false) AS churned
  FROM journey_events e LEFT JOIN (SELECT customer_id, bool_or(churned) AS churned FROM customers
                                   GROUP BY customer_id) c ON c.customer_id = e.customer_id
  GROUP BY e.customer_id),
w AS (
  SELECT customer_id, stage, stage_order, touchpoint, coalesce(channel, 'unknown') AS channel,
         epoch_us(timestamp) AS us,
         lag(stage) OVER w AS prev_stage, lead(stage) OVER w IS NULL AS is_last,
         max(stage_order) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq
                                ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS ahead,
         last_value(stage_order) OVER (PARTITION BY customer_id ORDER BY timestamp, _seq
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_order
  FROM journey_events WHERE stage IS NOT NULL
  WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq))
SELECT w.*, o.converted, o.churned FROM w JOIN outcomes o USING (customer_id)"""

JOURNEY_MAP = {
    "totals": "SELECT count(DISTINCT customer_id), count(*) FILTER (WHERE stage IS NULL) FROM journey_events",
    "stages": """
      WITH per AS (SELECT stage, customer_id, count(*) AS n, (max(us) - min(us)) / 1e6 AS secs,
                          max(ahead) > min(stage_order) AS advanced, any_value(last_order) AS last_order,
                          min(stage_order) AS o, bool_or(converted) AS converted
                   FROM jm GROUP BY stage, customer_id)
      SELECT stage, count(*), sum(n), median(secs), count_if(advanced), count_if(last_order > o),
             count_if(last_order = o AND NOT converted), count_if(last_order = o AND converted),
             count_if(last_order < o)
      FROM per GROUP BY stage""",
    "touchpoints": """
      SELECT stage, touchpoint, count(DISTINCT customer_id), count(*), count_if(is_last AND NOT converted),
             count_if(is_last AND churned)
      FROM jm GROUP BY stage, touchpoint""",
    "channels": "SELECT stage, touchpoint, channel, count(*) FROM jm GROUP BY stage, touchpoint, channel",
    "flows": """
      SELECT prev_stage, stage, count(DISTINCT customer_id), count(*) FROM jm
      WHERE prev_stage IS NOT NULL AND prev_stage <> stage GROUP BY prev_stage, stage""",
}

CHANNELS_SETUP = f"""
CREATE TEMP TABLE ch AS
SELECT customer_id, channel, channel IN {ONLINE} AS online, lag(channel) OVER w AS from_channel,
       lag(channel IN {ONLINE}) OVER w AS from_online,
       coalesce(lag(channel) OVER w <> channel, false) AS switch,
       coalesce(lag(channel) OVER w <> channel AND stage = lag(stage) OVER w, false) AS in_stage
FROM journey_events WHERE channel IS NOT NULL
WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq)"""

CHANNELS = {
    "hops": """
      WITH per AS (SELECT customer_id, count_if(switch) AS hops, count(DISTINCT channel) > 1 AS multi,
                          bool_or(in_stage) AS in_stage FROM ch GROUP BY customer_id)
      SELECT hops, count(*), count_if(multi), count_if(in_stage) FROM per GROUP BY hops""",
    "matrix": """
      SELECT from_channel, channel, count(*), count(DISTINCT customer_id), bool_or(online <> from_online)
      FROM ch WHERE from_channel IS NOT NULL GROUP BY from_channel, channel""",
    "online_offline": """
      SELECT online, count(*), count(DISTINCT customer_id) FROM ch
      WHERE switch AND online <> from_online GROUP BY online""",
}

SWITCH_IMPACT = f"""
WITH outcomes AS (
  SELECT e.customer_id, bool_or(touchpoint IN {CONVERSION}) AS converted,
         bool_or(touchpoint IN {CHURN}) OR coalesce(any_value(c.churned), false) AS churned
  FROM journey_events e LEFT JOIN (SELECT customer_id, bool_or(churned) AS churned FROM customers
                                   GROUP BY customer_id) c ON c.customer_id = e.customer_id
  WHERE e.customer_id IS NOT NULL GROUP BY e.customer_id),
nps AS (SELECT customer_id, count(*) AS n, count_if(nps >= 9) AS pro, count_if(nps <= 6) AS det FROM feedback
        WHERE (respondent IS NULL OR respondent = 'customer') AND nps BETWEEN 0 AND 10 AND customer_id IS NOT NULL
        GROUP BY customer_id),
profile AS (SELECT o.customer_id, CAST(o.converted AS INT) AS churn_n, CAST(o.converted AND o.churned AS INT) AS churned,
                   coalesce(n, 0) AS nps_n, coalesce(pro, 0) AS pro, coalesce(det, 0) AS det
            FROM outcomes o LEFT JOIN nps USING (customer_id)),
staged AS (SELECT s.stage, p.* FROM (SELECT DISTINCT stage, customer_id FROM journey_events
                                     WHERE stage IS NOT NULL AND customer_id IS NOT NULL) s
           JOIN profile p USING (customer_id)),
moves AS (SELECT DISTINCT stage, from_channel, channel AS to_channel, customer_id FROM (
            SELECT customer_id, channel, stage, epoch_us(timestamp) AS us, lag(channel) OVER w AS from_channel,
                   lag(stage) OVER w AS from_stage, lag(epoch_us(timestamp)) OVER w AS from_us
            FROM journey_events WHERE channel IS NOT NULL AND customer_id IS NOT NULL
            WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq))
          WHERE from_channel <> channel AND stage = from_stage AND us - from_us <= 1800000000),
totals AS (SELECT stage, count(*) AS c, sum(churn_n) AS cn, sum(churned) AS ch, sum(nps_n) AS n,
                  sum(pro) AS pro, sum(det) AS det FROM staged GROUP BY stage),
pattern AS (SELECT m.stage, from_channel, to_channel, count(*) AS c, sum(churn_n) AS cn, sum(churned) AS ch,
                   sum(nps_n) AS n, sum(pro) AS pro, sum(det) AS det
            FROM moves m JOIN staged s USING (stage, customer_id) GROUP BY m.stage, from_channel, to_channel)
SELECT p.stage, from_channel, to_channel, p.c, t.c - p.c, p.n, t.n - p.n,
       100.0 * (p.pro - p.det) / p.n, 100.0 * ((t.pro - p.pro) - (t.det - p.det)) / (t.n - p.n),
       p.ch / p.cn, (t.ch - p.ch) / (t.cn - p.cn)
FROM pattern p JOIN totals t USING (stage) WHERE p.c >= 30"""

CONFORMANCE_SETUP = """
CREATE TEMP TABLE cf AS
SELECT customer_id, stage, stage_order, touchpoint, channel, epoch_us(timestamp) AS us, _seq,
       lag(touchpoint) OVER w AS from_tp, lag(epoch_us(timestamp)) OVER w AS prev_us,
       lag(stage) OVER s AS from_stage, stage_order < lag(stage_order) OVER s AS backward
FROM journey_events
WINDOW w AS (PARTITION BY customer_id ORDER BY timestamp, _seq),
       s AS (PARTITION BY customer_id, stage IS NULL ORDER BY timestamp, _seq)"""

CONFORMANCE = {
    "summary": """
      WITH per AS (SELECT customer_id, bool_or(coalesce(backward, false)) AS back FROM cf
                   WHERE stage IS NOT NULL GROUP BY customer_id)
      SELECT count(*), count_if(NOT back) FROM per""",
    "backward": """
      SELECT from_stage, stage, count(*), count(DISTINCT customer_id) FROM cf
      WHERE stage IS NOT NULL AND backward GROUP BY from_stage, stage""",
    "skipped": """
      WITH per AS (SELECT customer_id, min(stage_order) AS lo, max(stage_order) AS hi FROM cf
                   WHERE stage IS NOT NULL GROUP BY customer_id),
      visits AS (SELECT DISTINCT customer_id, stage_order FROM cf WHERE stage IS NOT NULL),
      orders AS (SELECT DISTINCT stage_order AS o FROM cf WHERE stage IS NOT NULL),
      skips AS (SELECT per.customer_id, orders.o FROM per JOIN orders ON per.lo < orders.o AND orders.o < per.hi
                ANTI JOIN visits v ON v.customer_id = per.customer_id AND v.stage_order = orders.o)
      SELECT o, count(*) FROM skips GROUP BY o
      UNION ALL SELECT -1, count(DISTINCT customer_id) FROM skips""",
    "repeat": """
      SELECT touchpoint, count(*), count(DISTINCT customer_id) FROM (
        SELECT customer_id, touchpoint, us - lag(us) OVER (PARTITION BY customer_id, touchpoint ORDER BY us, _seq) AS gap
        FROM cf) WHERE gap <= 86400000000 GROUP BY touchpoint""",
    "recontact": f"""
      SELECT touchpoint, count(*), count(DISTINCT customer_id) FROM (
        SELECT customer_id, touchpoint, us - lag(us) OVER (PARTITION BY customer_id ORDER BY us, _seq) AS gap
        FROM cf WHERE channel IN {CONTACT} OR touchpoint IN {CONTACT_TOUCHPOINTS}) WHERE gap <= 7 * 86400000000 GROUP BY touchpoint""",
    "long_wait": """
      WITH pairs AS (SELECT customer_id, from_tp, touchpoint, (us - prev_us) / 1e6 AS gap FROM cf WHERE from_tp IS NOT NULL),
      usual AS (SELECT from_tp, touchpoint, quantile_cont(gap, 0.9) AS p90 FROM pairs
                GROUP BY from_tp, touchpoint HAVING count(*) >= 5)
      SELECT touchpoint, from_tp, count(*), count(DISTINCT customer_id), max(p90)
      FROM pairs JOIN usual USING (from_tp, touchpoint) WHERE gap > p90 GROUP BY touchpoint, from_tp""",
    "everyone": "SELECT count(DISTINCT customer_id) FROM cf",
}

_ATTRIBUTES = ",\n".join(f"count_if(c.{col} = '{value}') AS \"{name}\"" for name, col, value in ATTRIBUTE_COHORTS)
_JSON = ",\n".join(f"count_if(json_extract_string(c.attributes, '$.{key}') = '{value}') AS \"{name}\""
                   for name, key, value in JSON_COHORTS)
COHORTS = f"""
WITH per AS (
  SELECT customer_id, bool_or(channel IN {ONLINE}) AS online, bool_or(channel NOT IN {ONLINE}) AS offline,
         bool_or(touchpoint = 'Complaint') AS complained,
         arg_min_null(channel, row(epoch_us(timestamp), _seq)) AS first_channel
  FROM journey_events WHERE customer_id IS NOT NULL GROUP BY customer_id)
SELECT count(*), count_if(online AND NOT offline), count_if(offline AND NOT online), count_if(online AND offline),
       {_ATTRIBUTES}, {_JSON}, count_if(complained), count_if(lower(first_channel) = 'web')
FROM per LEFT JOIN customers c USING (customer_id)"""
COHORT_NAMES = ["online-only", "offline-only", "blended", *(n for n, _, _ in ATTRIBUTE_COHORTS),
                *(n for n, _, _ in JSON_COHORTS), "Complainants", "Started on the web"]

RETENTION = """
WITH a AS (SELECT DISTINCT customer_id, date_trunc('week', timestamp) AS p FROM journey_events),
f AS (SELECT customer_id, min(p) AS cohort FROM a GROUP BY customer_id)
SELECT CAST(cohort AS DATE), CAST(round((epoch_us(p) - epoch_us(cohort)) / 604800e6) AS BIGINT) AS k, count(*)
FROM a JOIN f USING (customer_id) GROUP BY 1, 2"""

TIME_TO_STAGE = """
WITH r AS (SELECT customer_id, stage, min(stage_order) AS o, min(epoch_us(timestamp)) AS t
           FROM journey_events WHERE stage IS NOT NULL GROUP BY customer_id, stage),
p AS (SELECT a.stage AS a, b.stage AS b, (b.t - a.t) / 1e6 AS s FROM r a JOIN r b
      ON a.customer_id = b.customer_id AND b.t >= a.t AND a.stage <> b.stage AND b.o > a.o)
SELECT a, b, count(*), avg(s), quantile_cont(s, 0.25), quantile_cont(s, 0.5), quantile_cont(s, 0.75),
       quantile_cont(s, 0.9)
FROM p GROUP BY a, b"""

_VALID = "(nps BETWEEN 0 AND 10 OR csat BETWEEN 1 AND 5 OR ces BETWEEN 1 AND 7)"
METRICS = f"""
SELECT touchpoint, CAST(date_trunc('month', timestamp) AS DATE), count(*),
       count(nps) FILTER (WHERE nps BETWEEN 0 AND 10),
       100.0 * (count_if(nps BETWEEN 9 AND 10) - count_if(nps BETWEEN 0 AND 6)) / count(nps) FILTER (WHERE nps BETWEEN 0 AND 10),
       count(csat) FILTER (WHERE csat BETWEEN 1 AND 5),
       count_if(csat BETWEEN 4 AND 5) / count(csat) FILTER (WHERE csat BETWEEN 1 AND 5),
       count(ces) FILTER (WHERE ces BETWEEN 1 AND 7), avg(ces) FILTER (WHERE ces BETWEEN 1 AND 7)
FROM feedback WHERE (respondent IS NULL OR respondent = 'customer') AND {_VALID}
GROUP BY 1, 2"""

# Responses without a touchpoint get the customer's latest event at or before the answer, within 7 days.
FEEDBACK_LINKS_SETUP = """
CREATE TEMP TABLE fl AS
WITH f AS (SELECT row_number() OVER () AS rid, * FROM feedback WHERE respondent IS NULL OR respondent = 'customer'),
need AS (SELECT rid, customer_id, epoch_us(timestamp) AS us FROM f
         WHERE touchpoint IS NULL AND customer_id IS NOT NULL AND timestamp IS NOT NULL),
cand AS (SELECT n.rid, e.touchpoint, e.stage,
                row_number() OVER (PARTITION BY n.rid ORDER BY e.timestamp DESC, e._seq DESC) AS k
         FROM need n JOIN journey_events e ON e.customer_id = n.customer_id
          AND epoch_us(e.timestamp) <= n.us AND epoch_us(e.timestamp) >= n.us - 604800000000),
tp_stage AS (SELECT touchpoint, max(stage) AS stage FROM journey_events WHERE stage IS NOT NULL GROUP BY touchpoint)
SELECT f.customer_id, f.timestamp, f._seq, f.response_id, f.nps, f.csat, f.ces,
       CASE WHEN f.touchpoint IS NOT NULL THEN 'touchpoint' WHEN c.touchpoint IS NOT NULL THEN 'nearest_event'
            ELSE 'unattached' END AS link,
       coalesce(f.touchpoint, c.touchpoint) AS touchpoint,
       coalesce(d.stage, c.stage, s.stage) AS stage
FROM f LEFT JOIN (SELECT * FROM cand WHERE k = 1) c ON c.rid = f.rid
LEFT JOIN definition_stages d ON d.touchpoint = coalesce(f.touchpoint, c.touchpoint)
LEFT JOIN tp_stage s ON s.touchpoint = coalesce(f.touchpoint, c.touchpoint)"""

FEEDBACK_LINKS = {
    "summary": "SELECT link, count(*) FROM fl GROUP BY link",
    "stages": f"""
      SELECT stage, count(*), count(nps) FILTER (WHERE nps BETWEEN 0 AND 10),
             100.0 * (count_if(nps BETWEEN 9 AND 10) - count_if(nps BETWEEN 0 AND 6))
               / count(nps) FILTER (WHERE nps BETWEEN 0 AND 10),
             count(csat) FILTER (WHERE csat BETWEEN 1 AND 5),
             count_if(csat BETWEEN 4 AND 5) / count(csat) FILTER (WHERE csat BETWEEN 1 AND 5),
             count(ces) FILTER (WHERE ces BETWEEN 1 AND 7), avg(ces) FILTER (WHERE ces BETWEEN 1 AND 7)
      FROM fl WHERE {_VALID} GROUP BY stage""",
    "customers": """
      SELECT customer_id, count(*) AS responses, count(DISTINCT touchpoint), count(DISTINCT stage), avg(nps), avg(csat),
             avg(ces), max(timestamp), arg_max(nps, CASE WHEN nps IS NOT NULL THEN row(timestamp, _seq, response_id) END)
      FROM fl WHERE customer_id IS NOT NULL GROUP BY customer_id ORDER BY responses DESC, customer_id LIMIT 100""",
}


# --- the two sides, reduced to rows ---------------------------------------------------------
def _f(value: Any) -> Any:
    """None/NaN as None; numbers as float; dates/timestamps as ISO dates; everything else as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows(rows: Any) -> Rows:
    return [tuple(_f(v) for v in r) for r in rows]


def _funnel_rows(records: list[dict[str, Any]]) -> Rows:
    return _rows([tuple(r["customers"] for r in records)
                  + tuple(r["median_seconds_from_previous"] for r in records[1:])])


def ours(task: str, lens: Any) -> dict[str, Rows]:
    if task == "transitions":
        return {"edges": _rows((r["from"], r["to"], r["count"], r["customers"], r["median_seconds"],
                                r["mean_seconds"], r["p90_seconds"]) for r in lens.transitions().records)}
    if task == "variants":
        return {"top": _rows((tuple(r["path"]), r["customers"], r["share"], r["median_seconds"])
                             for r in lens.variants(top=20).records)}
    if task.startswith("funnel"):
        return {"steps": _funnel_rows(list(lens.funnel(FUNNEL, mode=task.split()[1]).records))}
    if task == "journey map":
        return _ours_journey_map(lens.journey_map().to_dict())
    if task == "channels":
        return _ours_channels(lens.channels().to_dict())
    if task == "switch impact":
        keys = ("stage", "from_channel", "to_channel", "customers", "others", "nps_responses_switchers",
                "nps_responses_others", "nps_switchers", "nps_others", "churn_switchers", "churn_others")
        return {"patterns": _rows(tuple(r[k] for k in keys) for r in lens.switch_impact().to_dict())}
    if task == "conformance":
        return _ours_conformance(lens.conformance().to_dict())
    if task == "cohorts":
        d = lens.cohorts().to_dict()
        return {"sizes": _rows([(d["customers"], *(c["customers"] for c in d["cohorts"]))])}
    if task == "retention":
        d = lens.retention().to_dict()
        return {"cells": _rows((c["cohort"], k, n) for c in d["cohorts"] for k, n in enumerate(c["active"]) if n)}
    if task == "time to stage":
        keys = ("from_stage", "to_stage", "n", "mean_seconds", "p25_seconds", "median_seconds", "p75_seconds",
                "p90_seconds")
        return {"pairs": _rows(tuple(r[k] for k in keys) for r in lens.time_to_stage().records)}
    if task == "metrics":
        return {"groups": _metric_rows(lens.metrics().to_dict(detail=True), ("touchpoint", "month"))}
    if task == "feedback links":
        return _ours_feedback_links(lens.feedback_links().to_dict())
    raise KeyError(task)


_METRIC_KEYS = ("n", "nps_n", "nps", "csat_n", "csat", "ces_n", "ces")


def _metric_rows(records: list[dict[str, Any]], by: tuple[str, ...]) -> Rows:
    return _rows(tuple(r[k] for k in (*by, *_METRIC_KEYS)) for r in records)


def _suppress(rows: Rows, first: int) -> Rows:
    """Scores of groups below the minimum sample size are not shown (as in ours)."""
    out = []
    for r in rows:
        row = list(r)
        for i in range(first, len(row), 2):  # (n, score) pairs
            if row[i] is not None and row[i] < MIN_SAMPLE:
                row[i + 1] = None
        out.append(tuple(row))
    return out


def _ours_journey_map(d: dict[str, Any]) -> dict[str, Rows]:
    stages, tps, channels = [], [], []
    for s in d["stages"]:
        if not s["customers"]:
            continue
        stages.append((s["stage"], s["customers"], s["events"], s["median_seconds_in_stage"], s["next_stage_customers"],
                       s["ends_later_customers"], s["drops_off_here_customers"], s["stays_here_customers"],
                       s["ends_earlier_customers"]))
        channels += [(s["stage"], None, ch, share) for ch, share in s["channel_mix"].items()]
        for t in s["touchpoints"]:
            tps.append((s["stage"], t["touchpoint"], t["customers"], t["events"], t["drop_off"], t["churn_share"]))
            channels += [(s["stage"], t["touchpoint"], ch, share) for ch, share in t["channel_mix"].items()]
    flows = [(f["from_stage"], f["to_stage"], f["customers"], f["moves"]) for f in d["flows"]]
    return {"totals": _rows([(d["customers"], d["unmapped_events"])]), "stages": _rows(stages),
            "touchpoints": _rows(tps), "channel_mix": _rows(channels), "flows": _rows(flows)}


def _ours_channels(d: dict[str, Any]) -> dict[str, Rows]:
    hops = [(r["hops"], r["customers"]) for r in d["hops_distribution"]]
    summary = [(d["customers"], d["multichannel_customers"], d["in_stage_switch_customers"])]
    matrix = [(r["from_channel"], r["to_channel"], r["transitions"], r["customers"], r["crosses_online"])
              for r in d["matrix"]]
    crossings = [(name == "offline_to_online", v["transitions"], v["customers"])
                 for name, v in d["online_offline"].items() if v["transitions"]]
    return {"hops": _rows(hops), "summary": _rows(summary), "matrix": _rows(matrix), "online_offline": _rows(crossings)}


def _ours_conformance(d: dict[str, Any]) -> dict[str, Rows]:
    friction = [(r["signal"], r["touchpoint"], r["from_touchpoint"], r["occurrences"], r["customers"], r["share"],
                 r["threshold_seconds"]) for r in d["friction"]]
    return {"summary": _rows([(d["customers"], d["following_customers"], d["skipping_customers"])]),
            "backward": _rows((r["from_stage"], r["to_stage"], r["moves"], r["customers"]) for r in d["backward_moves"]),
            "skipped": _rows((r["order"], r["customers"]) for r in d["skipped_stages"]),
            "friction": _rows(friction)}


def _ours_feedback_links(d: dict[str, Any]) -> dict[str, Rows]:
    summary = [(k.removeprefix("attached_by_"), v) for k, v in d["summary"].items() if k != "total" and v]
    customers = [(r["customer_id"], r["responses"], r["touchpoints"], r["stages"], r["nps_mean"], r["csat_mean"],
                  r["ces_mean"], r["last_response_at"], r["nps_latest"]) for r in d["customers"]]
    return {"summary": _rows(summary), "stages": _metric_rows(d["stages"], ("stage",)), "customers": _rows(customers)}


def reference(task: str, run: Run, journey: str, spark: bool = False) -> dict[str, Rows]:
    steps = {f"s{i}": s for i, s in enumerate(FUNNEL, start=1)}
    if task == "transitions":
        return {"edges": _rows(run(TRANSITIONS, None))}
    if task == "variants":
        return {"top": _rows((tuple(r[0]), *r[1:]) for r in run(VARIANTS if not spark else VARIANTS_SPARK, None))}
    if task.startswith("funnel"):
        sql = {"ordered": FUNNEL_ORDERED, "any": FUNNEL_ANY, "strict": FUNNEL_STRICT}[task.split()[1]]
        return {"steps": _rows(run(sql, steps))}
    if task == "journey map":
        run(JOURNEY_MAP_SETUP, None)
        return _reference_journey_map({k: run(sql, None) for k, sql in JOURNEY_MAP.items()})
    if task == "channels":
        run(CHANNELS_SETUP, None)
        return _reference_channels({k: run(sql, None) for k, sql in CHANNELS.items()})
    if task == "switch impact":
        return {"patterns": _rows(run(SWITCH_IMPACT, None))}
    if task == "conformance":
        run(CONFORMANCE_SETUP, None)
        return _reference_conformance({k: run(sql, None) for k, sql in CONFORMANCE.items()})
    if task == "cohorts":
        return {"sizes": _rows(run(COHORTS, None))}
    if task == "retention":
        cells = run(RETENTION, None)
        last = max(c + timedelta(weeks=k) for c, k, _ in cells)
        return {"cells": _rows((c, k, n) for c, k, n in cells if k < 12 and c + timedelta(weeks=k) <= last)}
    if task == "time to stage":
        return {"pairs": _rows(run(TIME_TO_STAGE, None))}
    if task == "metrics":
        rows = [(tp, f"{m.year:04d}-{m.month:02d}", *rest) for tp, m, *rest in run(METRICS, None)]
        return {"groups": _suppress(_rows(rows), 3)}
    if task == "feedback links":
        return _reference_feedback_links(run, journey)
    raise KeyError(task)


def _shares(counts: list[tuple[Any, ...]]) -> Rows:
    """(stage, touchpoint or None, channel, count) → shares within each (stage, touchpoint)."""
    totals: dict[tuple[Any, Any], float] = {}
    for stage, tp, _ch, n in counts:
        totals[(stage, tp)] = totals.get((stage, tp), 0) + n
    return [(stage, tp, ch, n / totals[(stage, tp)]) for stage, tp, ch, n in counts]


def _reference_journey_map(parts: dict[str, Rows]) -> dict[str, Rows]:
    by_stage: dict[tuple[str, str], int] = {}
    for stage, _tp, ch, n in parts["channels"]:
        by_stage[(stage, ch)] = by_stage.get((stage, ch), 0) + n
    mix = _shares([*parts["channels"], *((s, None, ch, n) for (s, ch), n in by_stage.items())])
    tps = [(s, tp, c, n, dropped / c, churned / c) for s, tp, c, n, dropped, churned in parts["touchpoints"]]
    return {"totals": _rows(parts["totals"]), "stages": _rows(parts["stages"]), "touchpoints": _rows(tps),
            "channel_mix": _rows(mix), "flows": _rows(parts["flows"])}


def _reference_channels(parts: dict[str, Rows]) -> dict[str, Rows]:
    hops = parts["hops"]
    summary = [(sum(r[1] for r in hops), sum(r[2] for r in hops), sum(r[3] for r in hops))]
    return {"hops": _rows((h, n) for h, n, _, _ in hops), "summary": _rows(summary), "matrix": _rows(parts["matrix"]),
            "online_offline": _rows(parts["online_offline"])}


def _reference_conformance(parts: dict[str, Rows]) -> dict[str, Rows]:
    (customers, following), = parts["summary"]
    skipped = [r for r in parts["skipped"] if r[0] != -1 and r[1]]
    skipping = next((r[1] for r in parts["skipped"] if r[0] == -1), 0)
    everyone = parts["everyone"][0][0]
    friction = [("repeat", tp, None, n, c, c / everyone, None) for tp, n, c in parts["repeat"]]
    friction += [("recontact", tp, None, n, c, c / everyone, None) for tp, n, c in parts["recontact"]]
    friction += [("long_wait", tp, src, n, c, c / everyone, p90) for tp, src, n, c, p90 in parts["long_wait"]]
    return {"summary": _rows([(customers, following, skipping)]), "backward": _rows(parts["backward"]),
            "skipped": _rows(skipped), "friction": _rows(friction)}


def _reference_feedback_links(run: Run, journey: str) -> dict[str, Rows]:
    import yaml

    with open(journey, encoding="utf-8") as handle:
        stages = {tp["name"]: tp["stage"] for tp in yaml.safe_load(handle)["touchpoints"]}
    quoted = ", ".join("('{}', '{}')".format(name.replace("'", "''"), stage) for name, stage in stages.items())
    run(DEFINITION_STAGES.format(values=quoted), None)
    run(FEEDBACK_LINKS_SETUP, None)
    parts = {k: run(sql, None) for k, sql in FEEDBACK_LINKS.items()}
    return {"summary": _rows(parts["summary"]), "stages": _suppress(_rows(parts["stages"]), 2),
            "customers": _rows(parts["customers"])}


#: The definition's touchpoint → stage table (the analyst types it in; here from the demo definition).
DEFINITION_STAGES = "CREATE TEMP TABLE definition_stages AS SELECT * FROM (VALUES {values}) t(touchpoint, stage)"


def compare(ours_rows: dict[str, Rows], ref_rows: dict[str, Rows]) -> str:
    """'same' or a description of the first difference."""
    for section in sorted(set(ours_rows) | set(ref_rows)):
        a = sorted(ours_rows.get(section, []), key=_key)
        b = sorted(ref_rows.get(section, []), key=_key)
        if len(a) != len(b):
            return f"{section}: {len(a)} rows vs {len(b)}"
        for x, y in zip(a, b, strict=True):
            if len(x) != len(y) or not all(_close(u, v) for u, v in zip(x, y, strict=True)):
                return f"{section}: {x} vs {y}"[:300]
    return "same"


def _key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v)) for v in row)


def _close(u: Any, v: Any) -> bool:
    if isinstance(u, float) and isinstance(v, float):
        return math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-6)
    return bool(u == v)


def spark_sql(sql: str) -> str:
    """The DuckDB-dialect reference rewritten for Spark SQL."""
    out = re.sub(r"\bepoch_us\(", "unix_micros(", sql)
    out = re.sub(r"quantile_cont\(", "percentile(", out)
    out = re.sub(r"\barg_min_null\(", "min_by(", out)
    out = re.sub(r"\barg_max\(", "max_by(", out)
    out = re.sub(r"\brow\(", "struct(", out)
    out = re.sub(r"json_extract_string\(", "get_json_object(", out)
    out = re.sub(r"CREATE TEMP TABLE (\w+) AS", r"CACHE TABLE \1 AS", out)
    out = re.sub(r"\$(s\d)", r":\1", out)
    out = re.sub(r"(?<!LEFT )ANTI JOIN", "LEFT ANTI JOIN", out)
    out = re.sub(r'AS "([^"]+)"', r"AS `\1`", out)
    out = out.replace("row_number() OVER () AS rid", "monotonically_increasing_id() AS rid")
    return out
