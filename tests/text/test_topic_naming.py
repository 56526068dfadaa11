"""Topic names from customer phrases, merged near-duplicates, ids stable across data versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from journeylens.text.topic_naming import TopicRegistry, merge_near_duplicates, name_topics


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_near_duplicate_topics_are_merged_and_renumbered() -> None:
    vectors = _unit(np.array([[1, 0, 0], [1, 0.05, 0], [1, 0.02, 0.01], [0, 1, 0], [0, 0, 1.0]]))
    labels = np.array([0, 1, 1, 2, 3])  # topics 0 and 1 point the same way
    merged = merge_near_duplicates(vectors, labels)
    assert merged.tolist() == [0, 0, 0, 1, 2]


def test_names_are_phrases_customers_wrote() -> None:
    texts = ["The app logs me out after the update, so annoying", "app logs me out after update",
             "Queue was long at the branch today", "long queue in the branch"]
    vocabulary = ["app", "logs", "update", "queue", "branch", "long"]

    def bag(items: list[str]) -> np.ndarray:
        return _unit(np.array([[t.lower().count(w) + 1e-3 for w in vocabulary] for t in items], dtype=float))

    names = name_topics(texts, bag(texts), np.array([0, 0, 1, 1]), 2, bag)
    assert names[0] in {"The app logs me out after the update", "app logs me out after update"}
    assert "queue" in names[1].lower()


def test_ids_survive_a_new_data_version(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    first = TopicRegistry(path).assign(_unit(np.array([[1.0, 0, 0], [0, 1.0, 0]])), ["app", "queue"])
    assert first == [0, 1]
    # next version: the same two topics in the other order, slightly moved, plus a new one
    second = TopicRegistry(path).assign(_unit(np.array([[0.1, 1.0, 0], [1.0, 0.05, 0], [0, 0, 1.0]])),
                                        ["queue", "app", "fees"])
    assert second == [1, 0, 2]
    assert [e["name"] for e in TopicRegistry(path).entries] == ["app", "queue", "fees"]
