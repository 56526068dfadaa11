"""Markov-chain attribution with removal effects, computed exactly.

The journeys become an absorbing Markov chain: transient states are ``start`` and the last
``order`` channels seen (first order: the current channel), absorbing states are
``conversion`` and ``null`` (the journey ended without converting). Transition probabilities
are the observed transition counts, row-normalised.

The probability of reaching ``conversion`` from ``start`` is the solution of the linear
system ``(I - Q) x = r`` (``Q``: transient-to-transient probabilities, ``r``: transient-to-
conversion probabilities), i.e. the fundamental-matrix result ``x = N r`` with
``N = (I - Q)^-1`` — solved directly (dense LAPACK for small chains, SciPy's sparse LU for
many states), never simulated. The **removal effect** of a channel is
``1 - P(conversion | every state containing the channel leads to null) / P(conversion)``; a
channel's credit is its removal effect's share of the sum of all removal effects, applied to
the total conversions and the total value.

The popular simulation-based package estimates the same quantities by random walks, so its
numbers move between seeds; these do not (see ``bench/attribution.py``).

>>> from journeylens.analyses.marketing.touches import Touches
>>> t = Touches.from_paths([["a", "b"], ["a"], ["b"]], conversions=[1, 0, 1])
>>> fit = markov_chain(t)
>>> round(fit.conversion_probability, 4), [round(x, 4) for x in fit.removal_effects]
(0.6667, [0.5, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from journeylens.analyses.marketing.touches import Touches, UniquePaths
from journeylens.errors import ParameterError

#: Above this many transient states the chain is solved with sparse LU instead of dense LAPACK.
DENSE_LIMIT = 400
MAX_ORDER = 4


@dataclass(frozen=True)
class MarkovChain:
    """The fitted chain: ``states`` (tuples of channel codes; ``()`` is start), transition
    counts between transient states, counts into conversion and null, and the results."""

    order: int
    states: tuple[tuple[int, ...], ...]
    transitions: sp.csr_matrix  # counts, transient x transient
    to_conversion: np.ndarray
    to_null: np.ndarray
    conversion_probability: float
    removal_effects: tuple[float, ...]  # per channel (index like Touches.labels)

    def probabilities(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """Row-normalised ``Q`` and ``r``."""
        out = np.asarray(self.transitions.sum(axis=1)).ravel() + self.to_conversion + self.to_null
        scale = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        return sp.diags(scale) @ self.transitions, self.to_conversion * scale


@dataclass(frozen=True)
class ChainLayout:
    """Which transitions each distinct path makes (built once, re-weighted cheaply: the
    bootstrap re-fits the chain many times over the same paths). ``state_rows`` holds each
    state's channel codes, padded with -1 at the front (row 0: start)."""

    states: tuple[tuple[int, ...], ...]
    state_rows: np.ndarray
    edge_from: np.ndarray
    edge_to: np.ndarray
    edge_path: np.ndarray
    end_state: np.ndarray  # per distinct path

    def counts(self, conv: np.ndarray, nulls: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        size = len(self.states)
        total = conv + nulls
        q = sp.csr_matrix((total[self.edge_path], (self.edge_from, self.edge_to)), shape=(size, size))
        return (q, np.bincount(self.end_state, conv, minlength=size),
                np.bincount(self.end_state, nulls, minlength=size))

    def containing(self, code: int) -> np.ndarray:
        """Which states contain channel ``code``."""
        return np.asarray((self.state_rows == code).any(axis=1))


def _unique_rows(rows: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0)``, through one int64 key per row when it fits (much faster)."""
    base = n_labels + 1
    if base ** rows.shape[1] < 2**62:
        key = ((rows + 1) * (base ** np.arange(rows.shape[1] - 1, -1, -1, dtype=np.int64))).sum(axis=1)
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return rows[first], inverse.ravel()
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, inverse.ravel()


def chain_layout(paths: UniquePaths, order: int) -> ChainLayout:
    """The states of ``order`` and every path's transitions (vectorised; cached on ``paths``)."""
    cached = paths.cache.get(("markov", order))
    if isinstance(cached, ChainLayout):
        return cached
    offsets, codes = paths.offsets, paths.codes
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(len(codes)) - offsets[:-1][owner]
    window = np.full((len(codes), order), -1, dtype=np.int64)
    for lag in range(order):  # column order-1 is the current channel, to the left the earlier ones
        ok = pos >= lag
        window[ok, order - 1 - lag] = codes[np.flatnonzero(ok) - lag]
    rows = np.r_[np.full((1, order), -1, dtype=np.int64), window]  # row 0: start
    unique, inverse = _unique_rows(rows, len(paths.labels))
    start_id = int(inverse.ravel()[0])
    # renumber so that start is state 0
    perm = np.r_[start_id, np.delete(np.arange(len(unique)), start_id)]
    new_id = np.empty(len(unique), dtype=np.int64)
    new_id[perm] = np.arange(len(unique))
    state_of_step = new_id[inverse.ravel()[1:]]
    unique = unique[perm]
    previous = np.r_[0, state_of_step[:-1]]
    previous[pos == 0] = 0
    ends = state_of_step[offsets[1:] - 1] if len(codes) else np.zeros(0, np.int64)
    states = tuple(tuple(int(c) for c in row if c >= 0) for row in unique.tolist())
    layout = ChainLayout(states, unique, previous, state_of_step, owner, ends)
    paths.cache[("markov", order)] = layout
    return layout


def _absorption(q: sp.csr_matrix | np.ndarray, r: np.ndarray, keep: np.ndarray) -> float:
    """P(conversion) from start (state 0) when only the ``keep`` states remain (others → null).

    ``q`` dense (small chains: plain LAPACK) or sparse (SciPy's sparse LU)."""
    idx = np.flatnonzero(keep)
    rhs = r[idx]
    if isinstance(q, np.ndarray):
        system = np.eye(len(idx)) - q[np.ix_(idx, idx)]
        return float(np.linalg.solve(system, rhs)[0])
    sub_q = q[idx][:, idx]
    x = spsolve(sp.identity(len(idx), format="csc") - sub_q.tocsc(), rhs)
    return float(np.asarray(x).ravel()[0])


def markov_chain(t: Touches, *, order: int = 1, paths: UniquePaths | None = None) -> MarkovChain:
    """Fit the chain of ``order`` and compute every channel's removal effect exactly."""
    if not 1 <= order <= MAX_ORDER:
        raise ParameterError(f"order must be between 1 and {MAX_ORDER}, got {order}.")
    paths = paths or t.unique_paths()
    conv, _, nulls = paths.counts(t)
    layout = chain_layout(paths, order)
    states = layout.states
    counts, to_conv, to_null = layout.counts(conv, nulls)
    chain = MarkovChain(order, states, counts, to_conv, to_null, 0.0, ())
    q_sparse, r = chain.probabilities()
    q: sp.csr_matrix | np.ndarray = q_sparse.toarray() if len(states) <= DENSE_LIMIT else q_sparse
    everything = np.ones(len(states), dtype=bool)
    base = _absorption(q, r, everything) if conv.sum() > 0 else 0.0
    effects = []
    for code in range(len(t.labels)):
        keep = ~layout.containing(code)
        effects.append(1.0 - _absorption(q, r, keep) / base if base > 0 else 0.0)
    return MarkovChain(order, states, counts, to_conv, to_null, base, tuple(effects))


def credit(t: Touches, *, order: int = 1, paths: UniquePaths | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Conversions and value credited to each channel by removal-effect shares."""
    return shares_of(markov_chain(t, order=order, paths=paths), t)


def shares_of(chain: MarkovChain, t: Touches) -> tuple[np.ndarray, np.ndarray]:
    """Total conversions and value of ``t`` split by ``chain``'s removal-effect shares."""
    effects = np.asarray(chain.removal_effects, dtype=np.float64)
    total = effects.sum()
    shares = effects / total if total > 0 else np.zeros_like(effects)
    return shares * t.conversions.sum(), shares * t.value.sum()
