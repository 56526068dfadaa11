"""``journeylens departures``: why customers leave and what their last days looked like.

    journeylens departures --window-days 90 --json      # same JSON as GET /v1/departures
"""

from __future__ import annotations

from typing import Annotated

import typer

from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx
from journeylens.surfaces.cli.options import JsonOpt


def register(app: typer.Typer) -> None:
    app.command("departures")(departures_cmd)


def departures_cmd(
    ctx: typer.Context,
    window_days: Annotated[float, typer.Option("--window-days", help="Days before leaving to compare.")] = 90,
    min_customers: Annotated[int, typer.Option("--min-customers", min=1, help="Features seen in fewer customers "
                                               "are not tested.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Customers who left vs customers who stayed: reasons, last-days differences, over-represented patterns."""
    try:
        result = get_ctx(ctx).lens().departures(window_days=window_days, min_customers=min_customers)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
        return
    payload = result.to_dict()
    console.print(f"{payload['customers_left']:,} customers left, {payload['customers_stayed']:,} stayed "
                  f"(last {window_days:g} days compared).")
    for line in payload["headlines"]:
        console.print(f"• {line}")
    emit_table(payload["differences"][:25], title="Most different before leaving",
               columns=["feature", "left", "stayed", "ratio", "q"])
    emit_table(payload["drop_offs"][:10], title="Where the last days ended (drop-off: last step, share of customers)",
               columns=["feature", "left", "stayed", "ratio", "q"])
    emit_table(payload["reasons"]["comments"], title="Last comments of customers who left")
    emit_table(payload["stages"], title="During: reach and CX metrics per stage",
               columns=["stage", "group", "share", "events_per_customer", "nps", "csat", "ces", "responses"])
    tickets = payload["tickets"]
    if tickets["groups"]:
        emit_table(tickets["groups"], title="Tickets during the relationship")
    if tickets["note"]:
        console.print(f"Tickets: {tickets['note']}", markup=False)
