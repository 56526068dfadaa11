"""Journeys as arrays: the one input every attribution model reads.

A :class:`Touches` holds journeys in compressed form: journey ``j``'s touches are
``channel[offsets[j]:offsets[j + 1]]`` in time order, with ``days_before`` (days from the touch
to the journey's end: the conversion, or the last touch of a journey that did not convert).
Each journey carries ``conversions``, ``value`` and ``nulls`` (journeys that did not convert);
a journey built from events has ``conversions + nulls == 1``, a row of the aggregated path
format carries its counts. A journey with no touch before its conversion gets the single
touch ``"direct / none"``, so every conversion is credited somewhere.

>>> t = Touches.from_paths([["a", "b"], []], conversions=[1, 1], value=[10.0, 5.0], nulls=[0, 2])
>>> t.labels, t.channel.tolist(), t.offsets.tolist()
(('a', 'b', 'direct / none'), [0, 1, 2], [0, 2, 3])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

DIRECT = "direct / none"


@dataclass(frozen=True)
class Touches:
    """Journeys (CSR arrays). ``weights`` scale every journey (the bootstrap's resampling)."""

    labels: tuple[str, ...]
    offsets: np.ndarray  # int64, len = journeys + 1
    channel: np.ndarray  # int32 code per touch (index into labels)
    conversions: np.ndarray  # float64 per journey
    value: np.ndarray  # float64 per journey
    nulls: np.ndarray  # float64 per journey
    days_before: np.ndarray | None = None  # float64 per touch; None for aggregated paths
    period: np.ndarray | None = None  # object (str) per journey: period of the journey's end

    @property
    def n_journeys(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @property
    def journey_of_touch(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_journeys), self.lengths)

    @classmethod
    def from_paths(cls, paths: Sequence[Sequence[str]], *, conversions: Sequence[float],
                   value: Sequence[float] | None = None, nulls: Sequence[float] | None = None,
                   days_before: Sequence[Sequence[float]] | None = None,
                   period: Sequence[str] | None = None) -> Touches:
        """Build from Python lists (an empty path becomes ``direct / none``)."""
        conv = np.asarray(conversions, dtype=np.float64)
        paths = [list(p) if len(p) else [DIRECT] for p in paths]
        labels: dict[str, int] = {}
        for path in paths:
            for name in path:
                labels.setdefault(name, len(labels))
        codes = np.array([labels[n] for p in paths for n in p], dtype=np.int32)
        offsets = np.r_[0, np.cumsum([len(p) for p in paths])].astype(np.int64)
        days = None
        if days_before is not None:
            days = np.array([d for p, ds in zip(paths, days_before, strict=True)
                             for d in (ds if len(ds) == len(p) else [0.0] * len(p))], dtype=np.float64)
        return cls(labels=tuple(labels), offsets=offsets, channel=codes, conversions=conv,
                   value=np.zeros_like(conv) if value is None else np.asarray(value, dtype=np.float64),
                   nulls=(1.0 - np.minimum(conv, 1.0)) if nulls is None else np.asarray(nulls, dtype=np.float64),
                   days_before=days, period=None if period is None else np.asarray(period, dtype=object))

    def reweighted(self, weights: np.ndarray) -> Touches:
        """The same journeys, each counted ``weights[j]`` times (a Poisson bootstrap draw)."""
        return replace(self, conversions=self.conversions * weights, value=self.value * weights,
                       nulls=self.nulls * weights)

    def subset(self, keep: np.ndarray) -> Touches:
        """Only the journeys where ``keep`` is true."""
        idx = np.flatnonzero(keep)
        starts, lengths = self.offsets[idx], self.lengths[idx]
        touch_idx = np.repeat(starts - np.r_[0, np.cumsum(lengths)[:-1]], lengths) + np.arange(int(lengths.sum()))
        return replace(self, offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64), channel=self.channel[touch_idx],
                       conversions=self.conversions[idx], value=self.value[idx], nulls=self.nulls[idx],
                       days_before=None if self.days_before is None else self.days_before[touch_idx],
                       period=None if self.period is None else self.period[idx])

    def unique_paths(self) -> UniquePaths:
        """Identical paths merged (their counts summed): what the Markov model needs.

        Vectorised: each journey gets two independent 64-bit polynomial hashes of its channel
        codes plus its length; journeys equal on all three are one path (a false merge would
        need a 128-bit collision)."""
        j = self.journey_of_touch
        pos = np.arange(len(self.channel)) - self.offsets[:-1][j]
        codes = self.channel.astype(np.uint64) + np.uint64(1)
        keys: list[np.ndarray] = []
        with np.errstate(over="ignore"):
            for base in (np.uint64(1_000_003), np.uint64(998_244_353)):
                powers = _powers(base, int(pos.max(initial=0)) + 1)
                contribution = codes * powers[pos]
                total = np.zeros(self.n_journeys, dtype=np.uint64)
                np.add.at(total, j, contribution)
                keys.append(total)
        lengths = self.lengths
        order = np.lexsort((lengths, keys[1], keys[0]))
        a, b, n = keys[0][order], keys[1][order], lengths[order]
        new_group = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1]) | (n[1:] != n[:-1])]
        group = np.cumsum(new_group) - 1
        path_of = np.empty(self.n_journeys, dtype=np.int64)
        path_of[order] = group
        first = order[new_group]  # one journey per distinct path
        sizes = lengths[first]
        starts = self.offsets[:-1][first]
        gather = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(int(sizes.sum()))
        return UniquePaths(labels=self.labels, offsets=np.r_[0, np.cumsum(sizes)].astype(np.int64),
                           codes=self.channel[gather].astype(np.int64), path_of=path_of)


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.ones(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(1, n):
            out[i] = out[i - 1] * base
    return out


@dataclass(frozen=True)
class UniquePaths:
    """Distinct channel sequences and, per journey, which one it follows."""

    labels: tuple[str, ...]
    offsets: np.ndarray  # CSR over the distinct paths
    codes: np.ndarray
    path_of: np.ndarray
    #: Structures derived from the paths by the models (for example the Markov chain layout).
    cache: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def paths(self) -> tuple[np.ndarray, ...]:
        """Each distinct path's channel codes (slices; for reading, not for the models' hot loops)."""
        return tuple(self.codes[lo:hi] for lo, hi in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist(),
                                                          strict=True))

    def counts(self, touches: Touches) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Conversions, value and nulls per distinct path (respecting ``touches``' weights)."""
        n = len(self.offsets) - 1
        return (np.bincount(self.path_of, touches.conversions, minlength=n),
                np.bincount(self.path_of, touches.value, minlength=n),
                np.bincount(self.path_of, touches.nulls, minlength=n))
