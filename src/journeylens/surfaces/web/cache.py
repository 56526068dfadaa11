"""Results cached in-process per data version, so a warm page answers fast.

The key is ``(warehouse.data_version(), definition hash, view, params)``: any ingest changes
the data version, so a cached result is never stale for long. The data version itself is read
at most once per ``version_ttl_seconds`` (default 1 s: reading it costs a warehouse query), so a
page may lag an ingest by that long.

Computing is *single-flight per key*: threads asking for the same missing key wait for the one
computing it (the result is computed once), while different keys compute at the same time —
a slow view (conformance at 10M events takes minutes) never blocks a cheap one. Each thread
queries through its own DuckDB cursor (:mod:`.lenses`), so concurrent computations are safe.

>>> cache = ResultCache(maxsize=2)
>>> cache.get(("v1", "d1", "view", ()), lambda: 41 + 1)
42
>>> cache.get(("v1", "d1", "view", ()), lambda: 0)   # served from the cache
42
>>> cache.stats()["hits"], cache.stats()["misses"]
(1, 1)
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)

DEFAULT_MAXSIZE = 512
DEFAULT_VERSION_TTL_SECONDS = 1.0


class ResultCache:
    """A thread-safe LRU of computed results with one computation in flight per key."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE, version_ttl_seconds: float = DEFAULT_VERSION_TTL_SECONDS):
        self.maxsize = maxsize
        self.version_ttl_seconds = version_ttl_seconds
        self.clock: Callable[[], float] = time.monotonic  # seconds; replaceable in tests
        self._versions: dict[int, tuple[float, Any, str]] = {}
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._inflight: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._background: set[Hashable] = set()
        self._failed: dict[Hashable, Exception] = {}

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self._hits += 1
                return True, self._items[key]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, else ``compute()`` (stored; errors are not cached).

        Only one thread computes a given key at a time; the others wait for it and then
        read its result (or, if it failed, compute themselves).
        """
        found, value = self._lookup(key)
        if found:
            return value  # type: ignore[no-any-return]
        with self._lock:
            flight = self._inflight.setdefault(key, threading.Lock())
        with flight:
            try:
                found, value = self._lookup(key)  # computed by the thread we waited for
                if found:
                    return value  # type: ignore[no-any-return]
                value = compute()
                self._store(key, value)
                return value
            finally:
                with self._lock:
                    if self._inflight.get(key) is flight:
                        del self._inflight[key]

    def _store(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._misses += 1
            self._items[key] = value
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def latest(self, suffix: tuple[Any, ...]) -> Any:
        """The most recently stored value (or failure of a background computation) whose key
        ends with ``suffix`` — whatever its data version — else ``None``."""
        with self._lock:
            for key in reversed(list(self._items) + list(self._failed)):
                if isinstance(key, tuple) and key[-len(suffix):] == suffix:
                    return self._items.get(key, self._failed.get(key))
        return None

    def compute_in_background(self, key: Hashable, compute: Callable[[], Any]) -> None:
        """Start computing ``key`` in a daemon thread unless it is stored or already started
        (a failure is kept for :meth:`latest`, the page shows it)."""
        with self._lock:
            if key in self._items or key in self._background or key in self._failed:
                return
            self._background.add(key)

        def run() -> None:
            try:
                self.get(key, compute)
            except Exception as exc:  # shown by the page that asked, not raised in this thread
                log.info("Background computation failed: %r", exc)
                with self._lock:
                    self._failed[key] = exc
            finally:
                with self._lock:
                    self._background.discard(key)

        threading.Thread(target=run, name="journeylens-background", daemon=True).start()

    def contains(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def computing(self) -> int:
        """How many keys are being computed right now."""
        with self._lock:
            return len(self._inflight)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._failed.clear()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "hits": self._hits, "misses": self._misses,
                    "computing": len(self._inflight)}

    def version(self, owner: Any, read: Callable[[], Any]) -> str:
        """``read()`` (the data version of ``owner``'s warehouse), re-read at most once per
        ``version_ttl_seconds``."""
        now = self.clock()
        with self._lock:
            seen = self._versions.get(id(owner))
        if seen is not None and seen[1] is owner and now - seen[0] < self.version_ttl_seconds:
            return seen[2]
        version = str(read())
        with self._lock:
            self._versions[id(owner)] = (now, owner, version)
        return version


_definition_hashes: dict[int, tuple[Any, str]] = {}


def definition_hash(definition: Any) -> str:
    """A short hash of a journey definition (changes when the definition does)."""
    known = _definition_hashes.get(id(definition))
    if known is not None and known[0] is definition:
        return known[1]
    digest = hashlib.sha1(definition.to_yaml().encode()).hexdigest()[:12]
    _definition_hashes[id(definition)] = (definition, digest)
    return digest
