"""Journey map, channels, conformance, retention, cohorts and one customer's timeline.

    journeylens journey map [--by smb,blended] [--json]      # stages x touchpoints
    journeylens journey channels [--json]                     # channel hopping
    journeylens journey conformance [--recontact-days 7] [--json]
    journeylens journey retention [--period week|month] [--periods 12] [--json]
    journeylens journey time-to-stage [--from-stage A --to-stage B] [--json]
    journeylens cohorts [--build 'segment=business; channels=blended'] [--json]   # every cohort and its size
    journeylens customer ID [--json]                          # one customer's whole history

Every analysis command takes the common filters ``--start --end --cohort --channel --stage
--touchpoint`` (lists comma-separated) and ``--by COHORT,COHORT`` to run side by side per
cohort with significance tests (the ``/v1/cohorts/compare`` shape).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from journeylens.analyses.filters import Filters
from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx
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

ByOpt = Annotated[str | None, typer.Option("--by", help="Cohorts to compare side by side (comma-separated, 2+).")]


def register(app: typer.Typer) -> None:
    """``journey map|channels|conformance|retention|time-to-stage`` live on ``journey_app``
    (added at import); ``cohorts`` is a top-level command and ``customer ID`` (``customer show ID``)
    the timeline of one customer."""
    app.command("cohorts", help="Every cohort (built-in channel cohorts and the definition's rules) and its size.")(
        cohorts_cmd)
    # ``journeylens customer ID`` lives in the ``customer`` group beside ``customer forget ID``
    # (see journeylens.surfaces.cli.customer_cmd): a first word that is not a subcommand is an id.
    from journeylens.surfaces.cli.customer_cmd import customer_app

    customer_app.command("show", help="One customer's whole history: events, feedback, attributes, outcomes.")(
        customer_cmd)


def _run(ctx: typer.Context, as_json: bool, by: str | None, analysis: str, filters: Filters,
         compute: Callable[[Any, Filters], Any], render: Callable[[Any], None], **params: Any) -> None:
    try:
        lens = get_ctx(ctx).lens()
        if by:
            cohorts = [c.strip() for c in by.split(",") if c.strip()]
            result = lens.compare_cohorts(analysis, cohorts, filters=filters, **params)
        else:
            result = compute(lens, filters)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
    elif by:
        _render_comparison(result)
    else:
        render(result)


def _render_comparison(result: Any) -> None:
    data = result.to_dict()
    emit_table([{k: c[k] for k in ("cohort", "customers", "converted", "churned")} for c in data["cohorts"]],
               title=f"{data['analysis']} by cohort")
    emit_table(data["tests"], title=f"Differences from {data['baseline']} (BH-adjusted)",
               columns=["metric", "cohort", "share", "baseline_share", "difference", "p_value", "p_adjusted",
                        "significant"])


@journey_app.command("map")
def map_cmd(ctx: typer.Context, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
            channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
            by: ByOpt = None, as_json: JsonOpt = False) -> None:
    """The journey map: per stage and touchpoint, reach, drop-off, conversion, time, channel mix."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)

    def render(result: Any) -> None:
        data = result.to_dict()
        emit_table(data["stages"], title=f"Journey map ({data['customers']} customers)",
                   columns=["stage", "customers", "share", "events", "median_seconds_in_stage", "drop_off",
                            "churn_share", "conversion_to_next"])
        emit_table([{"stage": s["stage"], **tp} for s in data["stages"] for tp in s["touchpoints"]],
                   title="Touchpoints", columns=["stage", "touchpoint", "channel", "owner", "customers", "share",
                                                 "events", "drop_off", "churn_share"])

    _run(ctx, as_json, by, "journey_map", filters, lambda lens, f: lens.journey_map(filters=f), render)


