"""Topics in feedback comments: what customers talk about, where, how it feels, what is growing.

Pipeline: English comments → embeddings (``embedder="auto"``, the default: the all-MiniLM-L6-v2
sentence model, batched and cached per comment, for up to :data:`AUTO_MINILM_UP_TO` comments —
where it is affordable and separates topics better — and above that the static vectors distilled
from it, thousands of comments per second, with their common component removed and a lexical
TF-IDF part beside them (:mod:`journeylens.text.topic_space`, ADR 0091); ``"minilm"`` /
``"static"`` force one; ADR 0071) → KMeans (single-threaded: on a shared 2-core
machine OpenMP threads spin against each other and a 20k-comment fit takes 5x longer), with k chosen by the cosine silhouette on a sample when not given → near-duplicate
topics merged → each topic named by the comment phrase nearest its centre and described by
its most distinctive key phrases (class-based TF-IDF over 1-3-grams, English stop words
removed) → topic ids kept stable across data versions (:mod:`journeylens.text.topic_naming`). Per topic: size, share, average sentiment, negative share, touchpoints
and stages it concerns, and its trend per period. Plus the touchpoint x topic matrix
(volume x negativity = where customers hurt most) and emerging topics (share in the latest
period versus before, with a two-proportion z-test).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from journeylens.analyses import stats
from journeylens.analyses.metrics import PERIODS, period_label
from journeylens.analyses.result import Result, plain
from journeylens.errors import EmptyDataError, ParameterError
from journeylens.text.comments import read_comments
from journeylens.text.sentiment import NOT_SCORED, score_texts
from journeylens.text.stopwords import is_stopword_phrase
from journeylens.text.topic_naming import (
    TopicRegistry,
    centroids,
    merge_near_duplicates,
    name_topics,
)

#: Threads for KMeans and the silhouette (see the module docstring).
CLUSTER_THREADS = 1
EMBEDDERS: tuple[str, ...] = ("auto", "static", "minilm")
#: ``embedder="auto"`` uses MiniLM up to this many English comments, the static vectors above.
AUTO_MINILM_UP_TO = 2_000


#: Why comments in other languages are left out of the topics (shown with their counts).
EXCLUDED_REASON = ("not in English: topics are found and named by English-only models, so comments identified as another "
                   "language (by the language identifier, or by that language's function words) are left out")

#: Above this many comments the clustering uses mini-batches (same objective, bounded time).
MINIBATCH_FROM = 50_000


def cluster_vectors(vectors: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """KMeans labels (mini-batch KMeans above :data:`MINIBATCH_FROM` rows), single-threaded."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from threadpoolctl import threadpool_limits

    with threadpool_limits(CLUSTER_THREADS):
        if len(vectors) > MINIBATCH_FROM:
            return np.asarray(MiniBatchKMeans(n_clusters=k, random_state=seed, batch_size=4096, n_init=3)
                              .fit_predict(vectors))
        return np.asarray(KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors))


def choose_k(vectors: np.ndarray, *, min_k: int = 3, max_k: int = 12, sample_size: int = 2000,
             seed: int = 0) -> tuple[int, float]:
    """The k in min_k..max_k with the best cosine silhouette on a sample, and that silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(sample_size, len(vectors)), replace=False)]
    best = (min_k, -1.0)
    with threadpool_limits(CLUSTER_THREADS):
        for k in range(min_k, min(max_k, len(sample) - 1) + 1):
            labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(sample)
            if len(set(labels)) < 2:
                continue
            score = float(silhouette_score(sample, labels, metric="cosine"))
            if score > best[1]:
                best = (k, score)
    return best


def keyphrases(texts: Sequence[str], labels: np.ndarray, k: int, *, top_n: int = 6) -> list[list[str]]:
    """Most distinctive 1-3-gram phrases per topic by class-based TF-IDF."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(ngram_range=(1, 3), stop_words="english", min_df=2 if len(texts) >= 50 else 1,
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z']+\b")
    try:
        counts = vectorizer.fit_transform(texts)
    except ValueError:  # nothing left after stop words
        return [[] for _ in range(k)]
    membership = sparse.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    per_topic = np.asarray((membership @ counts).todense(), dtype=float)
    tf = per_topic / np.maximum(per_topic.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + per_topic.sum() / k / np.maximum(per_topic.sum(axis=0), 1))
    weights = tf * idf
    vocab = vectorizer.get_feature_names_out()
    out = []
    for topic in range(k):
        chosen: list[str] = []
        for index in np.argsort(-weights[topic]):
            phrase = str(vocab[index])
            if weights[topic, index] <= 0 or len(chosen) >= top_n:
                break
            if not any(phrase in c or c in phrase for c in chosen) and not is_stopword_phrase(phrase):
                chosen.append(phrase)
        out.append(chosen)
    return out


