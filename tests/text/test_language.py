"""Language detection marks non-English comments so they are not scored wrongly."""

from __future__ import annotations

from pathlib import Path

import pytest

from journeylens.text.language import detect_language, is_english

UCI = Path(__file__).parents[1] / "data" / "uci_sentiment"


@pytest.mark.parametrize("text,expected", [
    ("Het eten was koud en de bediening was traag", "nl"),
    ("Der Kundenservice war sehr freundlich und hat mir schnell geholfen", "de"),
    ("Le produit est arrivé cassé et personne ne répond", "fr"),
    ("El servicio fue muy lento y la comida estaba fría", "es"),
    ("Il servizio è stato pessimo e il cibo era freddo", "it"),
    ("O atendimento foi muito ruim e a comida estava fria", "pt"),
    ("The delivery was late and nobody called me back", "en"),
    ("Sehr gut", "de"),
])
def test_detects_short_comments(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_english_sentences_are_almost_never_called_foreign() -> None:
    sentences = [line.rpartition("\t")[0] for line in (UCI / "yelp_labelled.txt").read_text(
        encoding="utf-8", errors="replace").splitlines()]
    foreign = [s for s in sentences if not is_english(detect_language(s))]
    assert len(foreign) <= 3, foreign  # of 1,000


def test_unknown_counts_as_english() -> None:
    assert detect_language("Wow!!!") is None
    assert is_english(None) and is_english("en-GB") and not is_english("nl")
