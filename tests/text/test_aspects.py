"""Aspects: the YAML contract, clause splitting, seed and meaning matching, per-aspect sentiment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from journeylens.errors import ConfigError
from journeylens.text.aspects import (
    AspectMatcher,
    aspect_fields,
    comment_aspects,
    load_aspects,
    parse_aspects,
    seed_aspects,
)
from journeylens.text.clauses import clauses, contrast_tail


class Lexical:
    """A stand-in sentiment model (keyword rules) so the wiring is tested without the sentence model."""

    name = "lexical"

    def score(self, texts: list[str]) -> list[tuple[float, str]]:
        out = []
        for text in texts:
            low = text.lower()
            if any(w in low for w in ("crash", "waited", "rude", "expensive")):
                out.append((-0.8, "neg"))
            elif any(w in low for w in ("lovely", "great", "helpful")):
                out.append((0.8, "pos"))
            else:
                out.append((0.0, "neu"))
        return out


def test_clauses_split_at_contrast_and_commas() -> None:
    assert clauses("The staff were nice but I waited an hour.") == ["The staff were nice", "I waited an hour"]
    assert clauses("Staff lovely, app keeps crashing") == ["Staff lovely", "app keeps crashing"]
    assert clauses("Great. However the fees are too high!") == ["Great", "the fees are too high"]
    assert contrast_tail("Nice app, although it crashes sometimes") == "it crashes sometimes"
    assert clauses("") == [] and contrast_tail("all good") is None


def test_shipped_aspects_and_seed_matching() -> None:
    specs = load_aspects()
    assert [s.id for s in specs] == ["waiting_time", "staff", "price_fees", "app_website", "product", "communication"]
    assert seed_aspects("the app keeps crashing since the update", specs) == {"app_website"}
    assert seed_aspects("I waited in the queue for ages", specs) == {"waiting_time"}
    assert "price_fees" in seed_aspects("way too many fees", specs)
    assert seed_aspects("lovely weather today", specs) == set()


def test_staff_positive_app_negative_in_one_comment() -> None:
    specs = load_aspects()
    found = comment_aspects(["Staff lovely, app keeps crashing"], Lexical(), specs, semantic=False)[0]
    assert found["staff"]["label"] == "pos" and found["app_website"]["label"] == "neg"
    fields = aspect_fields(found, specs)
    assert fields["aspects"] == ["app_website", "staff"] and fields["negative_aspects"] == ["app_website"]
    assert fields["aspect_staff"] == "pos" and fields["aspect_app_website"] == "neg"
    assert fields["aspect_price_fees"] is None and fields["aspect_price_fees_score"] is None
    assert set(fields) == {"aspects", "negative_aspects", *(f"aspect_{s.id}" for s in specs),
                           *(f"aspect_{s.id}_score" for s in specs)}


@pytest.mark.parametrize("payload,message", [
    ({}, "top-level 'aspects:'"),
    ({"aspects": [{"id": "Bad Id", "seeds": ["x"]}]}, "lower-case"),
    ({"aspects": [{"id": "fees", "seeds": []}]}, "seed phrases"),
    ({"aspects": [{"id": "a", "seeds": ["x"]}, {"id": "a", "seeds": ["y"]}]}, "used twice"),
])
def test_bad_aspect_files_say_what_is_allowed(payload: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_aspects(payload)


def test_company_edits_its_own_aspects(tmp_path: Path) -> None:
    path = tmp_path / "aspects.yaml"
    path.write_text("aspects:\n  - {id: parking, name: Parking, seeds: [parking, car park*]}\n", encoding="utf-8")
    specs = load_aspects(str(path))
    assert [s.name for s in specs] == ["Parking"]
    assert seed_aspects("The car parks were full", specs) == {"parking"}
    with pytest.raises(ConfigError, match="Cannot read"):
        load_aspects(str(tmp_path / "missing.yaml"))


def test_meaning_matches_a_clause_without_seed_words() -> None:
    pytest.importorskip("sentence_transformers")
    specs = load_aspects()
    matched = AspectMatcher(specs, semantic=True).match(["the mobile application froze on me", "sunny day"])
    assert "app_website" in matched[0]
    assert matched[1] == set()


def test_plural_of_a_plain_seed_matches() -> None:
    specs = load_aspects()
    assert "product" in seed_aspects("Both phones arrived scratched", specs)  # seed "phone"
    assert "product" not in seed_aspects("He phoned twice", specs)  # a plural, not any ending


def test_word_level_step_finds_aspects_the_clause_step_misses() -> None:
    pytest.importorskip("sentence_transformers")
    specs = load_aspects()
    clauses_ = ["the batteries died within a week", "pricing is a real concern", "terrible evening overall"]
    no_clause_step = 1.1  # cosine can never reach it: only seeds and the word level remain
    words = AspectMatcher(specs, similarity=no_clause_step).match(clauses_)
    without = AspectMatcher(specs, similarity=no_clause_step, words=False).match(clauses_)
    assert "product" in words[0] and "price_fees" in words[1]
    assert words[2] == set()  # sentiment words ("terrible") are never matched to seeds like "rude"
    assert without[0] == set() and without[1] == set()


def test_evaluation_only_sources_are_labelled_and_never_empty() -> None:
    from journeylens.text.corpora import load_evaluation_only

    extra = load_evaluation_only(Path(__file__).parents[1] / "data", per_class=20)
    complaints = extra.labels[extra.sources == "complaints_bpi2016"]
    assert len(complaints) == 70 and set(complaints.tolist()) == {"neg"}
    demo = extra.labels[extra.sources == "demo_templates"]
    assert sorted(set(demo.tolist())) == ["neg", "neu", "pos"] and len(demo) == 60
