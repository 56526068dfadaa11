"""Topics on real UCI sentences, c-TF-IDF key phrases, caches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from journeylens.settings import Settings
from journeylens.text.cache import EmbeddingCache, ResultCache, cache_key
from journeylens.text.topics import keyphrases, pain_points, topics
from journeylens.warehouse import open_warehouse

UCI = Path(__file__).parents[1] / "data" / "uci_sentiment"


def test_keyphrases_are_distinctive_per_topic() -> None:
    texts = ["battery life is short", "battery died fast", "battery life poor",
             "waiter was rude", "rude waiter again", "the waiter ignored us"]
    phrases = keyphrases(texts, np.array([0, 0, 0, 1, 1, 1]), 2, top_n=3)
    assert (phrases[0][0].startswith("battery") and phrases[1][0].startswith("waiter")) or "rude" in phrases[1][0]


def test_result_cache_is_keyed_by_data_version(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    calls: list[int] = []
    compute = lambda: calls.append(1) or {"x": len(calls)}  # noqa: E731
    first = cache.get_or_compute(cache_key("v1", "t", {"k": 3}), compute, dict, dict)
    again = cache.get_or_compute(cache_key("v1", "t", {"k": 3}), compute, dict, dict)
    other = cache.get_or_compute(cache_key("v2", "t", {"k": 3}), compute, dict, dict)
    assert (first, again, other, len(calls)) == ({"x": 1}, {"x": 1}, {"x": 2}, 2)
    emb = EmbeddingCache(tmp_path, "m")
    emb.add(["a", "b"], np.ones((2, 4), dtype=np.float32))
    emb.save()
    found, missing = EmbeddingCache(tmp_path, "m").lookup(["b", "c"])
    assert missing == [1] and found[0] is not None and float(found[0].sum()) == 4.0


@pytest.mark.slow
def test_topics_on_300_real_sentences_find_the_three_domains(tmp_path: Path) -> None:
    texts, sources = [], []
    for name, tp in (("amazon_cells", "phone"), ("imdb", "movie"), ("yelp", "restaurant")):
        lines = (UCI / f"{name}_labelled.txt").read_text(encoding="utf-8", errors="replace").splitlines()
        chosen = [line.rpartition("\t")[0].strip() for line in lines if len(line) > 40][:100]
        texts += chosen
        sources += [tp] * len(chosen)
    months = [datetime(2024, 1 + i % 3, 1, tzinfo=UTC) for i in range(len(texts))]
    wh = open_warehouse("duckdb://", Settings())
    wh.append("feedback", pa.table({"comment": texts, "touchpoint": sources, "_seq": list(range(len(texts))),
                                    "timestamp": pa.array(months, type=pa.timestamp("us", "UTC"))}))
    result = topics(wh.table("feedback"), k=3, embed_cache=EmbeddingCache(tmp_path, "minilm"))
    payload = result.to_dict()
    assert payload["k"] == 3 and payload["comments"] == 300
    dominant = {max(t["touchpoints"], key=t["touchpoints"].get) for t in payload["topics"]}
    assert dominant == {"phone", "movie", "restaurant"}  # each topic is mostly one domain
    purity = sum(max(t["touchpoints"].values()) for t in payload["topics"]) / 300
    assert purity > 0.8
    labels = [t["label"] for t in payload["topics"]]
    assert len(set(labels)) == 3 and all(labels)
    assert {c["touchpoint"] for c in payload["matrix"]} == {"phone", "movie", "restaurant"}
    assert len(payload["emerging"]) == 3 and payload["emerging"][0]["growth"] >= payload["emerging"][-1]["growth"]
    worst = pain_points(result, top=2).to_dict()
    assert len(worst) == 2 and worst[0]["pain"] >= worst[1]["pain"]
    auto = topics(wh.table("feedback"), max_k=6, embed_cache=EmbeddingCache(tmp_path, "minilm"))
    assert 3 <= auto.summary["k"] <= 6 and auto.summary["silhouette"] is not None
