"""Aspect detection measured on hand-labelled real sentences: precision / recall per aspect.

    .venv/bin/python bench/text_aspects.py [--data tests/data/aspects_labelled/uci_aspects_sample.tsv]

Data: 200 sentences drawn at random (seed 15) from the UCI Yelp (restaurant) and Amazon (phones
and accessories) review sentences (CC BY 4.0), labelled by hand for the six shipped aspects and
each aspect's polarity *before* the detector was run on them (tests/data/README.md says how).
No public aspect-labelled customer-feedback set ships in a package this machine can reach, so
this sample is small; its per-aspect counts are printed next to every figure.

Held-out check: ``--data tests/data/aspects_labelled/uci_aspects_heldout.tsv`` (100 further
sentences labelled in session 4 before the word-level step was run on them).

Rows: each detector (seed phrases only; seeds + clause similarity, session 3; seeds + word-level
similarity + clause similarity, the default since session 4, ADR 0092) x
aspect → labelled mentions, detected, precision, recall, F1; then, on the mentions found by
both the labeller and the detector, how often the aspect's sentiment label is right.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from journeylens.text.aspects import comment_aspects, load_aspects
from journeylens.text.sentiment import get_model

DEFAULT = Path(__file__).parents[1] / "tests" / "data" / "aspects_labelled" / "uci_aspects_sample.tsv"


def read_labels(path: Path) -> list[tuple[str, dict[str, str]]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        _source, tags, text = line.split("\t", 2)
        gold = dict(tag.split(":") for tag in tags.split(";") if tag)
        rows.append((text, gold))
    return rows


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.2f}" if den else "—"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DEFAULT))
    args = parser.parse_args()
    rows = read_labels(Path(args.data))
    specs = load_aspects()
    model = get_model()
    texts = [t for t, _ in rows]
    print(f"{len(rows)} hand-labelled sentences, {sum(len(g) for _, g in rows)} aspect mentions; "
          f"sentiment model {model.name}")
    print("\n| detector | aspect | labelled | detected | precision | recall | F1 | aspect label right |")
    print("|---|---|---|---|---|---|---|---|")
    detectors = (("seed phrases", False, False), ("seeds + clause similarity (session 3)", True, False),
                 ("seeds + words + clause similarity (default)", True, True))
    for detector, semantic, words in detectors:
        found = comment_aspects(texts, model, specs, semantic=semantic, words=words)
        for spec in [*specs, None]:
            ids = [s.id for s in specs] if spec is None else [spec.id]
            tp = sum(1 for (_, gold), got in zip(rows, found, strict=True) for a in ids if a in gold and a in got)
            labelled = sum(1 for _, gold in rows for a in ids if a in gold)
            detected = sum(1 for got in found for a in ids if a in got)
            right = sum(1 for (_, gold), got in zip(rows, found, strict=True) for a in ids
                        if a in gold and a in got and got[a]["label"] == gold[a])
            precision, recall = _ratio(tp, detected), _ratio(tp, labelled)
            f1 = _ratio(2 * tp, labelled + detected)
            name = "all (micro)" if spec is None else spec.id
            print(f"| {detector} | {name} | {labelled} | {detected} | {precision} | {recall} | {f1} | "
                  f"{_ratio(right, tp)} of {tp} |")


if __name__ == "__main__":
    main()
