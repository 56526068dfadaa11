"""The second half of every journey: usage, service, renewal and departure.

Usage and service contacts are Poisson processes over each customer's active period; churn is
decided after service so the planted channel switch can double it (see
:data:`journeylens.demo.planted.CHANNEL_SWITCH`), and nothing happens after an account closes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from journeylens.demo import catalogue as cat
from journeylens.demo.acquisition import (
    BRANCH,
    HOUR,
    MINUTE,
    ONLINE,
    Onboarded,
    channel_by_micro,
    gaps,
)
from journeylens.demo.catalogue import TP
from journeylens.demo.events import DAY_SECONDS, EventChunk, concat, order_by
from journeylens.demo.planted import APP_RELEASE, CHANNEL_SWITCH, DRIVERS
from journeylens.demo.population import Population, daytime_seconds

MONTH = 30 * DAY_SECONDS
#: Usage sessions per 30 days by micro-journey (online, branch, blended).
SESSIONS_PER_MONTH = np.array([2.0, 1.1, 1.75])
#: Session kinds and their shares per micro-journey.
SESSION_KINDS = ("Mobile app login", "Online banking login", "ATM withdrawal", "Branch cash deposit",
                 "Statement by post")
SESSION_SHARES = np.array([
    [0.72, 0.28, 0.00, 0.00, 0.00],  # online
    [0.00, 0.00, 0.55, 0.27, 0.18],  # branch
    [0.40, 0.15, 0.25, 0.12, 0.08],  # blended
])
SERVICE_PER_MONTH = 0.09
#: Service episode kinds: self-serve, chat, online → call centre (the switch), call, branch.
EPISODE_SHARES = np.array([
    [0.60, 0.40, 0.00, 0.00, 0.00],  # online
    [0.00, 0.00, 0.00, 0.55, 0.45],  # branch
    [0.25, 0.12, 0.35, 0.18, 0.10],  # blended
])
SWITCH_EPISODE = 2
CALL_EPISODE = 3
COMPLAINT_SHARE = 0.10


@dataclass(frozen=True)
class Lifecycle:
    """What happened after onboarding, per customer."""

    switcher: np.ndarray  # had an online → call centre service episode
    served: np.ndarray  # had any service episode
    churned: np.ndarray
    churn_ts: np.ndarray  # int64 max when not churned


def _draw(rng: np.random.Generator, shares: np.ndarray, rows: np.ndarray) -> np.ndarray:
    cum = np.cumsum(shares, axis=1)
    return (rng.random(len(rows))[:, None] > cum[rows]).sum(axis=1)


def _occurrences(rng: np.random.Generator, cust: np.ndarray, begin: np.ndarray, end: np.ndarray,
                 per_month: np.ndarray, cap: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Poisson-many times per customer, uniform over [begin, end): (customer, time) sorted by time."""
    span = np.maximum(end - begin, 0)
    count = rng.poisson(per_month * span / MONTH)
    if cap is not None:
        count = np.minimum(count, cap)
    who = np.repeat(cust, count)
    day = np.repeat(begin, count) + (rng.random(len(who)) * np.repeat(span, count)).astype(np.int64)
    ts = day - day % DAY_SECONDS + daytime_seconds(rng, len(who))
    ts = np.clip(ts, np.repeat(begin, count), np.repeat(end, count) - 1)
    order = order_by(who, ts)
    return who[order], ts[order]


def usage(rng: np.random.Generator, pop: Population, cust: np.ndarray, begin: np.ndarray,
          end: np.ndarray, release_ts: int) -> list[EventChunk]:
    """App, web, ATM, branch and post sessions; after the app release some app users are logged
    out and log in again within two minutes."""
    who, ts = _occurrences(rng, cust, begin, end, SESSIONS_PER_MONTH[pop.micro[cust]])
    kind = _draw(rng, SESSION_SHARES, pop.micro[who])
    codes = np.array([TP[k] for k in SESSION_KINDS], dtype=np.int16)
    chunks = [EventChunk.of(who, ts, codes[kind])]
    app = kind == SESSION_KINDS.index("Mobile app login")
    relogin = app & (ts >= release_ts) & (rng.random(len(who)) < APP_RELEASE.relogin_share_after)
    chunks.append(EventChunk.of(who[relogin], ts[relogin] + rng.integers(30, 120, int(relogin.sum())),
                                TP[APP_RELEASE.touchpoint]))
    transfer = app & (rng.random(len(who)) < 0.6)
    chunks.append(EventChunk.of(who[transfer], ts[transfer] + 125 + gaps(rng, 60, int(transfer.sum())),
                                TP["Transfer"]))
    web = kind == SESSION_KINDS.index("Online banking login")
    bills = web & (rng.random(len(who)) < 0.5)
    chunks.append(EventChunk.of(who[bills], ts[bills] + gaps(rng, 90, int(bills.sum()), 20), TP["Bill payment"]))
    digital = cust[(pop.micro[cust] != BRANCH) & (rng.random(len(cust)) < 0.12)]
    span = np.maximum(end - begin, 1)[np.isin(cust, digital)]
    connected = begin[np.isin(cust, digital)] + (rng.random(len(digital)) * span).astype(np.int64)
    chunks.append(EventChunk.of(digital, connected, TP["Budgeting app connected"]))
    return chunks


