"""Metrics engine, sentiment and topics at scale: ours versus plain pandas / raw VADER.

    .venv/bin/python bench/metrics.py [--responses 10000000] [--comments 20000] [--topic-comments 20000]

1. ``cx_metrics`` over N synthetic responses grouped by touchpoint x month (goal: 10M in <= 2 s),
   against pandas computing the same NPS / CSAT / CES per group from an in-memory frame.
2. Sentiment throughput on one core: VADER through ``get_model("vader")`` (cold = every text new;
   warm = realistic repeats served from the text cache) against raw ``vaderSentiment`` (goal >= 15k/s).
3. Topics for M comments (embeddings + k by silhouette + c-TF-IDF; goal 20k in <= 90 s).
   Comments are distinct pairs of UCI sentences of one source, so nothing is served from a cache.

Timings are wall-clock on a shared machine; other work running at the same time adds noise.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

os.environ.setdefault("OMP_NUM_THREADS", "2")

DATA = Path(__file__).parents[1] / "tests" / "data" / "uci_sentiment"
ROWS: list[tuple[str, str, str, str]] = []


def row(part: str, system: str, size: str, seconds: float, note: str = "") -> None:
    ROWS.append((part, system, size, f"{seconds:8.2f} s", note))  # type: ignore[arg-type]


def synthetic_feedback(n: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    touchpoints = np.array([f"tp{i:02d}" for i in range(20)])
    start = np.datetime64("2023-01-01T00:00:00")
    seconds = rng.integers(0, 365 * 2 * 86400, n)
    return pa.table({
        "touchpoint": pa.array(touchpoints[rng.integers(0, 20, n)]),
        "timestamp": pa.array((start + seconds.astype("timedelta64[s]")).astype("datetime64[us]")),
        "respondent": pa.array(np.where(rng.random(n) < 0.02, "employee", "customer")),
        "nps": pa.array(rng.integers(0, 11, n).astype(np.int32)),
        "csat": pa.array(np.where(rng.random(n) < 0.3, None, rng.integers(1, 6, n)), type=pa.int32()),
        "ces": pa.array(np.where(rng.random(n) < 0.5, None, rng.integers(1, 8, n)), type=pa.int32()),
        "_seq": pa.array(np.arange(n)),
    })


def bench_metrics(n: int) -> None:
    from journeylens.analyses.metrics import cx_metrics
    from journeylens.settings import Settings
    from journeylens.warehouse import open_warehouse

    data = synthetic_feedback(n)
    wh = open_warehouse("duckdb://", Settings(duckdb_memory_limit="6GB"))
    wh.append("feedback", data.set_column(1, "timestamp", data.column("timestamp").cast(pa.timestamp("us", "UTC"))))
    fb = wh.table("feedback")
    cx_metrics(fb, by=["touchpoint"], metrics=["nps"])  # warm the connection
    started = time.perf_counter()
    result = cx_metrics(fb, by=["touchpoint", "month"])
    row("metrics", "journeylens cx_metrics (DuckDB)", f"{n:,} responses", time.perf_counter() - started,
        f"{len(result)} groups, NPS+MOE, CSAT+Wilson, CES+t")
    frame = data.to_pandas()
    started = time.perf_counter()
    frame = frame[frame.respondent == "customer"]
    frame = frame.assign(month=frame.timestamp.dt.to_period("M"), pro=frame.nps >= 9, det=frame.nps <= 6,
                         top=frame.csat >= 4)
    grouped = frame.groupby(["touchpoint", "month"])
    agg = grouped.agg(n=("nps", "size"), pro=("pro", "mean"), det=("det", "mean"), csat=("top", "mean"),
                      ces=("ces", "mean"), ces_sd=("ces", "std"), ces_n=("ces", "count"))
    agg["nps"] = 100 * (agg.pro - agg.det)
    row("metrics", "pandas groupby (in memory, scores only)", f"{n:,} responses", time.perf_counter() - started,
        f"{len(agg)} groups, no intervals")
    wh.close()


def uci_sentences() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted(DATA.glob("*_labelled.txt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        out[path.stem] = [line.rpartition("\t")[0].strip() for line in lines if "\t" in line]
    return out


def distinct_comments(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    sources = list(uci_sentences().values())
    seen: set[str] = set()
    while len(seen) < n:
        pool = sources[int(rng.integers(0, len(sources)))]
        a, b = rng.integers(0, len(pool), 2)
        seen.add(f"{pool[a]} {pool[b]}")
    return sorted(seen)


def bench_sentiment(n: int) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from journeylens.text.sentiment import VaderModel

    texts = distinct_comments(n)
    raw = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    for text in texts:
        raw.polarity_scores(text)
    seconds = time.perf_counter() - started
    row("sentiment", "raw vaderSentiment loop", f"{n:,} distinct", seconds, f"{n / seconds:,.0f} comments/s")
    model = VaderModel()
    started = time.perf_counter()
    model.score(texts)
    seconds = time.perf_counter() - started
    row("sentiment", "journeylens vader (cold)", f"{n:,} distinct", seconds, f"{n / seconds:,.0f} comments/s")
    sentences = [s for group in uci_sentences().values() for s in group]
    repeated = [sentences[i] for i in np.random.default_rng(1).integers(0, len(sentences), n)]
    started = time.perf_counter()
    model.score(repeated)
    seconds = time.perf_counter() - started
    row("sentiment", "journeylens vader (repeats, cached)", f"{n:,} from 3,000 unique", seconds,
        f"{n / seconds:,.0f} comments/s")


def bench_topics(n: int) -> None:
    from journeylens.settings import Settings
    from journeylens.text.topics import topics
    from journeylens.warehouse import open_warehouse

    texts = distinct_comments(n, seed=2)
    rng = np.random.default_rng(3)
    ts = np.datetime64("2024-01-01") + rng.integers(0, 180, n).astype("timedelta64[D]")
    wh = open_warehouse("duckdb://", Settings())
    wh.append("feedback", pa.table({"comment": texts, "touchpoint": [f"tp{i % 8}" for i in range(n)],
                                    "timestamp": pa.array(ts.astype("datetime64[us]")).cast(pa.timestamp("us", "UTC")),
                                    "_seq": np.arange(n)}))
    started = time.perf_counter()
    result = topics(wh.table("feedback"), min_comments=10)
    row("topics", "journeylens topics (MiniLM CPU + KMeans + c-TF-IDF)", f"{n:,} comments",
        time.perf_counter() - started, f"k={result.summary['k']} by silhouette")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--comments", type=int, default=20_000)
    parser.add_argument("--topic-comments", type=int, default=20_000)
    parser.add_argument("--skip", nargs="*", default=[], choices=["metrics", "sentiment", "topics"])
    args = parser.parse_args()
    if "metrics" not in args.skip:
        bench_metrics(args.responses)
    if "sentiment" not in args.skip:
        bench_sentiment(args.comments)
    if "topics" not in args.skip:
        bench_topics(args.topic_comments)
    width = max(len(r[1]) for r in ROWS)
    print(f"{'part':<10} {'system':<{width}} {'size':<24} {'time':>10}  note")
    for part, system, size, seconds, note in ROWS:
        print(f"{part:<10} {system:<{width}} {size:<24} {seconds:>10}  {note}")


if __name__ == "__main__":
    main()
