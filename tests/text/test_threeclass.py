"""The default three-class sentiment model: real neutral class, negation, contrast, calibration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from journeylens.text.corpora import CLASSES, label_from_mean, load_corpora
from journeylens.text.evaluation import fit_three_class, scores, tune_vader_band, vader_labels
from journeylens.text.sentiment import default_model, get_model
from journeylens.text.threeclass import LEXICON_FEATURES, ThreeClassWeights, shipped_weights

DATA = Path(__file__).parents[1] / "data"
pytest.importorskip("sentence_transformers")


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return get_model("minilm-3class")


def test_it_is_the_default_and_probabilities_are_a_distribution(model) -> None:  # type: ignore[no-untyped-def]
    assert default_model() == "minilm-3class"
    probs = model.probabilities(["Great service", "I called on Monday", "Terrible"])
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0)
    (score, label), = model.score(["Great service"])
    assert label == "pos" and score == pytest.approx(probs[0, 2] - probs[0, 0])


@pytest.mark.parametrize("text,allowed", [
    ("I almost gave up!", {"neg"}),
    ("Could be better.", {"neg", "neu"}),
    ("The staff were nice but I waited an hour", {"neg"}),
    ("It took a while, but the staff sorted everything out and were lovely", {"pos"}),
    ("The app is not bad at all", {"pos", "neu"}),
    ("Not happy with the service", {"neg"}),
    ("I changed my address on Tuesday.", {"neu"}),
    ("Brilliant, quick and friendly", {"pos"}),
])
def test_negation_contrast_and_neutral(model, text: str, allowed: set[str]) -> None:  # type: ignore[no-untyped-def]
    (_, label), = model.score([text])
    assert label in allowed, (text, label)


def test_the_shipped_weights_are_small_and_say_what_they_were_trained_on() -> None:
    weights = shipped_weights()
    # The shipped default is still session 2's model (ADR 0070): raw embeddings + the first 7 cues.
    assert weights.projection is None and weights.coef.shape == (3, 2 * 384 + 7) and len(LEXICON_FEATURES) == 18
    assert 0.3 <= weights.temperature <= 3.0
    assert "vader_tweets" in weights.trained_on and "uci_yelp" in weights.trained_on
    assert (Path(__file__).parents[2] / "src/journeylens/text/models/sentiment_3class.npz").stat().st_size < 50_000


def test_corpora_have_a_real_neutral_class() -> None:
    corpus = load_corpora(DATA)
    tweets = corpus.labels[corpus.sources == "vader_tweets"]
    assert set(tweets) == set(CLASSES) and (tweets == "neu").mean() > 0.1
    assert set(corpus.labels[corpus.sources == "uci_yelp"]) == {"neg", "pos"}
    assert [label_from_mean(v) for v in (-0.5, -0.49, 0.49, 0.5)] == ["neg", "neu", "neu", "pos"]


def test_fit_and_scores_on_separable_data() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 3
    y = np.array(CLASSES * 100)
    x = centres[np.searchsorted(np.array(CLASSES), y)] + rng.normal(size=(300, 3))
    weights = fit_three_class(x, y)
    assert isinstance(weights, ThreeClassWeights)
    predicted = [CLASSES[i] for i in weights.probabilities(x).argmax(axis=1)]
    s = scores(list(y), predicted, weights.probabilities(x))
    assert s.macro_f1 > 0.8 and s.ece is not None and s.ece < 0.1
    two_class = scores(["pos", "neg"], ["pos", "neu"])
    assert two_class.f1["neu"] is None and two_class.macro_f1 == pytest.approx(0.5)


def test_vader_band_is_tuned_on_the_data_given() -> None:
    compound = np.array([0.9, 0.3, -0.3, -0.9, 0.1, -0.1])
    truth = np.array(["pos", "neu", "neu", "neg", "neu", "neu"])
    band = tune_vader_band(compound, truth)
    assert 0.3 < band <= 0.8
    assert vader_labels(compound, band) == list(truth)


def test_crowdflower_tweets_are_split_by_topic_and_the_airline_ones_never_train(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from journeylens.text import corpora

    csv_file = tmp_path / "aggregated.csv"
    csv_file.write_text(
        "sentiment,confidence,text\n"
        "negative,1.0,@united lost my bag http://t.co/x again\n"
        "neutral,0.7,@JetBlue what time is the flight to Boston?\n"
        "positive,,Love my new iPhone\n"
        "neutral,1.0,Google's self-driving car was on my street\n"
        "negative,0.6,Worst halftime show ever\n"
        "negative,0.6,Worst halftime  show ever\n"  # a duplicate once whitespace is normalised
        "angry,1.0,not a label we know\n", encoding="utf-8")
    monkeypatch.setattr(corpora, "_crowdflower_path", lambda: csv_file)
    rows = corpora.load_crowdflower()
    assert [(label, source) for _, label, source in rows] == [
        ("neg", "crowdflower_airline"), ("neu", "crowdflower_airline"), ("pos", "crowdflower_apple"),
        ("neu", "crowdflower_selfdriving"), ("neg", "crowdflower_other")]
    assert rows[0][0] == "@user lost my bag http again"
    trained = corpora.load_corpora(DATA, crowdflower=True)
    assert "crowdflower_airline" not in set(trained.sources)
    assert {"crowdflower_apple", "crowdflower_other"} <= set(trained.sources)
    assert "crowdflower_apple" not in set(corpora.load_corpora(DATA).sources)
    held_out = corpora.load_evaluation_only(DATA, per_class=5, crowdflower=True)
    assert sorted(held_out.labels[held_out.sources == "crowdflower_airline"].tolist()) == ["neg", "neu"]