def service(rng: np.random.Generator, pop: Population, cust: np.ndarray, begin: np.ndarray,
            end: np.ndarray) -> tuple[list[EventChunk], np.ndarray, np.ndarray]:
    """Service episodes; returns the chunks, each episode's (customer, start) and its kind."""
    rate = np.full(len(cust), SERVICE_PER_MONTH)
    who, ts = _occurrences(rng, cust, begin, end, rate, cap=4)
    kind = _draw(rng, EPISODE_SHARES, pop.micro[who])
    call = np.where(rng.random(len(who)) < 0.6, TP["Call centre: card issue"], TP["Call centre: fees query"])
    online_first = np.where(rng.random(len(who)) < 0.6, TP["Help centre search"], TP["Chat: dispute"])
    search_before_chat = (kind == 1) & (rng.random(len(who)) < 0.5)
    chunks = [
        EventChunk.of(who[kind == 0], ts[kind == 0], TP["Help centre search"]),
        EventChunk.of(who[search_before_chat], ts[search_before_chat], TP["Help centre search"]),
        EventChunk.of(who[kind == 1], ts[kind == 1] + 60 + gaps(rng, 4 * MINUTE, int((kind == 1).sum())),
                      TP["Chat: dispute"]),
    ]
    switch = kind == SWITCH_EPISODE
    chunks.append(EventChunk.of(who[switch], ts[switch], online_first[switch]))
    # The call follows within the same visit (3-25 minutes), so it shares the episode.
    call_gap = np.minimum(3 * MINUTE + gaps(rng, 8 * MINUTE, int(switch.sum())), 25 * MINUTE)
    chunks.append(EventChunk.of(who[switch], ts[switch] + call_gap, call[switch]))
    chunks.append(EventChunk.of(who[kind == 3], ts[kind == 3], call[kind == 3]))
    chunks.append(EventChunk.of(who[kind == 4], ts[kind == 4], TP["Branch service visit"]))
    complaint = rng.random(len(who)) < COMPLAINT_SHARE
    complained = who[complaint]
    chunks.append(EventChunk.of(complained, ts[complaint] + gaps(rng, 2 * DAY_SECONDS, len(complained), HOUR),
                                TP["Complaint"], channel_by_micro(pop, complained, "chat", "branch", "call_centre")))
    return chunks, np.stack([who, ts]), kind


def _repeat_calls(who: np.ndarray, ts: np.ndarray, kind: np.ndarray, n: int) -> np.ndarray:
    """Per customer, the time of the first call-centre episode that follows another within
    ``DRIVERS.repeat_window_days`` (int64 max when none)."""
    calls = (kind == SWITCH_EPISODE) | (kind == CALL_EPISODE)
    cw, ct = who[calls], ts[calls]
    order = order_by(cw, ct)
    cw, ct = cw[order], ct[order]
    repeat = (cw[1:] == cw[:-1]) & (ct[1:] - ct[:-1] <= DRIVERS.repeat_window_days * DAY_SECONDS)
    out = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, cw[1:][repeat], ct[1:][repeat])
    return out


