"""Results cached in-process per data version, so a warm page answers fast.

The key is ``(warehouse.data_version(), definition hash, view, params)``: any ingest changes
the data version, so a cached result is never stale for long. The data version itself is read
at most once per ``version_ttl_seconds`` (default 1 s: reading it costs a warehouse query), so a
page may lag an ingest by that long. Computing is serialised by one lock per
cache (the embedded DuckDB connection is shared by the server's threads); identical requests
arriving together compute once.

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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_MAXSIZE = 512
DEFAULT_VERSION_TTL_SECONDS = 1.0


class ResultCache:
    """A thread-safe LRU of computed results."""

    def __init__(self, maxsize: int = DEFAULT_MAXSIZE, version_ttl_seconds: float = DEFAULT_VERSION_TTL_SECONDS):
        self.maxsize = maxsize
        self.version_ttl_seconds = version_ttl_seconds
        self._versions: dict[int, tuple[float, Any, str]] = {}
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.compute_lock = threading.RLock()
        self._hits = 0
        self._misses = 0

    def _lookup(self, key: Hashable) -> tuple[bool, Any]:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self._hits += 1
                return True, self._items[key]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, else ``compute()`` (stored; errors are not cached)."""
        found, value = self._lookup(key)
        if found:
            return value  # type: ignore[no-any-return]
        with self.compute_lock:
            found, value = self._lookup(key)  # another thread may have computed it meanwhile
            if found:
                return value  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                self._misses += 1
                self._items[key] = value
                while len(self._items) > self.maxsize:
                    self._items.popitem(last=False)
            return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"entries": len(self._items), "hits": self._hits, "misses": self._misses}


    def version(self, warehouse: Any) -> str:
        """``warehouse.data_version()``, re-read at most once per ``version_ttl_seconds``."""
        now = time.monotonic()
        with self._lock:
            seen = self._versions.get(id(warehouse))
        if seen is not None and seen[1] is warehouse and now - seen[0] < self.version_ttl_seconds:
            return seen[2]
        with self.compute_lock:
            version = str(warehouse.data_version())
        with self._lock:
            self._versions[id(warehouse)] = (now, warehouse, version)
        return version


_definition_hashes: dict[int, tuple[Any, str]] = {}


def definition_hash(lens: Any) -> str:
    """A short hash of the journey definition in use (changes when the definition does)."""
    definition = lens.definition
    known = _definition_hashes.get(id(definition))
    if known is not None and known[0] is definition:
        return known[1]
    digest = hashlib.sha1(definition.to_yaml().encode()).hexdigest()[:12]
    _definition_hashes[id(definition)] = (definition, digest)
    return digest


def data_key(lens: Any, cache: ResultCache) -> tuple[str, str]:
    """``(data version, definition hash)`` of ``lens``."""
    return cache.version(lens.warehouse), definition_hash(lens)
