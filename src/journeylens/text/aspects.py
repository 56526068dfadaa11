"""Aspect-based sentiment: which parts of the experience a comment is about, and how each feels.

The aspects (waiting time, staff, price and fees, app and website, product, communication)
live in a YAML file the company edits (``journeylens/text/aspects.yaml`` is the default; set
``text_aspects`` in the settings to use your own). Each comment is cut into clauses
(:mod:`journeylens.text.clauses`); a clause is about an aspect when it contains one of the
aspect's seed phrases, or — when it contains none — when its sentence embedding is within
:data:`SIMILARITY` cosine of one of the seeds and clearly closer to that aspect than to any other. Each aspect-bearing clause is scored by the
sentiment model, so "staff lovely, app keeps crashing" is positive for ``staff`` and negative
for ``app_website``. An aspect named in several clauses of one comment gets the mean score and
the label of its strongest clause.

>>> specs = load_aspects()
>>> [a.id for a in specs]
['waiting_time', 'staff', 'price_fees', 'app_website', 'product', 'communication']
>>> sorted(seed_aspects("The app keeps crashing", specs))
['app_website']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from journeylens.errors import ConfigError
from journeylens.text.clauses import clauses

#: Cosine similarity (to the closest seed phrase) from which a clause without seed phrases is
#: about an aspect, and the lead it needs over the runner-up aspect (set on a handful of
#: hand-made clauses; single seed words sit far from whole clauses in MiniLM's space).
SIMILARITY = 0.45
MARGIN = 0.03
#: Word level (ADR 0092): a content word of a clause without seeds is about an aspect when its
#: MiniLM vector is within this cosine of one of the aspect's *topic* seed words (seeds that carry
#: no sentiment in VADER's lexicon: "staff", "fee", "battery" — not "rude", "slow") and leads the
#: runner-up aspect by :data:`MARGIN` ("waitress" → staff, "charger" → product).
WORD_SIMILARITY = 0.6
_WORD = re.compile(r"[a-z][a-z'-]{2,}")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


@dataclass(frozen=True)
class AspectSpec:
    id: str
    name: str
    seeds: tuple[str, ...]
    pattern: re.Pattern[str]


def _seed_pattern(seeds: Sequence[str]) -> re.Pattern[str]:
    parts = []
    for seed in seeds:
        text = seed.strip().lower()
        wildcard = text.endswith("*")
        body = re.escape(text.rstrip("*")).replace(r"\ ", r"\s+").replace(r"\*", r"\w*")
        # a plain single-word seed also matches its plural ("phone" → "phones")
        plural = r"(?:s|es)?" if not wildcard and re.fullmatch(r"[a-z]+", text) else ""
        parts.append(r"\b" + body + (r"[\w-]*" if wildcard else plural) + r"\b")
    return re.compile("|".join(parts), re.IGNORECASE)


def parse_aspects(payload: Any, *, source: str = "aspects YAML") -> list[AspectSpec]:
    """Validate ``{"aspects": [{"id", "name", "seeds": [...]}, ...]}`` (a clear ConfigError otherwise)."""
    items = payload.get("aspects") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{source}: expected a top-level 'aspects:' list of {{id, name, seeds}}.")
    specs: list[AspectSpec] = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: aspect #{number} must be a mapping with id, name and seeds.")
        aspect_id, name, seeds = item.get("id"), item.get("name"), item.get("seeds")
        if not isinstance(aspect_id, str) or not _ID.match(aspect_id):
            raise ConfigError(f"{source}: aspect #{number} id {aspect_id!r} must be lower-case letters, digits "
                              "and _ (it becomes the field name aspect_<id>).")
        if not isinstance(seeds, list) or not seeds or not all(isinstance(s, str) and s.strip() for s in seeds):
            raise ConfigError(f"{source}: aspect {aspect_id!r} needs a non-empty list of seed phrases.")
        if any(s.id == aspect_id for s in specs):
            raise ConfigError(f"{source}: aspect id {aspect_id!r} is used twice.")
        specs.append(AspectSpec(aspect_id, str(name or aspect_id), tuple(seeds), _seed_pattern(seeds)))
    return specs


@lru_cache(maxsize=8)
def load_aspects(path: str | Path | None = None) -> list[AspectSpec]:
    """The aspects of ``path``, or the shipped default list."""
    if path is None:
        text = (resources.files("journeylens.text") / "aspects.yaml").read_text(encoding="utf-8")
        source = "journeylens/text/aspects.yaml"
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"Cannot read the aspects file {path}: {exc}") from exc
        source = str(path)
    try:
        payload = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    return parse_aspects(payload, source=source)


def seed_aspects(clause: str, specs: Sequence[AspectSpec]) -> set[str]:
    return {s.id for s in specs if s.pattern.search(clause)}


class AspectMatcher:
    """Seed phrases first, then embedding similarity for clauses without any seed."""

    def __init__(self, specs: Sequence[AspectSpec], *, semantic: bool = True, embed_cache: Any = None,
                 similarity: float = SIMILARITY, words: bool = True, word_similarity: float = WORD_SIMILARITY):
        self.specs = list(specs)
        self.semantic = semantic
        self.embed_cache = embed_cache
        self.similarity = similarity
        self.words = words
        self.word_similarity = word_similarity
        self._seed_vectors: list[np.ndarray] | None = None
        self._topic_seeds: list[np.ndarray] | None = None

    def _seeds(self) -> list[np.ndarray]:
        from journeylens.text.embeddings import embed

        if self._seed_vectors is None:
            self._seed_vectors = [embed([s.rstrip("*") for s in spec.seeds], cache=self.embed_cache)
                                  for spec in self.specs]
        return self._seed_vectors

    def _topic_seed_vectors(self) -> list[np.ndarray]:
        from journeylens.text.embeddings import DIMENSIONS, embed

        if self._topic_seeds is None:
            dims = DIMENSIONS
            self._topic_seeds = []
            for spec in self.specs:
                words = [s.rstrip("*") for s in spec.seeds if _content_word(s.rstrip("*"))]
                self._topic_seeds.append(embed(words, cache=self.embed_cache) if words else np.zeros((0, dims)))
        return self._topic_seeds

    def _by_words(self, items: Sequence[str], todo: list[int], found: list[set[str]]) -> None:
        """Word level: a content word close to one aspect's topic seed words (see :data:`WORD_SIMILARITY`)."""
        from journeylens.text.embeddings import embed

        words_of = {i: sorted({w for w in _WORD.findall(items[i].lower()) if _content_word(w)}) for i in todo}
        vocabulary = sorted({w for ws in words_of.values() for w in ws})
        if not vocabulary:
            return
        vectors = embed(vocabulary, cache=self.embed_cache)
        best = np.stack([(vectors @ seeds.T).max(axis=1) if len(seeds) else np.full(len(vocabulary), -1.0)
                         for seeds in self._topic_seed_vectors()], axis=1)
        ranked = np.sort(best, axis=1)
        aspect_of = {w: self.specs[int(best[j].argmax())].id for j, w in enumerate(vocabulary)
                     if ranked[j, -1] >= self.word_similarity
                     and ranked[j, -1] - (ranked[j, -2] if best.shape[1] > 1 else 0.0) >= MARGIN}
        for i, words in words_of.items():
            found[i].update(aspect_of[w] for w in words if w in aspect_of)

    def match(self, items: Sequence[str]) -> list[set[str]]:
        found = [seed_aspects(c, self.specs) for c in items]
        todo = [i for i, f in enumerate(found) if not f and len(items[i].split()) >= 2]
        if self.semantic and self.words and todo:
            self._by_words(items, todo, found)
            todo = [i for i in todo if not found[i]]
        if self.semantic and todo:
            from journeylens.text.embeddings import embed

            vectors = embed([items[i] for i in todo], cache=self.embed_cache)
            best = np.stack([(vectors @ seeds.T).max(axis=1) for seeds in self._seeds()], axis=1)
            ranked = np.sort(best, axis=1)
            for row, values, top in zip(todo, best, ranked, strict=True):
                lead = top[-1] - (top[-2] if len(top) > 1 else 0.0)
                if top[-1] >= self.similarity and lead >= MARGIN:
                    found[row].add(self.specs[int(values.argmax())].id)
        return found


