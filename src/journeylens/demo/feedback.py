"""Survey responses: touchpoint CSAT surveys (with CES at service touchpoints and NPS on some),
a relationship NPS survey, and a few employee (eNPS) answers — all with templated comments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from journeylens.demo import comments
from journeylens.demo.acquisition import HOUR, Onboarded
from journeylens.demo.catalogue import CH, CHANNELS, TOUCHPOINTS, TP
from journeylens.demo.events import EventChunk, ids, timestamps
from journeylens.demo.lifecycle import Lifecycle
from journeylens.demo.planted import APP_RELEASE, CHANNEL_SWITCH, DRIVERS
from journeylens.demo.scores import draw, mean_probs, nps_probs

NPS_ASKED_SHARE = 0.4
RELATIONSHIP_SURVEY_SHARE = 0.3
EMPLOYEE_ENPS = 8.0
SWITCH_CES_PENALTY = 1.0
#: Chance that a respondent writes a comment, by sentiment (positive, neutral, negative).
COMMENT_SHARE = np.array([0.30, 0.35, 0.50])

_RATE = np.array([tp.survey_rate for tp in TOUCHPOINTS])
_CSAT = np.array([tp.csat_mean for tp in TOUCHPOINTS])
_CES = np.array([np.nan if tp.ces_mean is None else tp.ces_mean for tp in TOUCHPOINTS])
_THEME = np.array([tp.theme for tp in TOUCHPOINTS], dtype=object)
_OWNERS = sorted({tp.owner for tp in TOUCHPOINTS})


@dataclass(frozen=True)
class Responses:
    """Answered surveys as arrays; -1 = not asked (null), touchpoint -1 = none."""

    cust: np.ndarray
    ts: np.ndarray
    tp: np.ndarray
    ch: np.ndarray
    survey: np.ndarray
    nps: np.ndarray
    csat: np.ndarray
    ces: np.ndarray
    theme: np.ndarray
    sat: np.ndarray  # rows × len(DRIVERS.ratings) attribute ratings, -1 = not asked


def _scores_by_group(rng: np.random.Generator, group: np.ndarray, target: np.ndarray,
                     low: int, high: int) -> np.ndarray:
    """Draw each row's score from the distribution with that row's target mean."""
    out = np.full(len(group), -1, dtype=np.int32)
    for g in np.unique(group[group >= 0]):
        rows = np.flatnonzero(group == g)
        out[rows] = draw(rng, mean_probs(round(float(target[rows[0]]), 3), low, high), len(rows), low)
    return out


def _nps(rng: np.random.Generator, switcher: np.ndarray, asked: np.ndarray) -> np.ndarray:
    out = np.full(len(switcher), -1, dtype=np.int32)
    base = CHANNEL_SWITCH.nps_baseline
    for flag, target in ((False, base), (True, base + CHANNEL_SWITCH.nps_gap_points)):
        rows = np.flatnonzero(asked & (switcher == flag))
        out[rows] = draw(rng, nps_probs(target), len(rows), 0)
    return out


def touchpoint_surveys(rng: np.random.Generator, events: EventChunk, identified: np.ndarray,
                       n_customers: int, life: Lifecycle, release_ts: int) -> Responses:
    """Surveys triggered by events at key touchpoints (each touchpoint has its own rate)."""
    pick = identified & (events.cust < n_customers) & (rng.random(len(events)) < _RATE[events.tp])
    src = events.keep(pick)
    answered = src.ts + 600 + rng.exponential(3 * HOUR, len(src)).astype(np.int64)
    after = (src.tp == TP[APP_RELEASE.touchpoint]) & (src.ts >= release_ts)
    login = src.tp == TP[APP_RELEASE.touchpoint]
    csat_mean = _CSAT[src.tp].copy()
    csat_mean[login] = np.where(after[login], APP_RELEASE.csat_mean_after, APP_RELEASE.csat_mean_before)
    csat = _scores_by_group(rng, src.tp.astype(np.int64) * 2 + after, csat_mean, 1, 5)
    switch_call = life.switcher[src.cust] & (src.ch == CH[CHANNEL_SWITCH.to_channel])
    ces_mean = _CES[src.tp] - np.where(switch_call, SWITCH_CES_PENALTY, 0.0)
    ces_group = np.where(np.isnan(ces_mean), -1, src.tp.astype(np.int64) * 2 + switch_call)
    ces = _scores_by_group(rng, ces_group, np.nan_to_num(ces_mean), 1, 7)
    nps = _nps(rng, life.switcher[src.cust], rng.random(len(src)) < NPS_ASKED_SHARE)
    theme = _THEME[src.tp].copy()
    theme[after] = "app_crash"
    theme[switch_call & (rng.random(len(src)) < 0.5)] = "switch"
    return Responses(src.cust, answered, src.tp.astype(np.int64), src.ch.astype(np.int64),
                     np.zeros(len(src), dtype=np.int8), nps, csat, ces, theme, _no_ratings(len(src)))


def _no_ratings(n: int) -> np.ndarray:
    return np.full((n, len(DRIVERS.ratings)), -1, dtype=np.int32)


def _ratings_and_nps(rng: np.random.Generator, switcher: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Attribute ratings, and relationship NPS that follows them (:data:`DRIVERS`) and the switch gap."""
    n = len(switcher)
    sat = np.column_stack([draw(rng, mean_probs(m, 1, 5), n, 1) for m in DRIVERS.rating_means]).astype(np.int32)
    shift = (sat - np.asarray(DRIVERS.rating_means)) @ np.asarray(DRIVERS.nps_per_point)
    target = CHANNEL_SWITCH.nps_baseline + np.where(switcher, CHANNEL_SWITCH.nps_gap_points, 0.0) + shift
    nps = np.empty(n, dtype=np.int32)
    key = np.round(np.clip(target, -90, 90)).astype(np.int64)
    for value in np.unique(key):
        rows = np.flatnonzero(key == value)
        nps[rows] = draw(rng, nps_probs(float(value)), len(rows), 0)
    return sat, nps