def topic_vectors(texts: Sequence[str], embedder: str, *, embed_cache: Any = None, seed: int = 0,
                  ) -> tuple[np.ndarray, np.ndarray, Callable[[list[str]], np.ndarray]]:
    """Vectors to cluster, vectors for the id registry, and the function that embeds name candidates.

    ``"static"``: the :class:`~journeylens.text.topic_space.TopicSpace` of the comments (centred
    static vectors beside a lexical part; the registry gets the centred static part, ADR 0091).
    ``"minilm"``: the cached sentence embeddings for all three."""
    if embedder == "static":
        from journeylens.text.topic_space import TopicSpace

        space = TopicSpace.fit(texts, seed=seed)
        return space.transform(texts), space.stable(texts), space.transform
    from journeylens.text.embeddings import embed

    vectors = embed(texts, cache=embed_cache)
    return vectors, vectors, lambda items: embed(items, cache=embed_cache)


@dataclass(frozen=True)
class TopicsResult(Result):
    """``records`` are the topics. ``to_dict()`` → ``{"k", "silhouette", "comments",
    "excluded_non_english", "excluded_languages", "excluded_reason", "period", "topics": [...],
    "matrix": [...], "emerging": [...]}``."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    matrix: Sequence[Mapping[str, Any]] = ()
    emerging: Sequence[Mapping[str, Any]] = ()
    title: str = "Comment topics"

    def to_dict(self) -> dict[str, Any]:  # type: ignore[override]
        return {**plain(dict(self.summary)), "topics": [plain(dict(r)) for r in self.records],
                "matrix": [plain(dict(r)) for r in self.matrix], "emerging": [plain(dict(r)) for r in self.emerging]}

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> TopicsResult:
        summary = {k: v for k, v in payload.items() if k not in ("topics", "matrix", "emerging")}
        return cls(payload["topics"], dict(params or {}), summary=summary, matrix=payload["matrix"],
                   emerging=payload["emerging"])


def _topic_rows(frame: pd.DataFrame, phrases: list[list[str]], period: str, names: Sequence[str],
                ids: Sequence[int]) -> list[dict[str, Any]]:
    totals: dict[Any, int] = frame.groupby("period").size().to_dict()
    rows = []
    for topic_key, members in frame.groupby("topic", sort=True):
        topic = int(topic_key)  # type: ignore[call-overload,arg-type,unused-ignore]
        scored = members[members.label != NOT_SCORED]
        trend = members.groupby("period").size()
        rows.append({
            "topic": ids[topic], "label": names[topic], "keyphrases": phrases[int(topic)],
            "size": len(members), "share": len(members) / len(frame),
            "avg_sentiment": float(scored.score.mean()) if len(scored) else None,
            "negative_share": float((scored.label == "neg").mean()) if len(scored) else None,
            "touchpoints": dict(Counter(members.touchpoint.dropna()).most_common(5)),
            "stages": dict(Counter(members.stage.dropna()).most_common(5)),
            "trend": [{period: p, "n": int(n), "share": n / totals[p]} for p, n in trend.items()],
            "examples": members.comment.head(3).tolist(),
        })
    return sorted(rows, key=lambda r: -r["size"])


def _matrix(frame: pd.DataFrame, labels: Mapping[int, str], topic_ids: Sequence[int]) -> list[dict[str, Any]]:
    known = frame[frame.touchpoint.notna()]
    rows = []
    for (touchpoint, topic_key), cell in known.groupby(["touchpoint", "topic"]):
        topic = int(topic_key)  # type: ignore[call-overload,arg-type,unused-ignore]
        scored = cell[cell.label != NOT_SCORED]
        negative = float((scored.label == "neg").mean()) if len(scored) else 0.0
        rows.append({"touchpoint": touchpoint, "topic": int(topic_ids[topic]), "label": labels[int(topic)],
                     "n": len(cell),
                     "negative_share": negative, "mean_score": float(scored.score.mean()) if len(scored) else None,
                     "pain": len(cell) * negative})
    return sorted(rows, key=lambda r: (-r["pain"], -r["n"]))


def _emerging(frame: pd.DataFrame, labels: Mapping[int, str], topic_ids: Sequence[int]) -> list[dict[str, Any]]:
    periods = sorted(frame.period.dropna().unique())
    if len(periods) < 2:
        return []
    latest = frame.period == periods[-1]
    n_latest, n_before = int(latest.sum()), int((~latest).sum())
    rows = []
    for topic in sorted(frame.topic.unique()):
        in_topic = frame.topic == topic
        now, before = int((in_topic & latest).sum()), int((in_topic & ~latest).sum())
        test = stats.two_proportion_ztest(before, n_before, now, n_latest)
        rows.append({"topic": int(topic_ids[int(topic)]), "label": labels[int(topic)], "latest_period": periods[-1],
                     "latest_n": now, "latest_share": now / n_latest, "before_share": before / n_before,
                     "growth": now / n_latest - before / n_before, "p": test.p_value})
    return sorted(rows, key=lambda r: -r["growth"])


def topics(feedback: Any, *, touchpoint: Sequence[str] | None = None, k: int | None = None, max_k: int = 12,
           period: str = "month", model: str | None = None, events: Any = None, definition: Any = None,
           embed_cache: Any = None, respondent: str = "customer", min_comments: int = 20,
           seed: int = 0, registry: Any = None, embedder: str = "auto") -> TopicsResult:
    """Discover topics in the comments of ``feedback`` (see the module docstring)."""
    from journeylens.text.language import is_english

    if period not in PERIODS:
        raise ParameterError(f"Unknown period {period!r}; allowed: {', '.join(PERIODS)}.")
    if embedder not in EMBEDDERS:
        raise ParameterError(f"Unknown embedder {embedder!r}; allowed: {', '.join(EMBEDDERS)}.")
    if k is not None and not 2 <= k <= 50:
        raise ParameterError(f"k must be between 2 and 50, got {k}.")
    comments = read_comments(feedback, touchpoint=touchpoint, respondent=respondent, events=events,
                             definition=definition)
    scored = score_texts([c["comment"] for c in comments], [c.get("language") for c in comments], model)
    keep = [i for i, (_, _, lang) in enumerate(scored) if is_english(lang)]
    if len(keep) < max(min_comments, (k or 3) + 1):
        raise EmptyDataError(f"Topics need at least {max(min_comments, (k or 3) + 1)} English comments; "
                             f"found {len(keep)}.")
    texts = [comments[i]["comment"] for i in keep]
    if embedder == "auto":
        embedder = "minilm" if len(texts) <= AUTO_MINILM_UP_TO else "static"
    vectors, stable, embed_names = topic_vectors(texts, embedder, embed_cache=embed_cache, seed=seed)
    silhouette = None
    if k is None:
        k, silhouette = choose_k(vectors, max_k=max_k, seed=seed)
    labels = merge_near_duplicates(vectors, cluster_vectors(vectors, k, seed=seed))
    k = int(labels.max()) + 1
    phrases = keyphrases(texts, labels, k)
    names = name_topics(texts, vectors, labels, k, embed_names)
    ids = TopicRegistry(registry).assign(centroids(stable, labels, k), names)
    frame = pd.DataFrame({
        "topic": labels, "comment": texts, "touchpoint": [comments[i].get("touchpoint") for i in keep],
        "stage": [comments[i].get("stage") for i in keep], "score": [scored[i][0] for i in keep],
        "label": [scored[i][1] for i in keep],
        "period": [period_label(comments[i].get("timestamp"), period) for i in keep]})
    topic_labels = dict(enumerate(names))
    excluded = Counter(str(scored[i][2]) for i in range(len(comments)) if not is_english(scored[i][2]))
    summary = {"k": k, "silhouette": silhouette, "comments": len(texts), "excluded_non_english": len(comments) - len(keep),
               "excluded_languages": dict(excluded.most_common()),
               "excluded_reason": EXCLUDED_REASON if excluded else None,
               "period": period, "model": model, "embedder": embedder}
    params = {"touchpoint": list(touchpoint or []), "k": k, "max_k": max_k, "period": period, "model": model,
              "embedder": embedder}
    return TopicsResult(_topic_rows(frame, phrases, period, names, ids), params, summary=summary,
                        matrix=_matrix(frame, topic_labels, ids), emerging=_emerging(frame, topic_labels, ids))


@dataclass(frozen=True)
class PainPointsResult(Result):
    """Touchpoint x topic cells ranked by pain = comments x negative share."""

    title: str = "Where customers hurt most"


def pain_points(topic_result: TopicsResult, *, top: int = 20, min_comments: int = 5,
                aspect_cells: Sequence[Mapping[str, Any]] = ()) -> PainPointsResult:
    """The ``top`` most painful touchpoint x topic and touchpoint x aspect cells with at least
    ``min_comments`` comments; ``kind`` says which (aspect cells carry ``aspect``, topic cells ``topic``)."""
    cells = [{"kind": "topic", **dict(c)} for c in topic_result.matrix]
    cells += [{"kind": "aspect", **dict(c)} for c in aspect_cells]
    cells = sorted((c for c in cells if c["n"] >= min_comments), key=lambda c: (-c["pain"], -c["n"]))[:top]
    return PainPointsResult(cells, {"top": top, "min_comments": min_comments, **dict(topic_result.params)})
