"""Sentences and clauses of a comment, for contrast-aware sentiment and per-aspect scoring.

A comment is cut into sentences (``. ! ? ;`` and line breaks), and each sentence into clauses
at contrast words (``but``, ``however``, ``although``, ``though``, ``yet``, ``except``,
``whereas``) and at commas or ``and`` that join two statements. The clause after the last
contrast word usually carries the writer's verdict ("the staff were nice but I waited an hour").

>>> clauses("Staff lovely, app keeps crashing.")
['Staff lovely', 'app keeps crashing']
>>> clauses("The staff were nice but I waited an hour")
['The staff were nice', 'I waited an hour']
>>> contrast_tail("The staff were nice but I waited an hour")
'I waited an hour'
>>> contrast_tail("Great service") is None
True
"""

from __future__ import annotations

import re

CONTRAST_WORDS: tuple[str, ...] = ("but", "however", "although", "though", "yet", "except", "whereas")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+|\n+")
_CONTRAST = re.compile(r"(?:^|,\s*|\s+)\b(?:" + "|".join(CONTRAST_WORDS) + r")\b[,]?\s*", re.IGNORECASE)
_JOIN = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+(?=(?:the|my|your|their|it|i|we|they|you|app|staff)\b)",
                   re.IGNORECASE)
_EDGE = " \t.!?;,:-"


def sentences(text: str) -> list[str]:
    return [s.strip(_EDGE) for s in _SENTENCE.split(text or "") if s.strip(_EDGE)]


def clauses(text: str) -> list[str]:
    """Clauses in reading order (at least one for any non-empty text)."""
    out: list[str] = []
    for sentence in sentences(text):
        for part in _CONTRAST.split(sentence):
            out.extend(p.strip(_EDGE) for p in _JOIN.split(part) if p.strip(_EDGE) and len(p.strip(_EDGE)) > 1)
    return out or ([text.strip()] if text and text.strip() else [])


def contrast_tail(text: str) -> str | None:
    """The text after the last contrast word, or None when there is none (or nothing follows it)."""
    matches = list(_CONTRAST.finditer(text or ""))
    if not matches:
        return None
    tail = text[matches[-1].end():].strip(_EDGE)
    return tail or None
