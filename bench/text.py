"""Topic embedding + clustering speed, with a quality figure next to it: static (distilled) vs MiniLM.

    .venv/bin/python bench/text.py [--sizes 20000,200000] [--minilm-sample 2000]

Texts: the ~22,000 distinct labelled sentences under tests/data (tweets, reviews, editorials),
repeated with a numbered suffix to reach 200,000 distinct texts. Speed: the default topic path of
:func:`journeylens.text.topics.topics` — static embeddings, k chosen by silhouette on 2,000,
KMeans (mini-batch above 50,000), near-duplicate merge — wall time, single-threaded clustering;
and the same clustering with 2 threads, to show why it is single-threaded on a shared machine.
MiniLM is timed on --minilm-sample texts and extrapolated linearly (labelled so). Quality: normalised mutual information between the KMeans
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
    from journeylens.text.topics import cluster_vectors

    return cluster_vectors(vectors, k)


def default_path(texts: list[str]) -> int:
    """Static embeddings → k by silhouette → KMeans → merge, as topics() does; the final k."""
    from journeylens.text.static_embeddings import embed_static
    from journeylens.text.topic_naming import merge_near_duplicates
    from journeylens.text.topics import choose_k

    vectors = embed_static(texts)
    k, _ = choose_k(vectors)
    return int(merge_near_duplicates(vectors, cluster(vectors, k)).max()) + 1


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
        load = os.getloadavg()[0]
        started = time.perf_counter()
        k = default_path(texts)
        took = time.perf_counter() - started
        print(f"| static (distilled, 128-d), the default path | {size:,} | {took:.1f} s | {size / took:,.0f} | "
              f"measured: embed, k by silhouette (k={k} after merging), KMeans, 1 thread; load {load:.1f} |")
        if size <= 50_000:
            from sklearn.cluster import KMeans
            from threadpoolctl import threadpool_limits

            vectors = embed_static(texts)
            for threads in (1, 2):
                with threadpool_limits(threads):
                    started = time.perf_counter()
                    KMeans(n_clusters=12, n_init=3, random_state=0).fit_predict(vectors)
                print(f"| (KMeans k=12 alone, {threads} thread{'s' if threads > 1 else ''}) | {size:,} | "
                      f"{time.perf_counter() - started:.1f} s | | load {os.getloadavg()[0]:.1f} |")
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
