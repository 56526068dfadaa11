"""Caches for text analytics: results by data version, embeddings by comment hash.

Results: key = ``warehouse.data_version()`` + the parameters, stored as JSON under
``settings.cache_dir/results``; a new ingest changes the data version, so stale results are
never served. Embeddings: one ``.npz`` per model under ``settings.cache_dir/embeddings`` mapping
the SHA-1 of each comment to its vector, so the dashboard never embeds a comment twice.

>>> import tempfile
>>> cache = ResultCache(tempfile.mkdtemp())
>>> key = cache_key("v1", "topics", {"k": 5})
>>> cache.get(key) is None
True
>>> cache.put(key, {"topics": []}); cache.get(key)
{'topics': []}
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def cache_key(data_version: str, name: str, params: Mapping[str, Any]) -> str:
    """A file-name-safe key from the data version, the analysis name and its parameters."""
    blob = json.dumps({"v": data_version, "name": name, "params": params}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha1(blob.encode()).hexdigest()[:20]}"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class ResultCache:
    """JSON results under ``root`` keyed by :func:`cache_key`."""

    def __init__(self, root: str | Path):
        self.root = Path(root) / "results"

    def get(self, key: str) -> Any:
        path = self.root / f"{key}.json"
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            log.warning("Ignoring unreadable cache entry %s", path)
            return None

    def put(self, key: str, payload: Any) -> None:
        _atomic_write(self.root / f"{key}.json", json.dumps(payload, default=str).encode("utf-8"))

    def get_or_compute(self, key: str, compute: Callable[[], Any], to_payload: Callable[[Any], Any],
                       from_payload: Callable[[Any], Any]) -> Any:
        cached = self.get(key)
        if cached is not None:
            log.info("cache hit %s", key)
            return from_payload(cached)
        result = compute()
        self.put(key, to_payload(result))
        return result


class EmbeddingCache:
    """Vectors by comment hash for one model, persisted as ``<model>.npz``."""

    def __init__(self, root: str | Path, model_name: str):
        self.path = Path(root) / "embeddings" / f"{model_name}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        self._dirty = False
        if self.path.exists():
            with np.load(self.path) as data:
                self._vectors = dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))

    def __len__(self) -> int:
        return len(self._vectors)

    def lookup(self, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int]]:
        """Cached vectors (None where missing) and the indices still to embed."""
        found = [self._vectors.get(text_hash(t)) for t in texts]
        return found, [i for i, v in enumerate(found) if v is None]

    def add(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            self._vectors[text_hash(text)] = vector
        self._dirty = self._dirty or len(texts) > 0

    def discard(self, texts: Sequence[str]) -> None:
        """Forget the vectors of ``texts`` (a customer's comments, on erasure)."""
        for text in texts:
            if self._vectors.pop(text_hash(text), None) is not None:
                self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        hashes = np.array(list(self._vectors), dtype="U40")
        vectors = np.stack(list(self._vectors.values())).astype(np.float32)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, hashes=hashes, vectors=vectors)
        os.replace(tmp, self.path)
        self._dirty = False
