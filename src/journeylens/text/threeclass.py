"""The default sentiment model: three classes (neg / neu / pos) with calibrated probabilities.

Features per comment (ADR 0045, revised in ADR 0070):

* the all-MiniLM-L6-v2 sentence embedding of the whole comment and of the clause after the
  last contrast word (``but``, ``however``, ...; the whole comment when there is none — the
  verdict usually follows the "but"), each projected onto :data:`PROJECTION_DIMENSIONS`
  principal components fitted on the training texts (the projection ships with the weights);
* eighteen lexicon cues from three independent lexicons: VADER (compound, positive, neutral and
  negative shares, the contrast clause's compound, the lowest and highest clause compound),
  TextBlob/pattern (polarity and *subjectivity* of the comment and of the contrast clause —
  subjectivity is what separates a neutral statement from an opinion), AFINN (total and per
  word), a negation count, a contrast flag, exclamation marks, a question mark and the length.

A multinomial logistic regression (class-balanced, on standardised features folded back into the
weights) maps them to P(neg), P(neu), P(pos); a temperature fitted on a held-out fifth of the
training data calibrates the probabilities. The label is the most probable class;
``score = P(pos) − P(neg)`` in −1..1. Weights (≈ 300 KB with the projection) ship in
``text/models/sentiment_3class.npz``; retrain with ``python -m journeylens.text.evaluation``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from journeylens.text.clauses import clauses, contrast_tail
from journeylens.text.corpora import CLASSES

_NEGATION = re.compile(r"\b(?:not|no|never|nothing|nobody|none|neither|nor|cannot|without|hardly|barely|"
                       r"\w+n't|dont|didnt|doesnt|wasnt|isnt|cant|wont)\b", re.IGNORECASE)
LEXICON_FEATURES: tuple[str, ...] = (
    "vader_compound", "vader_pos", "vader_neu", "vader_neg", "tail_compound", "negations", "has_contrast",
    "textblob_polarity", "textblob_subjectivity", "tail_textblob_polarity", "tail_textblob_subjectivity",
    "afinn", "afinn_per_word", "min_clause_compound", "max_clause_compound", "exclamations", "question",
    "log_words")
#: Principal components kept of each of the two sentence embeddings.
PROJECTION_DIMENSIONS = 192
EMBEDDING_DIMENSIONS = 384
_LABEL = {"neg": "neg", "neu": "neu", "pos": "pos"}


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=1)
def _afinn() -> Any:
    from afinn import Afinn

    return Afinn()


def _textblob(text: str) -> tuple[float, float]:
    from textblob import TextBlob

    sentiment = TextBlob(text).sentiment
    return float(sentiment.polarity), float(sentiment.subjectivity)


def lexicon_features(text: str, tail: str | None) -> list[float]:
    """The :data:`LEXICON_FEATURES` of one comment (``tail``: its contrast clause, or None)."""
    vader = _vader()
    scores = vader.polarity_scores(text)
    tail_compound = vader.polarity_scores(tail)["compound"] if tail else scores["compound"]
    polarity, subjectivity = _textblob(text)
    tail_polarity, tail_subjectivity = _textblob(tail) if tail else (polarity, subjectivity)
    words = max(len(text.split()), 1)
    afinn = float(_afinn().score(text))
    clause_compounds = [vader.polarity_scores(c)["compound"] for c in clauses(text)] or [scores["compound"]]
    return [scores["compound"], scores["pos"], scores["neu"], scores["neg"], tail_compound,
            min(len(_NEGATION.findall(text)), 3) / 3.0, 1.0 if tail else 0.0,
            polarity, subjectivity, tail_polarity, tail_subjectivity, math.tanh(afinn / 5), afinn / words,
            min(clause_compounds), max(clause_compounds), min(text.count("!"), 3) / 3.0,
            1.0 if "?" in text else 0.0, math.log1p(words) / 4]


def features(texts: Sequence[str], *, embed_cache: Any = None, batch_size: int = 128) -> np.ndarray:
    """The raw feature matrix: whole-comment embedding (384), contrast-clause embedding (384) and
    the :data:`LEXICON_FEATURES`; :class:`ThreeClassWeights` projects the embeddings."""
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
    """Multinomial logistic regression: softmax((z·coefᵀ + intercept) / temperature), where z is the
    raw feature row with each of its two embeddings replaced by ``(e − projection_mean)·projection``
    (weights saved before the projection existed apply to the raw row)."""

    coef: np.ndarray  # 3 x n_features, rows in CLASSES order
    intercept: np.ndarray  # 3
    temperature: float = 1.0
    trained_on: str = ""
    projection: np.ndarray | None = None  # 384 x PROJECTION_DIMENSIONS
    projection_mean: np.ndarray | None = None  # 384

    def project(self, x: np.ndarray) -> np.ndarray:
        """Raw feature rows → the rows the logistic regression reads."""
        if self.projection is None or self.projection_mean is None:
            return x[:, : self.coef.shape[1]]
        d = EMBEDDING_DIMENSIONS
        whole = (x[:, :d] - self.projection_mean) @ self.projection
        tail = (x[:, d: 2 * d] - self.projection_mean) @ self.projection
        return np.hstack([whole, tail, x[:, 2 * d:]])

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Uncalibrated logits of projected rows ``z``."""
        return np.asarray(z @ self.coef.T + self.intercept)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        logits = self.logits(self.project(x)) / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def save(self, path: Any) -> None:
        arrays: dict[str, Any] = {"coef": self.coef.astype(np.float32), "intercept": self.intercept.astype(np.float32),
                                  "temperature": np.array([self.temperature]), "trained_on": np.array([self.trained_on])}
        if self.projection is not None and self.projection_mean is not None:
            arrays.update(projection=self.projection.astype(np.float32),
                          projection_mean=self.projection_mean.astype(np.float32))
        np.savez_compressed(path, **arrays)

    @classmethod
    def load(cls, path: Any) -> ThreeClassWeights:
        with np.load(path) as data:
            projection = data["projection"].astype(np.float64) if "projection" in data.files else None
            mean = data["projection_mean"].astype(np.float64) if "projection_mean" in data.files else None
            return cls(data["coef"].astype(np.float64), data["intercept"].astype(np.float64),
                       float(data["temperature"][0]), str(data["trained_on"][0]), projection, mean)


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
