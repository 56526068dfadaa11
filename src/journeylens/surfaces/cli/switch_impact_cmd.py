"""Channel-switch impact on the ``journey`` command group.

    journeylens journey switch-impact [--max-gap-minutes 30] [--across-stages] [--min-customers 30] [--json]

Takes the common filters ``--start --end --cohort --channel --stage --touchpoint`` (lists
comma-separated). ``--max-gap-minutes 0`` means no limit. ``--json`` prints exactly the HTTP
API's shape (``GET /v1/journey/switch-impact``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from journeylens.analyses.filters import Filters
from journeylens.analyses.switch_impact import DEFAULT_MAX_GAP_MINUTES
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


def register(app: typer.Typer) -> None:
    """The command lives on ``journey_app`` (added when this module is imported)."""


def _num(value: Any, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _table_row(r: dict[str, Any]) -> dict[str, Any]:
    """A narrow row for the terminal (``--json`` has every key)."""
    return {"stage": r["stage"], "switch": f"{r['from_channel']} → {r['to_channel']}", "customers": r["customers"],
            "NPS": _num(r["nps_switchers"], ".1f"), "NPS others": _num(r["nps_others"], ".1f"),
            "ΔNPS": _num(r["nps_difference"], "+.1f"), "churn": _num(r["churn_switchers"], ".1%"),
            "churn others": _num(r["churn_others"], ".1%"), "q": _num(r["q"], ".3g"),
            "impact": _num(r["impact"], ".1f")}


@journey_app.command("switch-impact")
def switch_impact_cmd(
    ctx: typer.Context,
    start: StartOpt = None,
    end: EndOpt = None,
    cohort: CohortOpt = None,
    channel: ChannelOpt = None,
    stage: StageOpt = None,
    touchpoint: TouchpointOpt = None,
    max_gap_minutes: Annotated[float, typer.Option(
        "--max-gap-minutes", min=0, help="Longest gap between the two events of a switch; 0 = no limit.")
    ] = DEFAULT_MAX_GAP_MINUTES,
    across_stages: Annotated[bool, typer.Option(
        "--across-stages", help="Also count switches between two stages (default: within one stage).")] = False,
    min_customers: Annotated[int, typer.Option("--min-customers", min=1, help="Least switchers to report.")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Channel-switch impact: NPS and churn of customers who switched channel vs the rest of the stage."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel, stage=stage,
                                   touchpoint=touchpoint)
    try:
        result = get_ctx(ctx).lens().switch_impact(
            filters=filters, within_stage=not across_stages, min_customers=min_customers,
            max_gap_minutes=max_gap_minutes or None)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    rows = result.to_dict()
    if as_json:
        emit_json(rows)
        return
    emit_table([_table_row(r) for r in rows],
               title="Channel-switch impact (most harmful first)")
    harmful = result.harmful()
    if harmful:
        top = harmful[0]
        console.print(f"Most harmful: {top['stage']}: {top['from_channel']} → {top['to_channel']} — "
                      f"{top['customers']} customers, NPS {top['nps_difference']:+.1f} points, "
                      f"churn x{top['churn_ratio']:.2f} (q = {top['q']:.3g}).")
    else:
        console.print("No switch pattern with a significant harm (q < 0.05).")
