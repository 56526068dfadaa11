"""Three-class sentiment accuracy, leave one source out: minilm-3class vs VADER (two ways) vs the
old binary minilm-logreg. Reproduces the table in docs/text.md:

    .venv/bin/python bench/text_accuracy.py [--data tests/data] [--cache .journeylens/cache]

Sources (see journeylens.text.corpora): the VADER ground truth (tweets, Amazon, movie and NYT
snippets, ~20 human raters each, three classes) and the UCI sentences (Amazon, IMDb, Yelp; two
classes). Each row trains on every other source and tests on the held-out one. Embeddings are
cached under --cache (the first run embeds ~22,000 sentences: 10-25 minutes on 2 loaded cores).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from journeylens.text.cache import EmbeddingCache
from journeylens.text.corpora import CLASSES, load_corpora
from journeylens.text.evaluation import balanced_sample, leave_one_source_out
from journeylens.text.sentiment import shipped_weights
from journeylens.text.threeclass import features


def _fmt(value: object) -> str:
    return "—" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / "tests" / "data"))
    parser.add_argument("--cache", default=".journeylens/cache")
    args = parser.parse_args()
    corpus = balanced_sample(load_corpora(args.data))
    started = time.perf_counter()
    x = features(list(corpus.texts), embed_cache=EmbeddingCache(args.cache, "all-MiniLM-L6-v2"))
    print(f"{len(corpus)} labelled texts, features in {time.perf_counter() - started:.0f} s (cached after the first run)")
    compound = x[:, 768]  # VADER compound of the whole text, the first lexicon feature
    old_binary = 2 * shipped_weights().probability(x[:, :384]) - 1
    rows = leave_one_source_out(corpus, x, compound, old_binary)
    print("| held-out source | n | model | macro-F1 | F1 neg | F1 neu | F1 pos | accuracy | ECE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['source']} | {r['n']} | {r['model']} | {_fmt(r['macro_f1'])} | "
              + " | ".join(_fmt(r[f'f1_{c}']) for c in CLASSES) + f" | {_fmt(r['accuracy'])} | {_fmt(r['ece'])} |")
    means: dict[str, list[float]] = defaultdict(list)
    three: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        name = "vader (band tuned on training sources)" if "tuned" in r["model"] else r["model"]
        means[name].append(r["macro_f1"])
        if r["source"].startswith("vader_"):
            three[name].append(r["macro_f1"])
    print("\n| model | mean macro-F1, all 7 held-out sources | mean macro-F1, the 4 three-class sources |")
    print("|---|---|---|")
    for name, values in means.items():
        print(f"| {name} | {np.mean(values):.3f} | {np.mean(three[name]):.3f} |")


if __name__ == "__main__":
    main()
