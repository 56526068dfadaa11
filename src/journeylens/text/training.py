"""Train and evaluate the ``minilm-logreg`` sentiment model on labelled sentences.

Data: the UCI "Sentiment Labelled Sentences" files (``amazon_cells_labelled.txt``,
``imdb_labelled.txt``, ``yelp_labelled.txt``: ``sentence<TAB>0|1``, 1,000 each).

Retrain the shipped weights::

    python -m journeylens.text.training tests/data/uci_sentiment \
        --out src/journeylens/text/models/minilm_logreg.npz

Evaluation (``bench/text_accuracy.py`` prints the table of ``docs/text.md``): train on two
sources and test on the third (leave-one-source-out), and stratified 5-fold CV over all three;
VADER needs no training and is scored on the same test sentences.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from journeylens.text.sentiment import LogRegWeights, label_of

log = logging.getLogger(__name__)

UCI_SOURCES: tuple[str, ...] = ("amazon_cells", "imdb", "yelp")


@dataclass(frozen=True)
class Labelled:
    texts: tuple[str, ...]
    labels: np.ndarray  # 1 = positive, 0 = negative
    sources: tuple[str, ...]


def load_uci(directory: str | Path) -> Labelled:
    """All labelled sentences of the UCI files in ``directory``."""
    texts: list[str] = []
    labels: list[int] = []
    sources: list[str] = []
    for source in UCI_SOURCES:
        path = Path(directory) / f"{source}_labelled.txt"
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            sentence, _, label = line.rpartition("\t")
            if sentence.strip() and label.strip() in ("0", "1"):
                texts.append(sentence.strip())
                labels.append(int(label))
                sources.append(source)
    return Labelled(tuple(texts), np.array(labels), tuple(sources))


def fit_logreg(vectors: np.ndarray, labels: np.ndarray, *, c: float = 2.0, trained_on: str = "") -> LogRegWeights:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=2000).fit(vectors, labels)
    return LogRegWeights(model.coef_[0].astype(np.float64), float(model.intercept_[0]), trained_on)


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    neutral_share: float


def evaluate(truth: np.ndarray, predicted: Sequence[str]) -> Scores:
    """Accuracy and macro-F1 over the true classes (pos, neg); a ``neu`` prediction is a miss."""
    from sklearn.metrics import f1_score

    expected = np.where(truth == 1, "pos", "neg")
    got = np.array(predicted)
    return Scores(float(np.mean(expected == got)),
                  float(f1_score(expected, got, labels=["pos", "neg"], average="macro", zero_division=0)),
                  float(np.mean(got == "neu")))


def _splits(data: Labelled, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    sources = np.array(data.sources)
    out = [(f"train 2 sources → test {s}", np.where(sources != s)[0], np.where(sources == s)[0]) for s in UCI_SOURCES]
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed).split(np.zeros(len(data.labels)), data.labels)
    out += [(f"5-fold CV fold {i + 1}", train, test) for i, (train, test) in enumerate(folds)]
    return out


def accuracy_table(data: Labelled, vectors: np.ndarray, vader: Callable[[Sequence[str]], list[float]],
                   *, seed: int = 0) -> list[dict[str, object]]:
    """Rows: split x model x mapping → accuracy, macro-F1, neutral share, n."""
    compound = np.array(vader(data.texts))
    rows: list[dict[str, object]] = []
    for split, train, test in _splits(data, seed):
        truth = data.labels[test]
        weights = fit_logreg(vectors[train], data.labels[train])
        p_pos = 2 * weights.probability(vectors[test]) - 1
        candidates = {
            ("vader", "binary (compound ≥ 0 → pos)"): ["pos" if c >= 0 else "neg" for c in compound[test]],
            ("vader", "3-way (±0.05, neu = miss)"): [label_of(c, 0.05) for c in compound[test]],
            ("minilm-logreg", "binary (P ≥ 0.5 → pos)"): ["pos" if s >= 0 else "neg" for s in p_pos],
            ("minilm-logreg", "3-way (±0.2, neu = miss)"): [label_of(s, 0.2) for s in p_pos],
        }
        for (model, mapping), predicted in candidates.items():
            scores = evaluate(truth, predicted)
            rows.append({"split": split, "model": model, "mapping": mapping, "n": len(test),
                         "accuracy": scores.accuracy, "macro_f1": scores.macro_f1,
                         "neutral_share": scores.neutral_share})
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Retrain the minilm-logreg sentiment weights.")
    parser.add_argument("data_dir", help="directory with the UCI *_labelled.txt files")
    parser.add_argument("--out", default=str(Path(__file__).parent / "models" / "minilm_logreg.npz"))
    parser.add_argument("--c", type=float, default=2.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)
    from journeylens.text.embeddings import embed

    data = load_uci(args.data_dir)
    weights = fit_logreg(embed(list(data.texts)), data.labels, c=args.c,
                         trained_on=f"UCI sentiment labelled sentences ({len(data.texts)}), C={args.c}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    weights.save(args.out)
    logging.basicConfig(level=logging.INFO)
    log.info("wrote %s (%s)", args.out, weights.trained_on)


if __name__ == "__main__":  # pragma: no cover
    main()
