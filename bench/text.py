"""Topic embedding + clustering speed, with a quality figure next to it: static (distilled) vs MiniLM.

    .venv/bin/python bench/text.py [--sizes 20000,200000] [--minilm-sample 2000] [--old]

Texts: the ~22,000 distinct labelled sentences under tests/data (tweets, reviews, editorials),
repeated with a numbered suffix to reach 200,000 distinct texts. Speed: the default topic path of
:func:`journeylens.text.topics.topics` above 2,000 comments — static vectors centred on the
comments' mean beside a lexical (TF-IDF → 64 latent components) part (ADR 0091), k chosen by
silhouette on 2,000, KMeans (mini-batch above 50,000), near-duplicate merge — wall time and the
number of topics left after merging; ``--old`` also runs session 3's path (raw static vectors),
whose merge folded everything into 1-2 topics. The same clustering with 2 threads shows why it
is single-threaded on a shared machine. MiniLM is timed on --minilm-sample texts and
extrapolated linearly (labelled so). Quality: (1) normalised mutual information between KMeans
clusters (k = 7) and the 7 source domains of the 18,708 labelled sentences, per embedder;
(2) the whole auto path (k by silhouette, merge) on 2,500 sentences from five sites, per
embedder: topics found, sites that lead a topic, purity, NMI. Prints the load average.
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


def default_path(texts: list[str], embedder: str = "static") -> np.ndarray:
    """Embed → k by silhouette → KMeans → near-duplicate merge, as topics() does; the final labels."""
    from journeylens.text.topic_naming import merge_near_duplicates
    from journeylens.text.topics import choose_k, topic_vectors

    vectors, _, _ = topic_vectors(texts, embedder, embed_cache=CACHE.get("cache"))
    k, _ = choose_k(vectors)
    return merge_near_duplicates(vectors, cluster(vectors, k))


def old_static_path(texts: list[str]) -> np.ndarray:
    """Session 3's static path (raw averaged vectors, merge at cosine 0.92) — the collapse, for the record."""
    from journeylens.text.static_embeddings import embed_static
    from journeylens.text.topic_naming import merge_near_duplicates
    from journeylens.text.topics import choose_k

    vectors = embed_static(texts)
    k, _ = choose_k(vectors)
    return merge_near_duplicates(vectors, cluster(vectors, k))


def planted_quality(corpus: object, per_source: int = 500) -> None:
    """Five sites (phones, restaurants, films, politics, tweets), 500 sentences each, full auto path per embedder."""
    from collections import Counter

    sources = ("uci_amazon", "uci_yelp", "vader_movies", "vader_nyt", "vader_tweets")
    rng = np.random.default_rng(15)
    texts: list[str] = []
    truth: list[str] = []
    for source in sources:
        rows = [i for i in np.where(corpus.sources == source)[0] if len(corpus.texts[i].split()) >= 4]  # type: ignore[attr-defined]
        for i in rng.choice(rows, size=per_source, replace=False):
            texts.append(corpus.texts[i])  # type: ignore[attr-defined]
            truth.append(source)
    from sklearn.metrics import normalized_mutual_info_score as nmi

    print(f"\n| path on {len(texts):,} sentences from 5 sites (auto k) | topics | sites leading a topic | purity | NMI with the sites | time |")
    print("|---|---|---|---|---|---|")
    labels_by: dict[str, np.ndarray] = {}
    for name, run in (("static, session 3 (raw vectors)", old_static_path),
                      ("static, centred + lexical (default above 2,000)", lambda t: default_path(t, "static")),
                      ("MiniLM (default up to 2,000)", lambda t: default_path(t, "minilm"))):
        started = time.perf_counter()
        labels = run(texts)
        took = time.perf_counter() - started
        labels_by[name] = labels
        frame = Counter(zip(labels.tolist(), truth, strict=True))
        leaders = {max((s for s in sources), key=lambda s, t=t: frame[(t, s)]) for t in set(labels.tolist())}
        purity = sum(max(frame[(t, s)] for s in sources) for t in set(labels.tolist())) / len(texts)
        print(f"| {name} | {labels.max() + 1} | {len(leaders)} of 5 | {purity:.2f} | {nmi(truth, labels):.3f} | {took:.1f} s |")
    names = list(labels_by)
    print(f"| agreement static (new) vs MiniLM topics (NMI) | | | | {nmi(labels_by[names[1]], labels_by[names[2]]):.3f} | |")


CACHE: dict[str, object] = {}


def main() -> None:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from journeylens.text.cache import EmbeddingCache
    from journeylens.text.corpora import load_corpora
    from journeylens.text.embeddings import embed, load_encoder
    from journeylens.text.evaluation import balanced_sample
    from journeylens.text.static_embeddings import embed_static, load_static
    from journeylens.text.topics import topic_vectors

    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(Path(__file__).parents[1] / "tests" / "data"))
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--minilm-sample", type=int, default=2000)
    parser.add_argument("--cache", default=".journeylens/cache")
    parser.add_argument("--old", action="store_true", help="also time session 3's static path (shows the collapse)")
    args = parser.parse_args()
    CACHE["cache"] = EmbeddingCache(args.cache, "all-MiniLM-L6-v2")
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
        k = int(default_path(texts).max()) + 1
        took = time.perf_counter() - started
        print(f"| static, centred + lexical: the default path | {size:,} | {took:.1f} s | {size / took:,.0f} | "
              f"measured: embed, k by silhouette (k={k} after merging), KMeans, 1 thread; load {load:.1f} |")
        if args.old:
            started = time.perf_counter()
            k = int(old_static_path(texts).max()) + 1
            took = time.perf_counter() - started
            print(f"| static, session 3 (raw vectors) | {size:,} | {took:.1f} s | {size / took:,.0f} | "
                  f"k={k} after merging: the collapse; load {os.getloadavg()[0]:.1f} |")
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
    texts = list(corpus.texts)
    static_vectors = embed_static(texts)
    space_vectors, _, _ = topic_vectors(texts, "static")
    minilm_vectors = embed(texts, cache=EmbeddingCache(args.cache, "all-MiniLM-L6-v2"))
    k = len(set(domains))
    static_labels, space_labels, minilm_labels = (cluster(v, k) for v in (static_vectors, space_vectors, minilm_vectors))
    print(f"\n| quality ({len(corpus):,} sentences, {k} source domains, KMeans k={k}) | NMI with the domains |")
    print("|---|---|")
    print(f"| static, session 3 (raw vectors) | {nmi(domains, static_labels):.3f} |")
    print(f"| static, centred + lexical (default above 2,000) | {nmi(domains, space_labels):.3f} |")
    print(f"| MiniLM | {nmi(domains, minilm_labels):.3f} |")
    print(f"| agreement static (new) vs MiniLM clusters (NMI) | {nmi(space_labels, minilm_labels):.3f} |")
    planted_quality(corpus)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
