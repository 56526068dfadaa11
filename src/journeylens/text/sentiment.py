"""Sentiment of feedback comments with pluggable models.

A model is anything with a ``name`` and ``score(texts) -> [(score, label)]`` where the score
is in -1..1 and the label is ``pos`` / ``neu`` / ``neg``. Three are registered:

* ``minilm-3class`` (default) — three classes with calibrated probabilities, contrast- and
  negation-aware (:mod:`journeylens.text.threeclass`, ADR 0045); score = P(pos) − P(neg).
* ``vader`` (the fast fallback, and the default when the ``text`` extra is missing) — VADER's
  compound score; ``pos`` ≥ 0.05, ``neg`` ≤ -0.05, else ``neu``.
* ``minilm-logreg`` — logistic regression on all-MiniLM-L6-v2 sentence embeddings, trained on
  labelled sentences (weights shipped in ``text/models/minilm_logreg.npz``, retrain with
  ``python -m journeylens.text.training``); score = 2·P(positive) - 1, ``pos`` ≥ 0.2,
  ``neg`` ≤ -0.2, else ``neu``.

Comments in a language the models do not handle (:data:`journeylens.text.language.SCORED_LANGUAGES`)
get label ``not_scored`` and no score, rather
than a wrong one. Register your own model with :func:`register_model`.

>>> model = get_model("vader")
>>> [label for _, label in model.score(["I love it", "Terrible service", "It is a phone"])]
['pos', 'neg', 'neu']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import numpy as np

from journeylens.errors import ParameterError

NOT_SCORED = "not_scored"
LABELS: tuple[str, ...] = ("pos", "neu", "neg")


@runtime_checkable
class SentimentModel(Protocol):
    name: str

    def score(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        """(score in -1..1, label pos/neu/neg) per text."""
        ...


def label_of(score: float, threshold: float) -> str:
    return "pos" if score >= threshold else "neg" if score <= -threshold else "neu"


class VaderModel:
    """VADER compound score with the standard ±0.05 thresholds; repeated texts are scored once."""

    name = "vader"
    threshold = 0.05

    def __init__(self, cache_size: int = 200_000):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._analyzer = SentimentIntensityAnalyzer()
        self._compound = lru_cache(maxsize=cache_size)(self._score_one)

    def _score_one(self, text: str) -> float:
        return float(self._analyzer.polarity_scores(text)["compound"])

    def score(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        compound = self._compound
        return [(c, label_of(c, self.threshold)) for c in map(compound, texts)]


@dataclass(frozen=True)
class LogRegWeights:
    """A binary logistic regression over embeddings: P(pos) = sigmoid(x·coef + intercept)."""

    coef: np.ndarray
    intercept: float
    trained_on: str = ""

    def probability(self, vectors: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(vectors @ self.coef + self.intercept)))

    def save(self, path: Any) -> None:
        np.savez(path, coef=self.coef.astype(np.float32), intercept=np.array([self.intercept]),
                 trained_on=np.array([self.trained_on]))

    @classmethod
    def load(cls, path: Any) -> LogRegWeights:
        with np.load(path) as data:
            return cls(data["coef"].astype(np.float64), float(data["intercept"][0]), str(data["trained_on"][0]))


def shipped_weights() -> LogRegWeights:
    with resources.as_file(resources.files("journeylens.text") / "models" / "minilm_logreg.npz") as path:
        return LogRegWeights.load(path)


class MiniLMLogRegModel:
    """Logistic regression on all-MiniLM-L6-v2 embeddings (see :mod:`journeylens.text.training`)."""

    name = "minilm-logreg"
    threshold = 0.2

    def __init__(self, weights: LogRegWeights | None = None, *, embed_cache: Any = None, batch_size: int = 128):
        self.weights = weights or shipped_weights()
        self.embed_cache = embed_cache
        self.batch_size = batch_size

    def score(self, texts: Sequence[str]) -> list[tuple[float, str]]:
        from journeylens.text.embeddings import embed

        vectors = embed(list(texts), cache=self.embed_cache, batch_size=self.batch_size)
        scores = 2.0 * self.weights.probability(vectors) - 1.0
        return [(float(s), label_of(float(s), self.threshold)) for s in scores]


_REGISTRY: dict[str, Callable[..., SentimentModel]] = {}
_INSTANCES: dict[str, SentimentModel] = {}


def register_model(name: str, factory: Callable[..., SentimentModel]) -> None:
    """Register a sentiment model factory under ``name`` (replacing any earlier one)."""
    _REGISTRY[name] = factory
    _INSTANCES.pop(name, None)


def available_models() -> list[str]:
    return sorted(_REGISTRY)


def get_model(name: str | None = None) -> SentimentModel:
    """The (process-wide, reused) instance of the registered model ``name`` (None: the default)."""
    name = name or default_model()
    if name not in _REGISTRY:
        raise ParameterError(f"Unknown sentiment model {name!r}; available: {', '.join(available_models())}.",
                             details={"model": name, "allowed": available_models()})
    if name not in _INSTANCES:
        _INSTANCES[name] = _REGISTRY[name]()
    return _INSTANCES[name]


def _three_class(**kwargs: Any) -> SentimentModel:
    from journeylens.settings import get_settings
    from journeylens.text.threeclass import ThreeClassModel, ThreeClassWeights

    custom = get_settings().text_sentiment_weights
    if custom and "weights" not in kwargs:
        kwargs["weights"] = ThreeClassWeights.load(custom)
    return ThreeClassModel(**kwargs)


register_model("vader", VaderModel)
register_model("minilm-logreg", MiniLMLogRegModel)
register_model("minilm-3class", _three_class)

DEFAULT_MODEL = "minilm-3class"


def default_model() -> str:
    """``minilm-3class`` when the sentence model is installed, else the ``vader`` fallback."""
    import importlib.util

    return DEFAULT_MODEL if importlib.util.find_spec("sentence_transformers") else "vader"


def score_texts(texts: Sequence[str | None], languages: Sequence[str | None] | None = None,
                model: SentimentModel | str | None = None) -> list[tuple[float | None, str, str | None]]:
    """(score, label, language) per text; languages not scored → (None, 'not_scored', lang)."""
    from journeylens.text.language import detect_language, is_english

    chosen = model if isinstance(model, SentimentModel) else get_model(model)
    given = list(languages) if languages is not None else [None] * len(texts)
    langs = [g if g else detect_language(t) for g, t in zip(given, texts, strict=True)]
    todo = [i for i, (t, lang) in enumerate(zip(texts, langs, strict=True)) if t and t.strip() and is_english(lang)]
    scored = chosen.score([texts[i] or "" for i in todo]) if todo else []
    out: list[tuple[float | None, str, str | None]] = [(None, NOT_SCORED, lang) for lang in langs]
    for i, (value, label) in zip(todo, scored, strict=True):
        out[i] = (None if math.isnan(value) else value, label, langs[i])
    return out
