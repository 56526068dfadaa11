"""Topic embedding + clustering speed, with a quality figure next to it: static (distilled) vs MiniLM.

    .venv/bin/python bench/text.py [--sizes 20000,200000] [--minilm-sample 2000]

Texts: the ~22,000 distinct labelled sentences under tests/data (tweets, reviews, editorials),
repeated with a numbered suffix to reach 200,000 distinct texts. Speed: embedding + KMeans (k=12;
MiniBatchKMeans above 50,000) wall time. MiniLM is timed on --minilm-sample texts and
extrapolated linearly (labelled so). Quality: normalised mutual information between the KMeans
clusters (k = 7) and the 7 source domains (Amazon phones, IMDb, Yelp, tweets, Amazon snippets,
movie snippets, NYT editorials) of the 18,708 training sentences — how well the embedding
separates what the text is about — for both embedders; and the agreement (NMI) between the two
clusterings. Prints the load average: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np


def cluster(vectors: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans, MiniBatchKMeans

    if len(vectors) > 50_000:
        return MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=4096, n_init=3).fit_predict(vectors)
    return KMeans(n_clusters=k, n_init=3, random_state=0).fit_predict(vectors)


def main() -> None:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from journeylens.text.cache import EmbeddingCache
    from journeylens.text.corpora import load_corpora
    from journeylens.text.embeddings import embed, load_encoder
    from journeylens.text.evaluation import balanced_sample
    from journeylens.text.static_embeddings import embed_static, load_static

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / "tests" / "data"))
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--minilm-sample", type=int, default=2000)
    parser.add_argument("--cache", default=".journeylens/cache")
    args = parser.parse_args()
    corpus = balanced_sample(load_corpora(args.data))
    base = list(dict.fromkeys(corpus.texts))
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores, shared)")
    load_static(), load_encoder()  # loading is once per process; not part of the timing

    sample = [f"{t} (sample)" for t in base[: args.minilm_sample]]  # never seen by the in-process cache
    started = time.perf_counter()
    sample_vectors = embed(sample)
    per_text = (time.perf_counter() - started) / len(sample)
    print("\n| embedder | comments | embed + cluster | per second | note |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        texts = [base[i % len(base)] + ("" if i < len(base) else f" #{i // len(base)}") for i in range(size)]
        started = time.perf_counter()
        cluster(embed_static(texts), 12)
        took = time.perf_counter() - started
        print(f"| static (distilled, 128-d) | {size:,} | {took:.1f} s | {size / took:,.0f} | measured |")
        started = time.perf_counter()
        cluster(np.tile(sample_vectors, (max(1, size // len(sample)), 1))[:size], 12)
        estimate = per_text * size + (time.perf_counter() - started)
        print(f"| MiniLM (all-MiniLM-L6-v2) | {size:,} | {estimate:.0f} s | {size / estimate:,.0f} | "
              f"embedding extrapolated from {len(sample):,} |")

    domains = corpus.sources
    static_vectors = embed_static(list(corpus.texts))
    minilm_vectors = embed(list(corpus.texts), cache=EmbeddingCache(args.cache, "all-MiniLM-L6-v2"))
    k = len(set(domains))
    static_labels, minilm_labels = cluster(static_vectors, k), cluster(minilm_vectors, k)
    print(f"\n| quality ({len(corpus):,} sentences, {k} source domains, KMeans k={k}) | NMI with the domains |")
    print("|---|---|")
    print(f"| static (distilled) | {nmi(domains, static_labels):.3f} |")
    print(f"| MiniLM | {nmi(domains, minilm_labels):.3f} |")
    print(f"| agreement static vs MiniLM clusters (NMI) | {nmi(static_labels, minilm_labels):.3f} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
