"""Sentiment models, the registry and comment scoring (non-English → not_scored)."""

from __future__ import annotations

import numpy as np
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from journeylens.errors import ParameterError
from journeylens.text.sentiment import (
    LogRegWeights,
    MiniLMLogRegModel,
    SentimentModel,
    get_model,
    register_model,
    score_texts,
    shipped_weights,
)


def test_vader_matches_the_reference_and_thresholds() -> None:
    texts = ["The staff were wonderful", "Worst support ever", "I called on Monday", "ok"]
    reference = SentimentIntensityAnalyzer()
    scored = get_model("vader").score(texts)
    for text, (score, label) in zip(texts, scored, strict=True):
        compound = reference.polarity_scores(text)["compound"]
        assert score == compound
        assert label == ("pos" if compound >= 0.05 else "neg" if compound <= -0.05 else "neu")
    assert [label for _, label in scored][:3] == ["pos", "neg", "neu"]


def test_non_english_is_not_scored_and_given_language_wins() -> None:
    out = score_texts(["Das Essen war leider kalt und nicht gut", "Great food", "Great food", None],
                      [None, None, "fr", None])
    assert out[0] == (None, "not_scored", "de")
    assert out[1][1] == "pos"
    assert out[2] == (None, "not_scored", "fr")
    assert out[3][1] == "not_scored"


def test_registry_accepts_plugins_and_rejects_unknown_names() -> None:
    class Constant:
        name = "constant"

        def score(self, texts: list[str]) -> list[tuple[float, str]]:
            return [(0.0, "neu") for _ in texts]

    register_model("constant", Constant)
    assert isinstance(get_model("constant"), SentimentModel)
    assert score_texts(["fine"], model="constant") == [(0.0, "neu", None)]
    with pytest.raises(ParameterError, match=r"available: .*vader"):
        get_model("nope")


def test_shipped_logreg_weights_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    weights = shipped_weights()
    assert weights.coef.shape == (384,) and "UCI" in weights.trained_on
    weights.save(tmp_path / "w.npz")
    again = LogRegWeights.load(tmp_path / "w.npz")
    vectors = np.random.default_rng(0).normal(size=(3, 384))
    assert np.allclose(again.probability(vectors), weights.probability(vectors), atol=1e-5)


@pytest.mark.slow
def test_minilm_logreg_labels_clear_sentences() -> None:
    model = MiniLMLogRegModel()
    labels = [label for _, label in model.score(["I absolutely love this phone, it works perfectly",
                                                 "Terrible. It broke after two days and support ignored me"])]
    assert labels == ["pos", "neg"]


def test_not_scored_comments_say_why() -> None:
    from journeylens.text.language import not_scored_reason

    assert not_scored_reason("Great service", "en") is None
    assert not_scored_reason("Great service", None) is None  # unknown is scored as English
    reason = not_scored_reason("Die App stürzt ständig ab", "de-DE")
    assert reason is not None and "'de'" in reason and "English only" in reason
    assert not_scored_reason("   ", None) == "empty comment"
