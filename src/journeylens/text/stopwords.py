"""Function words ("stopwords") of every language that has a list in stopwords-iso (ADR 0085).

Two uses, both about text a person reads:

* **Telling a short comment's language** when the language identifier is unsure or says English: a comment that
  uses at least :data:`MIN_FOREIGN_WORDS` different function words of one other language — words
  that are *not* English function words too, such as Dutch "ik", "heel", "sinds" — and where they
  make up at least :data:`MIN_FOREIGN_SHARE` of its words is in that language, not English
  ("De app crasht steeds sinds de update." → ``nl``); a comment of at most :data:`SHORT_WORDS`
  words needs one, of the identifier's best guess ("Niet goed" → ``nl``).
* **Topic labels and key phrases**: a phrase whose every word is a function word of one language
  ("de het een", "und die", "of the") names nothing and is never shown.

The lists are stopwords-iso's (58 languages, MIT licence, the ``stopwordsiso`` package): the widest
maintained multilingual collection; NLTK's lists need a corpus download at run time. Its English
list is very wide (1,298 words, "website" and "help" among them), which is right for keeping English
words from counting as foreign, but would reject "the website did not help" as a topic name; so
for English phrases :func:`is_stopword_phrase` uses scikit-learn's English list (318 words, the one
the key phrases already drop).

>>> foreign_function_words("Heel tevreden over de hulp die ik kreeg.")
('nl', ['heel', 'die', 'ik'])
>>> foreign_function_words("Two words that should die this year. Die die die")
(None, [])
>>> is_stopword_phrase("und die"), is_stopword_phrase("of the"), is_stopword_phrase("app logs me out")
(True, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

#: A comment is in another language when it uses at least this many of its function words …
MIN_FOREIGN_WORDS = 2
#: … and they are at least this share of the comment's words.
MIN_FOREIGN_SHARE = 0.2
#: A comment of at most this many words needs only one function word of the identifier's best
#: guess, if that is not English and the word is at least half the comment ("Niet goed").
SHORT_WORDS = 3
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """ISO 639-1 codes that have a stopword list."""
    import stopwordsiso

    return tuple(sorted(stopwordsiso.langs()))


@cache
def stopwords(language: str) -> frozenset[str]:
    """Lower-case function words of ``language`` (empty for a language without a list)."""
    import stopwordsiso

    return frozenset(w.lower() for w in stopwordsiso.stopwords(language)) if language in languages() else frozenset()


@cache
def _foreign_only(language: str) -> frozenset[str]:
    return stopwords(language) - stopwords("en")


@cache
def _any_foreign() -> frozenset[str]:
    return frozenset().union(*(_foreign_only(lang) for lang in languages() if lang != "en"))


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (letters, with inner apostrophes)."""
    return [w.lower() for w in _WORD.findall(text)]


def foreign_function_words(text: str, candidates: Sequence[str] = ()) -> tuple[str | None, list[str]]:
    """The non-English language whose own function words ``text`` uses (see the module docstring)
    and those words in order of appearance, or ``(None, [])``. Only the ``candidates`` (the
    identifier's guesses, best first: on 26,740 English review and tweet sentences this flags none
    of them, while every language's list would flag a few, e.g. Breton's "sort", "bad") are tried;
    none given → every language with a list."""
    tokens = words(text)
    distinct = [t for t in dict.fromkeys(tokens) if t in _any_foreign()]
    if not distinct:  # most English comments stop here
        return None, []
    tried = [lang for lang in dict.fromkeys(candidates) if lang in languages()] if candidates else list(languages())
    best: tuple[str | None, list[str]] = (None, [])
    for language in (lang for lang in tried if lang != "en"):
        found = [t for t in distinct if t in _foreign_only(language)]
        if len(found) > len(best[1]):
            best = (language, found)
    told, found = best
    if len(found) >= MIN_FOREIGN_WORDS and len(found) >= MIN_FOREIGN_SHARE * len(tokens):
        return told, found
    if candidates and len(tokens) <= SHORT_WORDS and candidates[0] != "en":  # "Schlecht", "Heel goed"
        short = [t for t in distinct if t in _foreign_only(candidates[0])]
        if short and 2 * len(short) >= len(tokens):
            return candidates[0], short
    return None, []


def is_stopword_phrase(phrase: str) -> bool:
    """Whether every word of ``phrase`` is a function word of one and the same language (an empty
    phrase counts: it names nothing either)."""
    tokens = words(phrase)
    if not tokens:
        return True
    return any(all(t in words_of for t in tokens) for words_of in _phrase_lists())


@lru_cache(maxsize=1)
def _phrase_lists() -> tuple[frozenset[str], ...]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return (frozenset(ENGLISH_STOP_WORDS), *(stopwords(lang) for lang in languages() if lang != "en"))