@journey_app.command("channels")
def channels_cmd(ctx: typer.Context, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
                 channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
                 by: ByOpt = None, as_json: JsonOpt = False) -> None:
    """Channel hopping: switch matrix, multi-channel share, hops per journey, online/offline switches."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)

    def render(result: Any) -> None:
        data = result.to_dict()
        summary = {k: v for k, v in data.items() if not isinstance(v, list | dict)}
        emit_table([summary], title="Channel hopping")
        emit_table(data["matrix"], title="Consecutive events, channel to channel")

    _run(ctx, as_json, by, "channels", filters, lambda lens, f: lens.channels(filters=f), render)


@journey_app.command("conformance")
def conformance_cmd(
    ctx: typer.Context, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
    channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None, by: ByOpt = None,
    repeat_window_days: Annotated[float, typer.Option(help="Same touchpoint again within this = repeat.")] = 1.0,
    recontact_days: Annotated[float, typer.Option(help="Contact again within this = re-contact.")] = 7.0,
    contact: Annotated[str | None, typer.Option(help="Contact touchpoints (default: contact channels).")] = None,
    min_transitions: Annotated[int, typer.Option(help="Least transitions for a long-wait threshold.")] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Designed vs actual: stage-order conformance, skipped stages, backward moves, friction."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    params = {"repeat_window_days": repeat_window_days, "recontact_days": recontact_days,
              "min_transitions": min_transitions,
              "contact_touchpoints": [c.strip() for c in contact.split(",")] if contact else None}

    def render(result: Any) -> None:
        data = result.to_dict()
        console.print(f"{data['following_customers']} of {data['customers']} customers follow the stage order "
                      f"({_pct(data['following_share'])}); {data['skipping_customers']} skip a stage.")
        emit_table(data["backward_moves"], title="Backward moves")
        emit_table(data["skipped_stages"], title="Skipped stages")
        emit_table(data["friction"], title="Friction signals",
                   columns=["signal", "touchpoint", "from_touchpoint", "customers", "share", "occurrences"])

    _run(ctx, as_json, by, "conformance", filters, lambda lens, f: lens.conformance(filters=f, **params), render,
         **params)


@journey_app.command("retention")
def retention_cmd(
    ctx: typer.Context, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
    channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None, by: ByOpt = None,
    period: Annotated[str, typer.Option(help="week or month.")] = "week",
    periods: Annotated[int, typer.Option(help="How many periods after the first to show.")] = 12,
    as_json: JsonOpt = False,
) -> None:
    """Cohort retention: customers by first-event period, share active k periods later."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    params = {"period": period, "periods": periods}

    def render(result: Any) -> None:
        emit_table(result.to_frame().to_dict(orient="records"), title=f"Retention by {period}")

    _run(ctx, as_json, by, "retention", filters, lambda lens, f: lens.retention(filters=f, **params), render,
         **params)


@journey_app.command("time-to-stage")
def time_to_stage_cmd(
    ctx: typer.Context, start: StartOpt = None, end: EndOpt = None, cohort: CohortOpt = None,
    channel: ChannelOpt = None, stage: StageOpt = None, touchpoint: TouchpointOpt = None,
    from_stage: Annotated[str | None, typer.Option(help="From this stage (default: every pair).")] = None,
    to_stage: Annotated[str | None, typer.Option(help="To this stage.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Time from first reaching one stage to first reaching another: n, mean, p25/median/p75/p90."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)

    def render(result: Any) -> None:
        emit_table(result.to_dict(), title="Time between stages (seconds)")

    _run(ctx, as_json, None, "time_to_stage", filters,
         lambda lens, f: lens.time_to_stage(filters=f, from_stage=from_stage, to_stage=to_stage), render)


def cohorts_cmd(ctx: typer.Context, start: StartOpt = None, end: EndOpt = None,
                build: Annotated[list[str] | None, typer.Option(
                    "--build", help="Also size a cohort built from conditions, such as "
                                    "'segment=business; performed=Card delivered' (repeatable). Any --cohort "
                                    "option takes the same text.")] = None,
                as_json: JsonOpt = False) -> None:
    """Every cohort and its size."""
    filters = Filters.from_strings(start=start, end=end)

    def render(result: Any) -> None:
        data = result.to_dict()
        emit_table(data["cohorts"], title=f"Cohorts ({data['customers']} customers)")

    _run(ctx, as_json, None, "cohorts", filters, lambda lens, f: lens.cohorts(filters=f, built=build or ()), render)


def customer_cmd(ctx: typer.Context, customer_id: Annotated[str, typer.Argument(help="Customer id (or anonymous id).")],
                 as_json: JsonOpt = False) -> None:
    """One customer's whole history."""

    def render(result: Any) -> None:
        data = result.to_dict()
        console.print(f"[bold]{data['customer_id']}[/bold]"
                      + (f" (resolved from {data['resolved_from']})" if data["resolved_from"] else ""))
        if data["anonymous_ids"]:
            console.print("anonymous ids: " + ", ".join(data["anonymous_ids"]))
        emit_table([{**data["attributes"], **data["outcomes"]}], title="Profile")
        emit_table(data["items"], title="Timeline", columns=["timestamp", "kind", "touchpoint", "channel", "stage",
                                                            "episode", "nps", "csat", "ces", "comment"])

    _run(ctx, as_json, None, "timeline", Filters(), lambda lens, _f: lens.customer_timeline(customer_id), render)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"
