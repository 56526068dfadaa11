"""Event chunks: columns of numpy arrays that journey builders emit and :func:`assemble` joins.

Nothing here loops over events in Python: chunks are concatenated, sorted by one packed
integer key (:func:`order_by`) and turned into Arrow columns with vectorised ``take``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from journeylens.demo.catalogue import CH, CHANNELS, TOUCHPOINTS

DAY_SECONDS = 86_400
_TP_CHANNEL = np.array([CH[tp.channel] for tp in TOUCHPOINTS], dtype=np.int8)
_ANONYMOUS_CHANNELS = np.array([name in ("web", "social") for name in CHANNELS])


@dataclass(frozen=True)
class EventChunk:
    """Events of one kind: customer index, time (epoch seconds), touchpoint and channel codes."""

    cust: np.ndarray
    ts: np.ndarray
    tp: np.ndarray
    ch: np.ndarray

    @classmethod
    def of(cls, cust: np.ndarray, ts: np.ndarray, tp: int | np.ndarray,
           ch: int | np.ndarray | None = None) -> EventChunk:
        """Broadcast scalar codes; the channel defaults to the touchpoint's own channel."""
        n = len(cust)
        tp_arr = np.broadcast_to(np.asarray(tp, dtype=np.int16), (n,))
        ch_arr = _TP_CHANNEL[tp_arr] if ch is None else np.broadcast_to(np.asarray(ch, dtype=np.int8), (n,))
        return cls(np.asarray(cust, dtype=np.int64), np.asarray(ts, dtype=np.int64),
                   tp_arr.astype(np.int16), ch_arr.astype(np.int8))

    def keep(self, mask: np.ndarray) -> EventChunk:
        return EventChunk(self.cust[mask], self.ts[mask], self.tp[mask], self.ch[mask])

    def __len__(self) -> int:
        return len(self.cust)


def concat(chunks: Sequence[EventChunk]) -> EventChunk:
    return EventChunk(
        np.concatenate([c.cust for c in chunks]), np.concatenate([c.ts for c in chunks]),
        np.concatenate([c.tp for c in chunks]), np.concatenate([c.ch for c in chunks]),
    )


def order_by(major: np.ndarray, minor: np.ndarray) -> np.ndarray:
    """The stable order by (``major``, ``minor``), both non-negative-offset integers — what
    ``np.lexsort((minor, major))`` gives, from one stable argsort of a packed int64 key when the
    two fit in 63 bits (3–7× faster than ``lexsort`` on the demo's nearly sorted chunks).

    >>> order_by(np.array([2, 1, 2, 1]), np.array([5, 9, 5, 3])).tolist()
    [3, 1, 0, 2]
    """
    if len(major) == 0:
        return np.arange(0, dtype=np.intp)
    low, span = int(minor.min()), int(minor.max()) - int(minor.min()) + 1
    base = int(major.min())
    if (int(major.max()) - base + 1) * span >= 1 << 63:
        return np.lexsort((minor, major))
    key = (major - base).astype(np.int64) * span + (minor - low)
    return np.argsort(key, kind="stable")


def sort_strictly(chunk: EventChunk) -> EventChunk:
    """Sort by (customer, time, emission order) and make times strictly increasing per customer
    (at least one second apart), so the journey order never depends on a tie-breaker."""
    order = order_by(chunk.cust, chunk.ts)
    cust, ts, tp, ch = chunk.cust[order], chunk.ts[order], chunk.tp[order], chunk.ch[order]
    del order
    # Running max of (ts - pos) within each customer gives ts' >= ts with ts'[i] > ts'[i-1]
    # (computed in place: one work array besides the columns).
    pos = np.arange(len(ts), dtype=np.int64)
    work = cust << 36
    work += ts
    work -= pos
    np.maximum.accumulate(work, out=work)
    work -= cust << 36
    work += pos
    return EventChunk(cust, work, tp, ch)


def first_time(chunk: EventChunk, mask: np.ndarray, n_customers: int) -> np.ndarray:
    """Earliest ``ts`` per customer among rows in ``mask`` (int64 max where none)."""
    out = np.full(n_customers, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, chunk.cust[mask], chunk.ts[mask])
    return out


def identity_masks(chunk: EventChunk, link_touchpoints: Sequence[int], n_customers: int,
                   booked_online: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(has customer_id, has anonymous_id) per event.

    Web and social events carry the visitor's cookie (``anonymous_id``), and so do events in
    ``booked_online`` (for example a branch appointment booked on the website). Before the
    customer's first linking event (a login, or an online booking) web events carry nothing else.
    """
    anonymous = _ANONYMOUS_CHANNELS[chunk.ch] | booked_online
    links = np.isin(chunk.tp, link_touchpoints) & anonymous
    linked_at = first_time(chunk, links, n_customers)
    identified = ~anonymous | (chunk.ts >= linked_at[chunk.cust])
    return identified, anonymous


def timestamps(ts_seconds: np.ndarray) -> pa.Array:
    return pa.array(ts_seconds * 1_000_000, type=pa.timestamp("us", tz="UTC"))


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers, vectorised (``ids("E", [1], 3)`` → ``E001``)."""
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def names(values: Sequence[str], codes: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Strings for integer codes (null where ``valid`` is False)."""
    mask = None if valid is None else ~valid
    return pa.array(list(values), type=pa.string()).take(pa.array(codes, mask=mask))
