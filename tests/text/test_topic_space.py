"""The fast (static) topic path keeps distinct topics apart (ADR 0091): real sentences from five
sites, more than AUTO_MINILM_UP_TO of them, so ``embedder="auto"`` takes the static path."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from journeylens.settings import Settings
from journeylens.text.corpora import load_corpora
from journeylens.text.topic_naming import merge_near_duplicates
from journeylens.text.topic_space import TopicSpace
from journeylens.text.topics import AUTO_MINILM_UP_TO, topics
from journeylens.warehouse import open_warehouse

DATA = Path(__file__).parents[1] / "data"
#: Five sites whose sentences are about different things: phones, restaurants, films, politics, tweets.
SOURCES = ("uci_amazon", "uci_yelp", "vader_movies", "vader_nyt", "vader_tweets")
PER_SOURCE = 500


def _planted(per_source: int = PER_SOURCE) -> tuple[list[str], list[str]]:
    corpus = load_corpora(DATA)
    rng = np.random.default_rng(15)
    texts: list[str] = []
    sources: list[str] = []
    for source in SOURCES:
        rows = [i for i in np.where(corpus.sources == source)[0] if len(corpus.texts[i].split()) >= 4]
        for i in rng.choice(rows, size=per_source, replace=False):
            texts.append(corpus.texts[i])
            sources.append(source)
    return texts, sources


@pytest.mark.slow
def test_static_path_recovers_five_planted_topics() -> None:
    texts, sources = _planted()
    assert len(texts) > AUTO_MINILM_UP_TO
    wh = open_warehouse("duckdb://", Settings())
    months = [datetime(2024, 1 + i % 3, 1, tzinfo=UTC) for i in range(len(texts))]
    wh.append("feedback", pa.table({"comment": texts, "touchpoint": sources, "_seq": list(range(len(texts))),
                                    "timestamp": pa.array(months, type=pa.timestamp("us", "UTC"))}))
    payload = topics(wh.table("feedback"), model="vader").to_dict()
    assert payload["embedder"] == "static"
    assert payload["k"] >= len(SOURCES)  # the old path merged everything into 1-2 topics
    dominant = Counter(max(t["touchpoints"], key=t["touchpoints"].get) for t in payload["topics"])
    assert set(dominant) == set(SOURCES)  # every planted topic leads at least one topic
    purity = sum(max(t["touchpoints"].values()) for t in payload["topics"]) / len(texts)
    assert purity > 0.5  # one topic for everything would be 0.2


def test_near_duplicate_merge_on_the_static_space_merges_only_real_duplicates() -> None:
    texts, sources = _planted()
    vectors = TopicSpace.fit(texts).transform(texts)
    by_source = {s: i for i, s in enumerate(SOURCES)}
    labels = np.array([by_source[s] for s in sources])
    halves = labels.copy()
    halves[(labels == 0) & (np.arange(len(labels)) % 2 == 1)] = len(SOURCES)  # split phones in two halves of 250
    merged = merge_near_duplicates(vectors, halves)
    assert merged.max() + 1 == len(SOURCES)  # the two halves of one topic merge, nothing else does
    assert len(set(merged[labels == 0].tolist())) == 1
    assert all(len(set(merged[labels == i].tolist())) == 1 for i in range(len(SOURCES)))
    assert len({int(merged[labels == i][0]) for i in range(len(SOURCES))}) == len(SOURCES)


def test_common_component_is_removed() -> None:
    texts, _ = _planted(per_source=100)
    space = TopicSpace.fit(texts)
    stable = space.stable(texts)
    assert np.linalg.norm(stable.mean(axis=0)) < 0.2  # raw static vectors: mean norm ≈ 0.8
    assert np.allclose(np.linalg.norm(space.transform(texts[:5]), axis=1), 1.0, atol=1e-5)
