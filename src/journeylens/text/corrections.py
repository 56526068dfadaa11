"""Label corrections: a person says what a comment's sentiment really is (app DB ``text_corrections``).

The touchpoint page, ``POST /v1/text/corrections`` and ``journeylens text correct`` store one
row per correction (the latest per response and aspect wins). Corrections are used to
*evaluate* the current model (``evaluate``: macro-F1 of the model on the corrected comments)
and, on request, to *fine-tune* it (``fine_tune``: retrain the three-class weights on the public
corpora plus the corrections, each correction counted :data:`CORRECTION_WEIGHT` times).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from journeylens.errors import EmptyDataError, ParameterError
from journeylens.operations.models import Base, utcnow
from journeylens.text.corpora import CLASSES

CORRECTION_WEIGHT = 3
LABEL_WORDS = {"negative": "neg", "neutral": "neu", "positive": "pos", "neg": "neg", "neu": "neu", "pos": "pos"}


class TextCorrection(Base):
    """A person's label for one comment (or for one aspect of it)."""

    __tablename__ = "text_corrections"
    __table_args__ = (Index("ix_text_corrections_response_id", "response_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str] = mapped_column(String(200))
    aspect: Mapped[str] = mapped_column(String(64), default="")  # "" = the whole comment
    comment: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(8))
    previous_label: Mapped[str] = mapped_column(String(16), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    corrected_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def normalise_label(label: str) -> str:
    value = LABEL_WORDS.get(str(label).strip().lower())
    if value is None:
        raise ParameterError(f"Unknown sentiment label {label!r}; allowed: negative, neutral, positive.",
                             details={"label": label, "allowed": ["negative", "neutral", "positive"]})
    return value


def add_correction(session: Session, *, response_id: str, comment: str, label: str, actor: str,
                   aspect: str = "", previous_label: str = "", model: str = "") -> dict[str, Any]:
    if not str(response_id).strip() or not str(comment).strip():
        raise ParameterError("A correction needs the response_id and the comment text.")
    row = TextCorrection(response_id=str(response_id), aspect=aspect or "", comment=comment,
                         label=normalise_label(label), previous_label=previous_label or "", model=model or "",
                         corrected_by=actor)
    session.add(row)
    session.flush()
    return as_dict(row)


def as_dict(row: TextCorrection) -> dict[str, Any]:
    return {"id": row.id, "response_id": row.response_id, "aspect": row.aspect or None, "comment": row.comment,
            "label": row.label, "previous_label": row.previous_label or None, "model": row.model or None,
            "corrected_by": row.corrected_by, "created_at": row.created_at.isoformat() if row.created_at else None}


def latest_corrections(session: Session, *, aspect: str | None = "") -> list[dict[str, Any]]:
    """The newest correction per (response, aspect); ``aspect=""`` → whole-comment labels only,
    None → all."""
    query = select(TextCorrection).order_by(TextCorrection.id)
    if aspect is not None:
        query = query.where(TextCorrection.aspect == aspect)
    latest: dict[tuple[str, str], TextCorrection] = {}
    for row in session.scalars(query):
        latest[(row.response_id, row.aspect)] = row
    return [as_dict(r) for r in latest.values()]


def evaluate(corrections: Sequence[dict[str, Any]], model: Any) -> dict[str, Any]:
    """How the model does on the corrected comments: n, accuracy, macro-F1, F1 per class."""
    from journeylens.text.evaluation import scores

    if not corrections:
        raise EmptyDataError("No corrections yet: correct a few comment labels first.")
    truth = [c["label"] for c in corrections]
    predicted = [label for _, label in model.score([c["comment"] for c in corrections])]
    s = scores(truth, predicted)
    return {"model": model.name, "n": s.n, "accuracy": s.accuracy, "macro_f1": s.macro_f1, "f1": s.f1}


def fine_tune(corrections: Sequence[dict[str, Any]], corpora_dir: str | Path, out: str | Path, *,
              embed_cache: Any = None) -> dict[str, Any]:
    """Retrain the three-class weights on the public corpora plus the corrections; write ``out``."""
    from journeylens.text.corpora import load_corpora
    from journeylens.text.evaluation import balanced_sample, fit_three_class
    from journeylens.text.threeclass import features

    if not corrections:
        raise EmptyDataError("No corrections yet: nothing to fine-tune on.")
    corpus = balanced_sample(load_corpora(corpora_dir))
    if not len(corpus):
        raise EmptyDataError(f"No labelled corpora under {corpora_dir} (expected vader_ground_truth/, uci_sentiment/).")
    texts = list(corpus.texts) + [c["comment"] for c in corrections] * CORRECTION_WEIGHT
    labels = np.concatenate([corpus.labels, np.array([c["label"] for c in corrections] * CORRECTION_WEIGHT)])
    if not set(labels) >= set(CLASSES):
        raise EmptyDataError("The training data must contain all three classes.")
    weights = fit_three_class(features(texts, embed_cache=embed_cache), labels,
                              trained_on=f"{len(corpus)} public sentences + {len(corrections)} corrections "
                                         f"(x{CORRECTION_WEIGHT})")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    weights.save(out)
    return {"out": str(out), "corrections": len(corrections), "public": len(corpus), "trained_on": weights.trained_on}
