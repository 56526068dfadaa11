"""Label corrections from the command line (the ``text`` group is defined in metrics_cmd).

    journeylens text correct RESPONSE_ID "comment text" negative|neutral|positive [--aspect ID] [--json]
    journeylens text corrections [--evaluate] [--model minilm-3class] [--json]
    journeylens text fine-tune --out weights.npz [--corpora tests/data] [--json]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from journeylens.errors import JourneyLensError
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces.cli.context import emit_json, emit_table, fail, get_ctx
from journeylens.surfaces.cli.metrics_cmd import text_app
from journeylens.surfaces.cli.options import JsonOpt
from journeylens.text import corrections


def register(app: typer.Typer) -> None:
    """The commands below attach to ``text_app``, which metrics_cmd registers."""


def _with_session(ctx: typer.Context, as_json: bool, work: Callable[[Any], Any]) -> Any:
    database = AppDatabase(get_ctx(ctx).settings.app_database_url)
    try:
        with database.session() as session:
            return work(session)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
    finally:
        database.dispose()


@text_app.command("correct")
def correct_cmd(ctx: typer.Context, response_id: str, comment: str,
                label: Annotated[str, typer.Argument(help="negative, neutral or positive")],
                aspect: Annotated[str, typer.Option("--aspect", help="An aspect id (default: the whole comment).")] = "",
                actor: Annotated[str, typer.Option("--by", help="Who corrects (for the record).")] = "cli",
                as_json: JsonOpt = False) -> None:
    """Store a person's sentiment label for one comment. JSON: the stored correction."""
    row = _with_session(ctx, as_json, lambda s: corrections.add_correction(
        s, response_id=response_id, comment=comment, label=label, aspect=aspect, actor=actor))
    emit_json(row) if as_json else typer.echo(f"Stored: {row['response_id']} → {row['label']}")


@text_app.command("corrections")
def corrections_cmd(ctx: typer.Context,
                    evaluate: Annotated[bool, typer.Option("--evaluate", help="Score a model on them.")] = False,
                    model: Annotated[str | None, typer.Option("--model")] = None, as_json: JsonOpt = False) -> None:
    """JSON: the newest correction per response, or with --evaluate {model, n, accuracy, macro_f1, f1}."""
    from journeylens.text.sentiment import get_model

    rows = _with_session(ctx, as_json, corrections.latest_corrections)
    if not evaluate:
        emit_json(rows) if as_json else emit_table(rows, title="Label corrections",
                                                   columns=["response_id", "label", "previous_label", "comment"])
        return
    try:
        result = corrections.evaluate(rows, get_model(model))
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
    emit_json(result) if as_json else emit_table([{k: v for k, v in result.items() if k != "f1"}],
                                                 title="Model on the corrected comments")


@text_app.command("fine-tune")
def fine_tune_cmd(ctx: typer.Context,
                  out: Annotated[str, typer.Option("--out", help="Where to write the new weights (.npz).")],
                  corpora: Annotated[str | None, typer.Option(
                      "--corpora", help="Optional: retrain from scratch on this directory's public corpora "
                                        "(vader_ground_truth/, uci_sentiment/) plus the corrections.")] = None,
                  as_json: JsonOpt = False) -> None:
    """Fine-tune the three-class weights on the stored corrections (the current weights are the
    prior), or with --corpora retrain on the public corpora plus the corrections. Use them with
    JOURNEYLENS_TEXT_SENTIMENT_WEIGHTS=OUT. JSON: {out, method, corrections, public, trained_on}."""
    from journeylens.text.cache import EmbeddingCache
    from journeylens.text.embeddings import MODEL_NAME

    rows = _with_session(ctx, as_json, corrections.latest_corrections)
    try:
        result = corrections.fine_tune(rows, corpora, out,
                                       embed_cache=EmbeddingCache(get_ctx(ctx).settings.cache_dir, MODEL_NAME))
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
    emit_json(result) if as_json else typer.echo(f"Wrote {result['out']} ({result['trained_on']}).")