def relationship_surveys(rng: np.random.Generator, onboarded: Onboarded, life: Lifecycle,
                         end_ts: int) -> Responses:
    """One relationship NPS survey (by email) for a share of the active customers."""
    cust = np.flatnonzero(onboarded.active & (rng.random(len(onboarded.active)) < RELATIONSHIP_SURVEY_SHARE))
    begin = onboarded.activated[cust]
    stop = np.minimum(life.churn_ts[cust], end_ts)
    keep = stop > begin + HOUR
    cust, begin, stop = cust[keep], begin[keep], stop[keep]
    ts = begin + (rng.random(len(cust)) * (stop - begin)).astype(np.int64)
    sat, nps = _ratings_and_nps(rng, life.switcher[cust])
    none = np.full(len(cust), -1, dtype=np.int64)
    return Responses(cust, ts, none, np.full(len(cust), CH["email"]), np.ones(len(cust), dtype=np.int8),
                     nps, none.astype(np.int32), none.astype(np.int32), np.full(len(cust), "general", dtype=object), sat)


def _sentiment(res: Responses) -> np.ndarray:
    from_csat = np.where(res.csat >= 4, 0, np.where(res.csat == 3, 1, 2))
    from_nps = np.where(res.nps >= 9, 0, np.where(res.nps >= 7, 1, 2))
    return np.where(res.csat >= 0, from_csat, from_nps)


def employee_surveys(rng: np.random.Generator, n: int, start_ts: int, end_ts: int) -> pa.Table:
    """eNPS answers from staff (no customer); ``team`` says where they work."""
    ts = np.sort(rng.integers(start_ts, end_ts, n))
    nps = draw(rng, nps_probs(EMPLOYEE_ENPS), n, 0)
    sentiment = np.where(nps >= 9, 0, np.where(nps >= 7, 1, 2))
    text = comments.write(rng, np.full(n, "employee"), np.asarray(comments.SENTIMENTS)[sentiment], np.full(n, "en"))
    text[rng.random(n) >= 0.6] = None
    return pa.table({
        "timestamp": timestamps(ts), "survey": pa.array(["eNPS"] * n), "respondent": pa.array(["employee"] * n),
        "nps": pa.array(nps, type=pa.int32()), "comment": pa.array(text.tolist(), type=pa.string()),
        "team": pa.array(np.asarray(_OWNERS, dtype=object)[rng.integers(0, len(_OWNERS), n)].tolist()),
    })


def feedback_table(rng: np.random.Generator, parts: list[Responses], customer_ids: pa.Array,
                   employees: pa.Table, end_ts: int) -> pa.Table:
    """Customer responses (answered before the window ends) plus employee ones, by time."""
    res = Responses(*(np.concatenate([getattr(p, f) for p in parts]) for f in Responses.__dataclass_fields__))
    sentiment = _sentiment(res)
    wrote = rng.random(len(res.cust)) < COMMENT_SHARE[sentiment]
    language = np.asarray(comments.LANGUAGES)[rng.choice(len(comments.LANGUAGES), len(res.cust), p=comments.LANGUAGE_SHARES)]
    text = comments.write(rng, res.theme[wrote], np.asarray(comments.SENTIMENTS)[sentiment[wrote]], language[wrote])
    comment = np.full(len(res.cust), None, dtype=object)
    comment[wrote] = text
    surveys = np.array(["Touchpoint CSAT", "Relationship NPS"], dtype=object)
    tp_names = np.array([tp.name for tp in TOUCHPOINTS] + [None], dtype=object)  # code -1 → None
    customers = pa.table({
        "customer_id": customer_ids.take(pa.array(res.cust)),
        "timestamp": timestamps(res.ts),
        "touchpoint": pa.array(tp_names[res.tp].tolist(), type=pa.string()),
        "channel": pa.array(np.asarray(CHANNELS, dtype=object)[res.ch].tolist(), type=pa.string()),
        "survey": pa.array(surveys[res.survey].tolist(), type=pa.string()),
        "respondent": pa.array(["customer"] * len(res.cust), type=pa.string()),
        "nps": pa.array(res.nps, mask=res.nps < 0, type=pa.int32()),
        "csat": pa.array(res.csat, mask=res.csat < 0, type=pa.int32()),
        "ces": pa.array(res.ces, mask=res.ces < 0, type=pa.int32()),
        "comment": pa.array(comment.tolist(), type=pa.string()),
        **{name: pa.array(res.sat[:, j], mask=res.sat[:, j] < 0, type=pa.int32())
           for j, name in enumerate(DRIVERS.ratings)},
    }).filter(pa.array(res.ts < end_ts))
    table = pa.concat_tables([customers, employees], promote_options="default")
    table = table.sort_by([("timestamp", "ascending")])
    return table.add_column(0, "response_id", ids("R", np.arange(1, table.num_rows + 1), 7))
