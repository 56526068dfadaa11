"""Transitions, variants and funnels on the ``journey`` command group.

    journeylens journey transitions [--level touchpoint|stage] [--min-share 0.01] [--by app_version] [--json]
    journeylens journey variants --top 20 [--level stage] [--collapse-repeats] [--outcome conversion] [--json]
    journeylens journey funnel --steps visit,cart,buy [--mode ordered|strict|any] [--within-days 7]
                               [--exclude support_call] [--by channel] [--json]
    journeylens journey funnel-vs-map --steps visit,cart,buy [--mode …] [--json]   # the map's customers, split

Every command also takes the common filters ``--start --end --cohort --channel --stage
--touchpoint`` (lists comma-separated). ``--json`` prints exactly the HTTP API's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from journeylens.analyses.filters import Filters
from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import emit_json, emit_table, fail, get_ctx
from journeylens.surfaces.cli.journey_cmd import journey_app
from journeylens.surfaces.cli.options import (
    ChannelOpt,
    CohortOpt,
    EndOpt,
    JsonOpt,
    StageOpt,
    StartOpt,
    TouchpointOpt,
)

LevelOpt = Annotated[str, typer.Option("--level", help="Nodes: touchpoint or stage.")]
StepsOpt = Annotated[str, typer.Option("--steps", help="Steps in order, comma-separated.")]
ModeOpt = Annotated[str, typer.Option("--mode", help="ordered, strict or any.")]
WithinOpt = Annotated[float | None, typer.Option("--within-days", help="Conversion window from the first step, in days.")]
ExcludeOpt = Annotated[str | None, typer.Option("--exclude", help="Drop customers with these events between their steps.")]


def register(app: typer.Typer) -> None:
    """The commands live on ``journey_app`` (added when this module is imported)."""


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _run(ctx: typer.Context, as_json: bool, compute: Callable[[Any], Any], render: Callable[[Any], None]) -> None:
    try:
        result = compute(get_ctx(ctx).lens())
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
    else:
        render(result)


@journey_app.command("transitions")
def transitions_cmd(ctx: typer.Context, level: LevelOpt = "touchpoint",
                    min_share: Annotated[float, typer.Option(
                        "--min-share", help="Drop edges below this share of all transitions (0-1).")] = 0.0,
                    start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
                    channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                    by: Annotated[str | None, typer.Option(
                        "--by", help="Split every move by a property as of its source event (an event property "
                                     "such as app_version, a customer attribute, channel …); top 10 + other.")] = None,
                    as_json: JsonOpt = False) -> None:
    """The directly-follows graph: count, customers and time of every A → B move."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    params: dict[str, Any] = {"by": by} if by else {}
    _run(ctx, as_json, lambda lens: lens.transitions(filters=filters, level=level, min_share=min_share, **params),
         lambda result: emit_table(result.to_dict(), title=result.title))


@journey_app.command("variants")
def variants_cmd(ctx: typer.Context,
                 top: Annotated[int, typer.Option("--top", help="How many variants (most common first).")] = 20,
                 level: LevelOpt = "touchpoint",
                 collapse_repeats: Annotated[bool, typer.Option(
                     "--collapse-repeats", help="Count A, A, B as A, B.")] = False,
                 outcome: Annotated[str | None, typer.Option(
                     "--outcome", help="Add outcome_rate for the definition's conversion or churn outcomes.")] = None,
                 start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
                 channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                 as_json: JsonOpt = False) -> None:
    """The most common whole paths, with their share and median duration."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    _run(ctx, as_json,
         lambda lens: lens.variants(filters=filters, top=top, level=level, collapse_repeats=collapse_repeats,
                                    outcome=outcome),
         lambda result: emit_table(result.to_dict(), title=result.title))


@journey_app.command("funnel")
def funnel_cmd(ctx: typer.Context, steps: StepsOpt, mode: ModeOpt = "ordered", within_days: WithinOpt = None,
               exclude: ExcludeOpt = None,
               by: Annotated[str | None, typer.Option(
                   "--by", help="Break down by this journey_events column (value on the first event).")] = None,
               level: LevelOpt = "touchpoint",
               start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
               channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
               as_json: JsonOpt = False) -> None:
    """Customers reaching each step, conversion and median time between steps."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    _run(ctx, as_json,
         lambda lens: lens.funnel(_split(steps), filters=filters, mode=mode, within_days=within_days,
                                  exclude=_split(exclude), breakdown_col=by, level=level),
         _render_funnel)


@journey_app.command("funnel-vs-map")
def funnel_vs_map_cmd(ctx: typer.Context, steps: StepsOpt, mode: ModeOpt = "ordered", within_days: WithinOpt = None,
                      exclude: ExcludeOpt = None, level: LevelOpt = "touchpoint",
                      start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
                      channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                      as_json: JsonOpt = False) -> None:
    """Reconcile the funnel with the journey map: at each step, the map's customers split into
    reached / never did step 1 / stopped earlier / did it only before the previous step (they add up)."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    _run(ctx, as_json,
         lambda lens: lens.funnel_vs_map(_split(steps), filters=filters, mode=mode, within_days=within_days,
                                         exclude=_split(exclude), level=level),
         lambda result: emit_table(result.to_dict(), title=result.title))


def _render_funnel(result: Any) -> None:
    payload = result.to_dict()
    if isinstance(payload, list):
        emit_table(payload, title=result.title)
        return
    emit_table(payload["groups"], title=result.title)
    test = payload["test"]
    emit_table(test["pairs"], title=f"Final conversion: chi-square p = {test['p_value']} "
                                    f"({'significant' if test['significant'] else 'not significant'})")
