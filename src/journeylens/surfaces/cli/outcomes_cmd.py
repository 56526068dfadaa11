"""``journeylens journey outcomes``: conversion and churn per period of first event, with intervals.

    journeylens journey outcomes --period month --json      # same JSON as GET /v1/journey/outcomes
"""

from __future__ import annotations

from typing import Annotated

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
    StartOpt,
)


def register(app: typer.Typer) -> None:
    """The command lives on ``journey_app`` (added when this module is imported)."""


@journey_app.command("outcomes")
def outcomes_cmd(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="week or month (of the customer's first event).")] = "month",
    start: StartOpt = None,
    end: EndOpt = None,
    cohort: CohortOpt = None,
    channel: ChannelOpt = None,
    within_days: Annotated[float | None, typer.Option(
        "--within-days", help="Count a conversion only within N days of the first event (cohort-fair trend).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Conversion and churn shares, overall and per period, with 95 % Wilson intervals."""
    filters = Filters.from_strings(start=start, end=end, cohort=cohort, channel=channel)
    try:
        result = get_ctx(ctx).lens().outcomes(filters=filters, period=period, within_days=within_days)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
        return
    overall = result.to_dict()["overall"]
    console.print(f"{overall['customers']:,} customers: conversion {overall['conversion']:.1%}, "
                  f"churn {overall['churn']:.1%}" if overall["customers"] else "No customers.")
    emit_table([dict(p) for p in result.periods], title=f"Outcomes by {period} of first event",
               columns=["period", "customers", "conversion", "conversion_low", "conversion_high", "churn",
                        "churn_low", "churn_high", "complete"])
