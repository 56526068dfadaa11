"""The original dependency-free stopword-profile language guesser, kept only as the baseline in
``bench/text_language.py`` (JourneyLens detects languages with lingua: see language.py, ADR 0046).

Each of English, Dutch, German, French, Spanish, Italian and Portuguese has a profile of
its most frequent function words plus a few letters only it uses; a comment gets the
language whose profile it hits most. Comments with no evidence get ``None`` (unknown) and
are treated as English by the sentiment models, since most short English comments
("Great phone!") carry no function words. Ties go to English.

>>> detect_language("The delivery was late and nobody called me back")
'en'
>>> detect_language("Die Lieferung war viel zu spät und niemand hat mich angerufen")
'de'
>>> detect_language("La livraison était en retard et personne ne m'a rappelé")
'fr'
>>> detect_language("Top!") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable

SUPPORTED: tuple[str, ...] = ("en", "nl", "de", "fr", "es", "it", "pt")

_WORDS: dict[str, str] = {
    "en": "the and is was it to of that this with for not but you have are they very be at on my "
          "i me we our were would could will just so too no what all there been had has from an a as "
          "in its it's i'm don't didn't won't can't like really",
    "nl": "de het een en is niet van ik dat die zijn was met voor op maar ook als heb hebben geen "
          "wel nog er naar bij mijn je jullie werd erg heel zeer om dan goed slecht",
    "de": "der die das und ist nicht ein eine ich zu mit sich auf für war es den dem des von wir "
          "sehr aber auch noch nur wurde haben hat mich mir kein keine zum zur gut schlecht",
    "fr": "le la les et est une un des pas je que qui du pour dans ce cette il elle avec sur mais très "
          "était été nous vous ne au aux ont sont mon ma mes bien mauvais nul",
    "es": "el la los las y es una un que del por para con no muy pero lo se su al fue está están "
          "como más mi yo nos sin ha han bueno buena malo mala",
    "it": "il lo la gli le e è una un che di per con non molto ma sono era stato del della nel "
          "questo questa mi ho ha hanno anche più come buono buona cattivo",
    "pt": "o a os as e é um uma que do da dos das para com não muito mas foi está são meu minha "
          "eu nos em no na ao pelo pela também bom boa ruim",
}
_PROFILES: dict[str, frozenset[str]] = {lang: frozenset(words.split()) for lang, words in _WORDS.items()}
_LETTERS: dict[str, str] = {"de": "äöüß", "fr": "èêçœ", "es": "ñ¿¡", "pt": "ãõ", "it": "ì", "nl": "ĳ"}
_TOKEN = re.compile(r"[a-zàáâãäåçèéêëìíîïñòóôõöùúûüßœĳ']+")


def language_scores(text: str) -> dict[str, float]:
    """Evidence per language: function-word hits, plus 1.5 per language-specific letter (capped at 3)."""
    lowered = text.lower()
    tokens = [t.strip("'") for t in _TOKEN.findall(lowered)]
    scores = {lang: float(sum(t in profile for t in tokens)) for lang, profile in _PROFILES.items()}
    for lang, letters in _LETTERS.items():
        scores[lang] += min(3.0, 1.5 * sum(lowered.count(ch) for ch in letters))
    return scores


def detect_language(text: str | None, *, min_evidence: float = 1.0) -> str | None:
    """ISO 639-1 code of the most likely language, or ``None`` when there is too little evidence."""
    if not text or not text.strip():
        return None
    scores = language_scores(text)
    best = max(SUPPORTED, key=lambda lang: (scores[lang], lang == "en"))
    # A foreign label silences the sentiment score, so it needs more evidence than English.
    if best != "en" and (scores[best] < max(2.0, min_evidence) or scores[best] - scores["en"] < 1.5):
        best = "en"
    return best if scores[best] >= min_evidence else None


def detect_languages(texts: Iterable[str | None]) -> list[str | None]:
    return [detect_language(t) for t in texts]


def is_english(language: str | None) -> bool:
    """Unknown counts as English (see the module docstring)."""
    return language is None or language.lower().split("-")[0].split("_")[0] in ("en", "und", "")
