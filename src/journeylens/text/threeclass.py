"""The default sentiment model: three classes (neg / neu / pos) with calibrated probabilities.

Features per comment (ADR 0045):

* the all-MiniLM-L6-v2 sentence embedding of the whole comment (384 floats);
* the embedding of the clause after the last contrast word (``but``, ``however``, ...), or of
  the whole comment when there is none — the verdict usually follows the "but";
* a few lexicon cues: VADER's compound, positive, neutral and negative shares for the comment
  and VADER's compound for the contrast clause, a negation count and a contrast flag.

A multinomial logistic regression (class-balanced, on standardised features folded back into the
weights) maps them to P(neg), P(neu), P(pos); a temperature fitted on a held-out fifth of the
training data calibrates the probabilities. The label is the most
probable class; ``score = P(pos) − P(neg)`` in −1..1. Weights (≈ 10 KB) ship in
``text/models/sentiment_3class.npz``; retrain with ``python -m journeylens.text.training``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from journeylens.text.clauses import contrast_tail
from journeylens.text.corpora import CLASSES

_NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|none|neither|nor|cannot|without|hardly|barely|"
                       r"\w+n't|dont|didnt|doesnt|wasnt|isnt|cant|wont)\b", re.IGNORECASE)
LEXICON_FEATURES: tuple[str, ...] = ("vader_compound", "vader_pos", "vader_neu", "vader_neg", "tail_compound",
                                     "negations", "has_contrast")
_LABEL = {"neg": "neg", "neu": "neu", "pos": "pos"}


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def lexicon_features(text: str, tail: str | None) -> list[float]:
    scores = _vader().polarity_scores(text)
    tail_compound = _vader().polarity_scores(tail)["compound"] if tail else scores["compound"]
    return [scores["compound"], scores["pos"], scores["neu"], scores["neg"], tail_compound,
            min(len(_NEGATION.findall(text)), 3) / 3.0, 1.0 if tail else 0.0]


def features(texts: Sequence[str], *, embed_cache: Any = None, batch_size: int = 128) -> np.ndarray:
    """The feature matrix (len(texts) x 775) described in the module docstring."""
    from journeylens.text.embeddings import embed

    tails = [contrast_tail(t) for t in texts]
    whole = embed(list(texts), cache=embed_cache, batch_size=batch_size)
    with_tail = [i for i, t in enumerate(tails) if t]
    tail_vectors = whole.copy()
    if with_tail:
        tail_vectors[with_tail] = embed([tails[i] or "" for i in with_tail], cache=embed_cache, batch_size=batch_size)
    lexical = np.array([lexicon_features(t, tail) for t, tail in zip(texts, tails, strict=True)], dtype=np.float32)
    return np.hstack([whole, tail_vectors, lexical.reshape(len(texts), len(LEXICON_FEATURES))])


@dataclass(frozen=True)
class ThreeClassWeights:
    """Multinomial logistic regression: softmax((x·coefᵀ + intercept) / temperature)."""

    coef: np.ndarray  # 3 x n_features, rows in CLASSES order
    intercept: np.ndarray  # 3
    temperature: float = 1.0
    trained_on: str = ""

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = (x @ self.coef.T + self.intercept) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, path: Any) -> None:
        np.savez_compressed(path, coef=self.coef.astype(np.float32), intercept=self.intercept.astype(np.float32),
                            temperature=np.array([self.temperature]), trained_on=np.array([self.trained_on]))

    @classmethod
    def load(cls, path: Any) -> ThreeClassWeights:
        with np.load(path) as data:
            return cls(data["coef"].astype(np.float64), data["intercept"].astype(np.float64),
                       float(data["temperature"][0]), str(data["trained_on"][0]))


def shipped_weights() -> ThreeClassWeights:
    with resources.as_file(resources.files("journeylens.text") / "models" / "sentiment_3class.npz") as path:
        return ThreeClassWeights.load(path)


def labels_of(probabilities: np.ndarray) -> list[str]:
    return [CLASSES[int(i)] for i in probabilities.argmax(axis=1)]


class ThreeClassModel:
    """The ``minilm-3class`` sentiment model (see the module docstring)."""

    name = "minilm-3class"

    def __init__(self, weights: ThreeClassWeights | None = None, *, embed_cache: Any = None, batch_size: int = 128):
        self.weights = weights or shipped_weights()
        self.embed_cache = embed_cache
        self.batch_size = batch_size

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(neg), P(neu), P(pos) per text (len(texts) x 3)."""
        if not texts:
            return np.zeros((0, 3))
        return self.weights.probabilities(features(texts, embed_cache=self.embed_cache, batch_size=self.batch_size))

    def score(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        probs = self.probabilities(texts)
        return [(float(p[2] - p[0]), label) for p, label in zip(probs, labels_of(probs), strict=True)]
