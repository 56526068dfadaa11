"""CX metrics and text analytics commands.

    journeylens metrics --by touchpoint,month [--metric nps --metric csat] [--employee] [--json]
    journeylens metric-changes --by touchpoint [--period month] [--json]      # latest vs previous
    journeylens metric-changes --by channel --period none [--baseline web]    # group vs rest/baseline
    journeylens feedback-links [--window-days 7] [--json]
    journeylens text sentiment [--model minilm-3class|vader|minilm-logreg] [--limit 100] [--json]
    journeylens text topics [--touchpoint T] [--k K] [--json]
    journeylens text pain-points [--top 20] [--json]
    journeylens text aspects [--touchpoint T] [--period month] [--limit 100] [--aspects FILE] [--json]

Every metrics command takes ``--start --end --cohort --channel --stage --touchpoint``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from journeylens.analyses.filters import Filters
from journeylens.errors import JourneyLensError, ParameterError
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx
from journeylens.surfaces.cli.options import (
    BuildOpt,
    ChannelOpt,
    CohortOpt,
    EndOpt,
    JsonOpt,
    SavedCohortsOpt,
    StageOpt,
    StartOpt,
    TouchpointOpt,
)

MetricOpt = Annotated[list[str] | None, typer.Option(
    "--metric", help="nps, csat, ces or a custom metric name; repeat or comma-separate (default nps,csat,ces).")]
MinNOpt = Annotated[int | None, typer.Option("--min-n", help="Minimum answers for a score (default setting, 5).")]
EmployeeOpt = Annotated[bool, typer.Option("--employee", help="Employee answers (eNPS) instead of customers'.")]

text_app = typer.Typer(help="Text analytics on feedback comments: sentiment, aspects, topics, pain points.",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("metrics", help="NPS, CSAT, CES and custom metrics per group, with intervals and targets.")(
        metrics_cmd)
    app.command("metric-changes", help="Tested changes: latest period vs previous, or group vs rest.")(changes_cmd)
    app.command("feedback-links", help="How feedback attaches to journeys; scores per stage and customer.")(
        links_cmd)
    app.add_typer(text_app, name="text")


def _split(values: list[str] | str | None) -> list[str]:
    items = [values] if isinstance(values, str) else (values or [])
    return [part.strip() for item in items for part in item.split(",") if part.strip()]


def built_cohorts(ctx: typer.Context, build: list[str] | None, saved: bool) -> tuple[str, ...]:
    """The ``--build`` cohorts, then (``--saved-cohorts``) those kept in saved views."""
    texts = [t.strip() for t in build or [] if t.strip()]
    if saved:
        from journeylens.operations.annotations import saved_cohorts
        from journeylens.operations.appdb import AppDatabase

        database = AppDatabase(get_ctx(ctx).settings.app_database_url)
        try:
            with database.session() as session:
                texts += [row["cohort"] for row in saved_cohorts(session)]
        finally:
            database.dispose()
    return tuple(dict.fromkeys(texts))


def _run(ctx: typer.Context, as_json: bool, compute: Callable[[Any], Any], render: Callable[[Any], None],
         *, detail: bool = False) -> None:
    try:
        result = compute(get_ctx(ctx).lens())
        payload = result.to_dict(detail=True) if detail else result.to_dict()
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(payload)
    else:
        render(payload)


def metrics_cmd(ctx: typer.Context, by: Annotated[str, typer.Option("--by", help="Groupings, comma-separated: "
                "touchpoint, stage, channel, cohort, survey, a customer attribute, day/week/month/quarter.")]
                = "touchpoint,month", metric: MetricOpt = None, min_n: MinNOpt = None, employee: EmployeeOpt = False,
                start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None, channel: ChannelOpt = None,
                stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                detail: Annotated[bool, typer.Option("--detail", help="Add the secondaries: each metric's target "
                                                     "and status, NPS distribution, CSAT mean, CES easy share.")]
                = False, build: BuildOpt = None, saved_cohorts: SavedCohortsOpt = False, as_json: JsonOpt = False) -> None:
    """JSON: a list of rows {<by keys>, n, <metric>, <metric>_low, <metric>_high, <metric>_n, target_status}
    (``--detail``: also ``<metric>_target`` on the metric's own scale, so CSAT 0.8 = 80 %, …)."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    params: dict[str, Any] = {"respondent": "employee" if employee else "customer"}
    if metric:
        params["metrics"] = _split(metric)
    if min_n is not None:
        params["min_sample_size"] = min_n
    built = built_cohorts(ctx, build, saved_cohorts)
    if built:
        params["built"] = built
    _run(ctx, as_json, lambda lens: lens.metrics(by=_split(by), filters=filters, **params),
         lambda rows: emit_table(rows, title="CX metrics"), detail=detail)


def changes_cmd(ctx: typer.Context, by: Annotated[str, typer.Option("--by", help="Groupings (comma-separated).")]
                = "touchpoint", period: Annotated[str, typer.Option(
                    "--period", help="day, week, month, quarter, or 'none' for group vs rest/baseline.")] = "month",
                baseline: Annotated[str | None, typer.Option("--baseline", help="With --period none: compare "
                                                             "each group to this one instead of the rest.")] = None,
                metric: MetricOpt = None, alpha: Annotated[float, typer.Option("--alpha")] = 0.05,
                min_n: MinNOpt = None, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
                channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                every_period: Annotated[bool, typer.Option("--every-period", help="Compare every period with the "
                                                           "one before it, not only the latest.")] = False,
                include_incomplete: Annotated[bool, typer.Option(
                    "--include-incomplete", help="Also test periods the data does not reach the end of.")] = False,
                build: BuildOpt = None, saved_cohorts: SavedCohortsOpt = False, as_json: JsonOpt = False) -> None:
    """JSON: rows {<by keys>, metric, base, current, change, test, statistic, p, q, significant, ...}."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    params: dict[str, Any] = {"alpha": alpha}
    if metric:
        params["metrics"] = _split(metric)
    if min_n is not None:
        params["min_sample_size"] = min_n
    chosen_period = None if period.lower() == "none" else period
    if every_period and chosen_period is not None:
        params["every_period"] = True
    if include_incomplete and chosen_period is not None:
        params["include_incomplete"] = True
    built = built_cohorts(ctx, build, saved_cohorts)
    if built:
        params["built"] = built
    groups = _split(by)
    if chosen_period is None and len(groups) != 1:
        fail(ParameterError("Group-vs-group comparison (--period none) takes exactly one --by grouping."),
             as_json=as_json)
        return
    _run(ctx, as_json, lambda lens: lens.metric_changes(by=groups, period=chosen_period, baseline=baseline,
                                                        filters=filters, **params),
         lambda rows: emit_table(rows, title="Metric changes (BH-adjusted q)", columns=[
             *groups, *(["base_period"] if chosen_period else []),
             "versus" if chosen_period is None else "current_period", "metric", "base", "current",
             "change", "p", "q", "significant", *(["incomplete"] if chosen_period else [])]))


def links_cmd(ctx: typer.Context, window_days: Annotated[float, typer.Option("--window-days")] = 7.0,
              customers: Annotated[int, typer.Option("--customers", help="Customers listed.")] = 100,
              as_json: JsonOpt = False) -> None:
    """JSON: {summary: {attached_by_touchpoint, attached_by_nearest_event, unattached, total}, stages, customers}."""
    def render(payload: dict[str, Any]) -> None:
        emit_table([payload["summary"]], title="Feedback attachment")
        emit_table(payload["stages"], title="Metrics per stage")
        emit_table(payload["customers"], title="Journey-level score per customer")

    _run(ctx, as_json, lambda lens: lens.feedback_links(window_days=window_days, customer_limit=customers), render)


@text_app.command("sentiment")
def sentiment_cmd(ctx: typer.Context, model: Annotated[str | None, typer.Option(
                  "--model", help="minilm-3class (default) | vader | minilm-logreg")]
                  = None, touchpoint: TouchpointOpt = None,
                  limit: Annotated[int, typer.Option("--limit", help="Comments listed (counts cover all).")] = 100,
                  as_json: JsonOpt = False) -> None:
    """JSON: {model, overall: {n, positive, neutral, negative, not_scored, mean_score, negative_share},
    by_touchpoint: [...], comments: [{response_id, ..., language, score, label, comment}]}."""
    def render(payload: dict[str, Any]) -> None:
        emit_table([payload["overall"]], title=f"Sentiment ({payload['model']})")
        emit_table(payload["by_touchpoint"], title="By touchpoint")

    _run(ctx, as_json, lambda lens: lens.sentiment(model=model, touchpoint=_split(touchpoint) or None,
                                                   comment_limit=limit), render)


@text_app.command("topics")
def topics_cmd(ctx: typer.Context, touchpoint: TouchpointOpt = None,
               k: Annotated[int | None, typer.Option("--k", help="Number of topics (default: by silhouette).")] = None,
               period: Annotated[str, typer.Option("--period")] = "month", as_json: JsonOpt = False) -> None:
    """JSON: {k, silhouette, comments, excluded_non_english, excluded_languages, excluded_reason, period,
    model, topics, matrix, emerging}."""
    def render(payload: dict[str, Any]) -> None:
        emit_table(payload["topics"], title=f"{payload['k']} topics in {payload['comments']} comments",
                   columns=["topic", "label", "size", "share", "avg_sentiment", "negative_share"])
        if payload.get("excluded_languages"):
            counts = ", ".join(f"{lang} {n:,}" for lang, n in payload["excluded_languages"].items())
            console.print(f"Left out {payload['excluded_non_english']:,} comments ({counts}): {payload['excluded_reason']}")
        emit_table(payload["emerging"], title="Emerging topics",
                   columns=["label", "latest_share", "before_share", "growth", "p"])

    _run(ctx, as_json, lambda lens: lens.topics(touchpoint=_split(touchpoint) or None, k=k, period=period), render)


@text_app.command("pain-points")
def pain_points_cmd(ctx: typer.Context, top: Annotated[int, typer.Option("--top")] = 20,
                    k: Annotated[int | None, typer.Option("--k")] = None, as_json: JsonOpt = False) -> None:
    """JSON: [{touchpoint, topic, label, n, negative_share, mean_score, pain}] ranked by pain."""
    _run(ctx, as_json, lambda lens: lens.pain_points(top=top, k=k),
         lambda rows: emit_table(rows, title="Where customers hurt most"))


@text_app.command("aspects")
def aspects_cmd(ctx: typer.Context, touchpoint: TouchpointOpt = None,
                period: Annotated[str, typer.Option("--period", help="day, week, month or quarter.")] = "month",
                limit: Annotated[int, typer.Option("--limit", help="Responses listed (summaries cover all).")] = 100,
                aspects_file: Annotated[str | None, typer.Option("--aspects", help="Your aspects YAML "
                                                                 "(default: settings.text_aspects or the shipped list).")]
                = None, as_json: JsonOpt = False) -> None:
    """JSON: {model, period, comments, with_aspects, not_scored, not_scored_languages, aspect_names,
    aspects: [{aspect, name, mentions, positive, neutral, negative, negative_share, mean_score, trend}],
    matrix: [{touchpoint, aspect, label, n, negative_share, mean_score, pain}],
    responses: [{response_id, ..., aspects, negative_aspects, aspect_<id>, aspect_<id>_score}]}."""
    def render(payload: dict[str, Any]) -> None:
        emit_table(payload["aspects"], title=f"Aspects in {payload['comments']} comments ({payload['model']})",
                   columns=["aspect", "name", "mentions", "positive", "neutral", "negative", "negative_share"])
        emit_table(payload["matrix"][:15], title="Touchpoint x aspect, by pain")

    _run(ctx, as_json, lambda lens: lens.aspects(touchpoint=_split(touchpoint) or None, period=period,
                                                 response_limit=limit, aspects_path=aspects_file), render)
