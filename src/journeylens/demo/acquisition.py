"""The first half of every journey: awareness, consideration and onboarding.

Onboarding is a funnel: each step keeps ``1 - typical_drop_off`` of the customers who reached
it, except the planted KYC step (see :data:`journeylens.demo.planted.KYC_DROP_OFF`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from journeylens.demo import catalogue as cat
from journeylens.demo.catalogue import TP
from journeylens.demo.events import DAY_SECONDS, EventChunk
from journeylens.demo.planted import KYC_DROP_OFF
from journeylens.demo.population import Population

MINUTE, HOUR = 60, 3600
ONLINE, BRANCH, BLENDED = (cat.MICRO_JOURNEYS.index(m) for m in ("online", "branch", "blended"))
#: Share of blended customers who open their account online (the rest in a branch).
BLENDED_ONLINE_OPENING = 0.55
_CONSIDERATION_PAGES = ("Website product page", "Savings rate calculator", "Read online reviews",
                        "Comparison site visit")
_PAGE_SHARES = np.array([0.5, 0.2, 0.15, 0.15])
_VISITOR_PAGES = ("Paid search ad", "Website product page", "Savings rate calculator", "Comparison site visit")


@dataclass(frozen=True)
class Onboarded:
    """Who finished onboarding (``active``), when the account opened and when use began."""

    active: np.ndarray
    opened: np.ndarray  # epoch seconds of account opening (int64 max when never opened)
    activated: np.ndarray  # epoch seconds the customer could start using the account


def gaps(rng: np.random.Generator, mean_seconds: float, n: int, minimum: int = 1) -> np.ndarray:
    """Exponential waiting times (whole seconds, at least ``minimum``)."""
    return minimum + rng.exponential(mean_seconds, n).astype(np.int64)


def awareness(rng: np.random.Generator, pop: Population) -> list[EventChunk]:
    """The tracked moment each customer heard of the bank (branch walk-ins have none)."""
    codes = np.array([TP[name] if name else -1 for name in cat.ACQUISITION_TOUCHPOINT], dtype=np.int16)
    tp = codes[pop.acquisition]
    cust = np.flatnonzero(tp >= 0)
    chunks = [EventChunk.of(cust, pop.started[cust], tp[cust])]
    online = np.flatnonzero((pop.micro != BRANCH) & (rng.random(len(pop)) < 0.3))
    extra = np.where(rng.random(len(online)) < 0.5, TP["Social media post"], TP["Paid search ad"])
    chunks.append(EventChunk.of(online, pop.started[online] - gaps(rng, 4 * DAY_SECONDS, len(online)), extra))
    return chunks


def browsing(rng: np.random.Generator, cust: np.ndarray, start: np.ndarray,
             pages: Sequence[str], shares: np.ndarray, mean_pages: float) -> tuple[EventChunk, np.ndarray]:
    """Web page views: 1 + Poisson pages per customer, minutes apart, sometimes days apart."""
    n_pages = 1 + rng.poisson(mean_pages, len(cust))
    who = np.repeat(np.arange(len(cust)), n_pages)
    step_gap = np.where(rng.random(len(who)) < 0.25, gaps(rng, 2 * DAY_SECONDS, len(who)),
                        gaps(rng, 3 * MINUTE, len(who), 20))
    first = np.r_[0, np.cumsum(n_pages)[:-1]]
    within = np.cumsum(step_gap) - np.repeat(np.cumsum(step_gap)[first] - step_gap[first], n_pages)
    ts = start[who] + within
    codes = np.array([TP[p] for p in pages], dtype=np.int16)
    tp = codes[rng.choice(len(codes), size=len(who), p=shares / shares.sum())]
    last = ts[np.cumsum(n_pages) - 1]
    return EventChunk.of(cust[who], ts, tp), last


def consideration(rng: np.random.Generator, pop: Population,
                  online_opening: np.ndarray) -> tuple[list[EventChunk], np.ndarray]:
    """Research before opening; returns the chunks and when each customer was ready to open."""
    n = len(pop)
    ready = pop.started + gaps(rng, 3 * DAY_SECONDS, n, HOUR)
    chunks: list[EventChunk] = []
    browsers = np.flatnonzero(pop.micro != BRANCH)
    chunk, last = browsing(rng, browsers, ready[browsers], _CONSIDERATION_PAGES, _PAGE_SHARES, 1.6)
    chunks.append(chunk)
    ready[browsers] = last
    offline = np.flatnonzero(~online_opening)
    # Blended customers who open online still touch the bank offline first (a TV ad or a brochure).
    blended_online = online_opening & (pop.micro == BLENDED) & (pop.acquisition != cat.ACQUISITION_CHANNELS.index("tv"))
    brochure = np.union1d(offline[rng.random(len(offline)) < 0.3], np.flatnonzero(blended_online))
    chunks.append(EventChunk.of(brochure, ready[brochure] + gaps(rng, DAY_SECONDS, len(brochure)),
                                TP["Brochure by post"]))
    business = offline[pop.segment[offline] == cat.SEGMENTS.index("business")]
    broker = business[rng.random(len(business)) < 0.4]
    chunks.append(EventChunk.of(broker, ready[broker] + gaps(rng, 2 * DAY_SECONDS, len(broker)),
                                TP["Partner broker meeting"]))
    ready[offline] += 3 * DAY_SECONDS
    return chunks, ready


def funnel(rng: np.random.Generator, cust: np.ndarray, start: np.ndarray,
           steps: Sequence[tuple[str, float, float]]) -> tuple[list[EventChunk], np.ndarray, np.ndarray]:
    """Steps ``(touchpoint, mean gap seconds, share kept after the step)`` in order.

    Returns the chunks, who completed every step, and each customer's last step time.
    """
    alive = np.ones(len(cust), dtype=bool)
    t = start.copy()
    chunks = []
    for name, mean_gap, kept_share in steps:
        t = t + gaps(rng, mean_gap, len(cust), MINUTE)
        chunks.append(EventChunk.of(cust[alive], t[alive], TP[name]))
        alive &= rng.random(len(cust)) < kept_share
    return chunks, alive, t


def onboarding(rng: np.random.Generator, pop: Population, online_opening: np.ndarray,
               ready: np.ndarray) -> tuple[list[EventChunk], Onboarded]:
    """Online opening (with the planted KYC drop-off) or branch opening, then card set-up.

    Online-only customers hear about their card by email; everyone else gets it by post.
    """
    keep, kyc_keep = 1 - KYC_DROP_OFF.typical_drop_off, 1 - KYC_DROP_OFF.drop_off

    def online_steps(card_step: str) -> list[tuple[str, float, float]]:
        return [("Open account online", 6 * HOUR, keep), (KYC_DROP_OFF.touchpoint, 8 * MINUTE, kyc_keep),
                (KYC_DROP_OFF.next_touchpoint, 30 * HOUR, keep), (card_step, 3 * DAY_SECONDS, keep),
                ("Card activation", 20 * HOUR, 1.0)]

    branch_steps = [
        ("Branch appointment", 2 * DAY_SECONDS, keep),
        ("Open account in branch", 5 * DAY_SECONDS, keep),
        ("ID check in branch", 15 * MINUTE, keep),
        ("Card delivered", 4 * DAY_SECONDS, keep),
        ("PIN set at ATM", 2 * DAY_SECONDS, 1.0),
    ]
    groups = ((online_steps("Card dispatched"), online_opening & (pop.micro == ONLINE), 0),
              (online_steps("Card delivered"), online_opening & (pop.micro != ONLINE), 0),
              (branch_steps, ~online_opening, 1))
    n = len(pop)
    opened = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    activated = np.zeros(n, dtype=np.int64)
    active = np.zeros(n, dtype=bool)
    chunks: list[EventChunk] = []
    for steps, who, opening_step in groups:
        cust = np.flatnonzero(who)
        funnel_chunks, done, last = funnel(rng, cust, ready[cust], steps)
        chunks.extend(funnel_chunks)
        opening = funnel_chunks[opening_step]
        opened[opening.cust] = opening.ts
        active[cust[done]] = True
        activated[cust] = last
    return chunks, Onboarded(active=active, opened=opened, activated=activated)


def channel_by_micro(pop: Population, cust: np.ndarray, online: str, branch: str, blended: str) -> np.ndarray:
    """Channel codes per event, chosen by the customer's micro-journey (so that online-only
    customers stay online and branch customers stay offline)."""
    codes = np.array([cat.CH[online], cat.CH[branch], cat.CH[blended]], dtype=np.int8)
    return codes[pop.micro[cust]]


def visitors(rng: np.random.Generator, first_index: int, n_visitors: int, start_ts: int,
             n_days: int) -> EventChunk:
    """Web visitors who never sign up (anonymous for ever): indices ``first_index``…"""
    cust = np.arange(first_index, first_index + n_visitors, dtype=np.int64)
    start = start_ts + rng.integers(0, n_days * DAY_SECONDS, n_visitors)
    chunk, _ = browsing(rng, cust, start, _VISITOR_PAGES, np.array([0.3, 0.4, 0.15, 0.15]), 0.8)
    return chunk


def opens_online(rng: np.random.Generator, pop: Population) -> np.ndarray:
    """Who opens the account online: every online customer and some blended ones."""
    return (pop.micro == ONLINE) | ((pop.micro == BLENDED) & (rng.random(len(pop)) < BLENDED_ONLINE_OPENING))