@lru_cache(maxsize=1)
def _valence_words() -> frozenset[str]:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return frozenset(SentimentIntensityAnalyzer().lexicon)


def _content_word(word: str) -> bool:
    """A single word that names a thing: not a stop word, not a sentiment word, ≥ 3 letters."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (" " not in word and len(word) >= 3 and word.isalpha() and word not in ENGLISH_STOP_WORDS
            and word not in _valence_words())


def comment_aspects(texts: Sequence[str], model: Any, specs: Sequence[AspectSpec], *, semantic: bool = True,
                    embed_cache: Any = None, words: bool = True) -> list[dict[str, dict[str, Any]]]:
    """Per text: ``{aspect_id: {"label", "score", "clauses"}}`` for the aspects it mentions
    (``words=False``: without the word-level step, as in session 3)."""
    pieces = [clauses(t) for t in texts]
    flat = [c for p in pieces for c in p]
    matched = AspectMatcher(specs, semantic=semantic, embed_cache=embed_cache, words=words).match(flat)
    wanted = sorted({i for i, m in enumerate(matched) if m})
    scored = dict(zip(wanted, model.score([flat[i] for i in wanted]), strict=True)) if wanted else {}
    out: list[dict[str, dict[str, Any]]] = []
    position = 0
    for piece in pieces:
        per: dict[str, list[tuple[float, str, str]]] = {}
        for offset, clause in enumerate(piece):
            for aspect in matched[position + offset]:
                value, label = scored[position + offset]
                per.setdefault(aspect, []).append((value, label, clause))
        position += len(piece)
        out.append({aspect: {"score": float(np.mean([v for v, _, _ in hits])),
                             "label": max(hits, key=lambda h: abs(h[0]))[1],
                             "clauses": [c for _, _, c in hits]}
                    for aspect, hits in per.items()})
    return out


def aspect_fields(found: dict[str, dict[str, Any]], specs: Sequence[AspectSpec]) -> dict[str, Any]:
    """Flat fields for one response, for alert rules and exports (documented in docs/text.md):
    ``aspects`` (ids mentioned), ``negative_aspects``, and per configured aspect ``aspect_<id>``
    (``pos``/``neu``/``neg`` or None when not mentioned) and ``aspect_<id>_score`` (−1..1 or None)."""
    fields: dict[str, Any] = {"aspects": sorted(found),
                              "negative_aspects": sorted(a for a, v in found.items() if v["label"] == "neg")}
    for spec in specs:
        hit = found.get(spec.id)
        fields[f"aspect_{spec.id}"] = hit["label"] if hit else None
        fields[f"aspect_{spec.id}_score"] = hit["score"] if hit else None
    return fields
