"""Topic names a person would write, near-duplicate merging and topic ids stable across data versions.

* **Names**: for each topic, the clauses of the comments nearest its centre are candidates; the
  name is the candidate (3–12 words) closest to the centre — a phrase a customer actually wrote,
  such as "the new version logs me out every few minutes". A candidate made only of one
  language's function words, or not in English, is never a name (:func:`readable_name`, ADR 0085);
  when no candidate is left the name is the topic's most frequent content words.
* **Merging**: topics whose centres are within :data:`MERGE_SIMILARITY` cosine (or that get the
  same name) are one topic.
* **Stable ids**: a small registry (JSON under ``settings.cache_dir/topics``) keeps each topic's
  id and centre; after new data lands, each new topic takes the id of the old topic whose centre
  is closest (cosine ≥ :data:`MATCH_SIMILARITY`, one to one), or a new id — so a topic's trend
  over data versions means something.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from journeylens.text.clauses import clauses
from journeylens.text.language import detect_language, is_english
from journeylens.text.stopwords import is_stopword_phrase, words

MERGE_SIMILARITY = 0.92
MATCH_SIMILARITY = 0.80
#: Comments nearest a topic's centre whose clauses are name candidates.
CANDIDATE_COMMENTS = 25


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return np.asarray(matrix / np.maximum(norms, 1e-12))


def centroids(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    return _unit(np.stack([vectors[labels == t].mean(axis=0) if (labels == t).any() else np.zeros(vectors.shape[1])
                           for t in range(k)]))


def merge_near_duplicates(vectors: np.ndarray, labels: np.ndarray, *,
                          threshold: float = MERGE_SIMILARITY) -> np.ndarray:
    """Labels 0..k'-1 after merging topics whose centres are within ``threshold`` cosine."""
    labels = labels.copy()
    while True:
        present = sorted(set(labels.tolist()))
        centres = centroids(vectors, labels, max(present) + 1)[present]
        similarity = centres @ centres.T
        np.fill_diagonal(similarity, -1.0)
        i, j = np.unravel_index(int(np.argmax(similarity)), similarity.shape)
        if len(present) < 2 or similarity[i, j] < threshold:
            break
        labels[labels == present[j]] = present[i]
    remap = {old: new for new, old in enumerate(sorted(set(labels.tolist())))}
    return np.array([remap[v] for v in labels.tolist()])


def readable_name(phrase: str) -> bool:
    """A topic name must say something (not only function words) in English (or in no language
    the identifier can tell and without another language's function words)."""
    return not is_stopword_phrase(phrase) and is_english(detect_language(phrase))


def content_words(texts: Sequence[str], *, top: int = 3) -> str:
    """The ``top`` most frequent words of ``texts`` that are no language's function words."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in words(text):
            if len(word) > 1 and not is_stopword_phrase(word):
                counts[word] = counts.get(word, 0) + 1
    return ", ".join(sorted(counts, key=lambda w: (-counts[w], w))[:top])


def name_topics(texts: Sequence[str], vectors: np.ndarray, labels: np.ndarray, k: int,
                embed: Callable[[list[str]], np.ndarray]) -> list[str]:
    """A representative phrase per topic (see the module docstring)."""
    centres = centroids(vectors, labels, k)
    per_topic: list[list[str]] = []
    for topic in range(k):
        members = np.where(labels == topic)[0]
        nearest = members[np.argsort(-(vectors[members] @ centres[topic]))[:CANDIDATE_COMMENTS]]
        candidates = {c for i in nearest for c in clauses(texts[i]) if 3 <= len(c.split()) <= 12 and readable_name(c)}
        opening = " ".join(texts[nearest[0]].split()[:12])
        fallback = opening if readable_name(opening) else content_words([texts[i] for i in members])
        per_topic.append(sorted(candidates) or ([fallback] if fallback else []))
    flat = [c for cands in per_topic for c in cands]
    candidate_vectors = _unit(embed(flat)) if flat else np.zeros((0, vectors.shape[1]))
    names, position = [], 0
    for topic, cands in enumerate(per_topic):
        block = candidate_vectors[position: position + len(cands)]
        position += len(cands)
        best = cands[int(np.argmax(block @ centres[topic]))] if len(cands) else f"topic {topic + 1} (no content words)"
        names.append(best)
    return names


class TopicRegistry:
    """Topic ids and centres from earlier runs, persisted as JSON (one file per scope)."""

    def __init__(self, path: str | Path | None):
        self.path = Path(path) if path else None
        self.entries: list[dict[str, object]] = []
        if self.path is not None and self.path.exists():
            self.entries = json.loads(self.path.read_text(encoding="utf-8"))

    def assign(self, centres: np.ndarray, names: Sequence[str], *,
               threshold: float = MATCH_SIMILARITY) -> list[int]:
        """Stable ids for ``centres`` (greedy one-to-one by similarity); saves the registry."""
        old = np.array([e["centre"] for e in self.entries], dtype=float) if self.entries else np.zeros((0, 1))
        ids: list[int | None] = [None] * len(centres)
        if len(old) and old.shape[1] == centres.shape[1]:
            similarity = centres @ _unit(old).T
            taken: set[int] = set()
            for flat in np.argsort(-similarity, axis=None):
                new, previous = np.unravel_index(int(flat), similarity.shape)
                if similarity[new, previous] < threshold:
                    break
                if ids[new] is None and previous not in taken:
                    ids[new] = int(self.entries[previous]["id"])  # type: ignore[call-overload]
                    taken.add(int(previous))
        next_id = max([int(e["id"]) for e in self.entries] + [-1]) + 1  # type: ignore[call-overload]
        for i, value in enumerate(ids):
            if value is None:
                ids[i], next_id = next_id, next_id + 1
        kept = {int(e["id"]): e for e in self.entries}  # type: ignore[call-overload]
        final = [int(i) for i in ids if i is not None]
        for topic_id, centre, name in zip(final, centres, names, strict=True):
            kept[topic_id] = {"id": topic_id, "name": name, "centre": [round(float(v), 5) for v in centre]}
        self.entries = sorted(kept.values(), key=lambda e: int(e["id"]))  # type: ignore[call-overload]
        self._save()
        return final

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(self.entries, handle)
        os.replace(tmp, self.path)
