"""Sentiment accuracy on the UCI labelled sentences: VADER versus minilm-logreg.

Reproduces the table in docs/text.md:

    .venv/bin/python bench/text_accuracy.py [--data tests/data/uci_sentiment]

Splits: train on two sources and test on the third (leave-one-source-out, 3 x 1,000 test
sentences), and stratified 5-fold CV over all 3,000. VADER needs no training; it is scored
on the same test sentences. Embeddings are cached under .journeylens/cache/embeddings.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from journeylens.text.cache import EmbeddingCache
from journeylens.text.embeddings import embed
from journeylens.text.sentiment import get_model
from journeylens.text.training import accuracy_table, load_uci


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / "tests" / "data" / "uci_sentiment"))
    parser.add_argument("--cache", default=".journeylens/cache")
    args = parser.parse_args()
    data = load_uci(args.data)
    started = time.perf_counter()
    vectors = embed(list(data.texts), cache=EmbeddingCache(args.cache, "all-MiniLM-L6-v2"))
    print(f"embedded {len(data.texts)} sentences in {time.perf_counter() - started:.1f} s (cached after first run)")
    vader = get_model("vader")
    rows = accuracy_table(data, vectors, lambda texts: [s for s, _ in vader.score(texts)])
    groups: dict[tuple[str, str, str], list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        protocol = "5-fold CV" if "CV" in str(row["split"]) else str(row["split"])
        groups[(protocol, str(row["model"]), str(row["mapping"]))].append(row)
    header = f"| {'protocol':<36} | {'model':<13} | {'label mapping':<28} | accuracy | macro-F1 | neutral |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for (protocol, model, mapping), members in groups.items():
        acc = np.mean([float(m["accuracy"]) for m in members])  # type: ignore[arg-type]
        f1 = np.mean([float(m["macro_f1"]) for m in members])  # type: ignore[arg-type]
        neu = np.mean([float(m["neutral_share"]) for m in members])  # type: ignore[arg-type]
        print(f"| {protocol:<36} | {model:<13} | {mapping:<28} | {acc:8.3f} | {f1:8.3f} | {neu:7.3f} |")


if __name__ == "__main__":
    main()