def churn(rng: np.random.Generator, pop: Population, cust: np.ndarray, begin: np.ndarray, end_ts: int,
          episodes: np.ndarray, kind: np.ndarray) -> Lifecycle:
    """Decide churn: segment and plan propensity, doubled for switchers; the closing date falls
    after the customer's first switch (else first service contact, else onboarding)."""
    n = len(pop)
    who, ts = episodes
    first_service = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_service, who, ts)
    first_switch = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_switch, who[kind == SWITCH_EPISODE], ts[kind == SWITCH_EPISODE])
    switcher = first_switch < np.iinfo(np.int64).max
    served = first_service < np.iinfo(np.int64).max
    propensity = np.asarray(cat.SEGMENT_CHURN)[pop.segment] * np.asarray(cat.PLAN_CHURN)[pop.plan]
    share = CHANNEL_SWITCH.baseline_churn_share * propensity / propensity[cust].mean()
    share = share * np.where(switcher, CHANNEL_SWITCH.churn_ratio, 1.0)
    repeat_at = _repeat_calls(who, ts, kind, n)
    repeater = repeat_at < np.iinfo(np.int64).max
    share = share * np.where(repeater, DRIVERS.repeat_churn_ratio, 1.0)
    churned = np.zeros(n, dtype=bool)
    churned[cust] = rng.random(len(cust)) < share[cust]
    reference = np.where(switcher, first_switch, np.where(served, first_service, 0))
    reference = np.where(repeater, np.maximum(reference, repeat_at + HOUR), reference)
    reference[cust] = np.maximum(reference[cust], begin[cust])
    low = np.minimum(reference + DAY_SECONDS, end_ts - HOUR)
    churn_ts = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    churn_ts[churned] = low[churned] + (rng.random(int(churned.sum())) * (end_ts - low[churned])).astype(np.int64)
    return Lifecycle(switcher=switcher, served=served, churned=churned, churn_ts=churn_ts)


def renewal(rng: np.random.Generator, pop: Population, cust: np.ndarray, begin: np.ndarray,
            stop: np.ndarray) -> list[EventChunk]:
    """A renewal offer two weeks before the first anniversary, for customers still there
    (by post to branch customers); some upgrade, some call (never the online-only ones)."""
    offer_ts = begin + 351 * DAY_SECONDS
    due = offer_ts < stop
    who, ts = cust[due], offer_ts[due]
    answer = rng.random(len(who))
    upgrade = answer < 0.35
    call = (answer >= 0.35) & (answer < 0.5) & (pop.micro[who] != ONLINE)
    return [
        EventChunk.of(who, ts, TP["Renewal offer"], channel_by_micro(pop, who, "email", "post", "email")),
        EventChunk.of(who[upgrade], ts[upgrade] + gaps(rng, 2 * DAY_SECONDS, int(upgrade.sum()), HOUR),
                      TP["Plan upgrade"], channel_by_micro(pop, who[upgrade], "app", "branch", "app")),
        EventChunk.of(who[call], ts[call] + gaps(rng, 3 * DAY_SECONDS, int(call.sum()), HOUR), TP["Renewal call"]),
    ]


def departure(rng: np.random.Generator, pop: Population, life: Lifecycle, begin: np.ndarray) -> list[EventChunk]:
    """Closure request a few days before the account closes on the churn date (online-only
    customers ask in the chat and get an email; branch customers ask in the branch)."""
    who = np.flatnonzero(life.churned)
    closed = life.churn_ts[who]
    request = np.maximum(closed - gaps(rng, 3 * DAY_SECONDS, len(who), HOUR), begin[who] + MINUTE)
    return [EventChunk.of(who, request, TP["Account closure request"],
                          channel_by_micro(pop, who, "chat", "branch", "call_centre")),
            EventChunk.of(who, closed, TP["Account closed"], channel_by_micro(pop, who, "email", "post", "post"))]


def after_onboarding(rng: np.random.Generator, pop: Population, onboarded: Onboarded,
                     end_ts: int, release_ts: int) -> tuple[list[EventChunk], Lifecycle]:
    """Usage, service, churn, renewal and departure for the customers who finished onboarding."""
    cust = np.flatnonzero(onboarded.active)
    begin = onboarded.activated[cust] + HOUR
    end = np.full(len(cust), end_ts, dtype=np.int64)
    service_chunks, episodes, kind = service(rng, pop, cust, begin, end)
    starts = np.zeros(len(pop), dtype=np.int64)
    starts[cust] = begin
    life = churn(rng, pop, cust, starts, end_ts, episodes, kind)
    ongoing = concat(usage(rng, pop, cust, begin, end, release_ts) + service_chunks)
    ongoing = ongoing.keep(ongoing.ts < life.churn_ts[ongoing.cust])
    stop = np.minimum(life.churn_ts[cust], end_ts)
    chunks = [ongoing, *renewal(rng, pop, cust, begin, stop), *departure(rng, pop, life, starts)]
    return chunks, life
