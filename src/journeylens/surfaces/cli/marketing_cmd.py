"""``journeylens attribution`` and ``journeylens spend-return``.

    journeylens attribution --conversion "Account approved" --by campaign --models first,last,markov --json
    journeylens attribution --paths paths.csv --sep '>' --json      # the aggregated path format
    journeylens spend-return --model markov --by channel --period month --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from journeylens.analyses.filters import Filters
from journeylens.analyses.marketing.attribution import ModelSettings
from journeylens.analyses.marketing.pathfile import paths_attribution
from journeylens.errors import JourneyLensError
from journeylens.surfaces.cli.context import (
    console,
    emit_json,
    emit_table,
    err_console,
    fail,
    get_ctx,
    to_json,
)
from journeylens.surfaces.cli.options import EndOpt, JsonOpt, StartOpt

ModelsOpt = Annotated[str | None, typer.Option("--models", help="Comma-separated: first,last,linear,time-decay,"
                                                "position,markov,shapley (default: all).")]
ByOpt = Annotated[str, typer.Option("--by", help="channel, touchpoint, or an event property such as campaign.")]
OrderOpt = Annotated[int, typer.Option("--order", min=1, max=4, help="Markov order (states = last N channels).")]
HalfLifeOpt = Annotated[float, typer.Option("--half-life-days", help="Time-decay half-life in days.")]
FirstOpt = Annotated[float, typer.Option("--first-share", help="Position-based: share of the first touch.")]
LastOpt = Annotated[float, typer.Option("--last-share", help="Position-based: share of the last touch.")]


def register(app: typer.Typer) -> None:
    app.command("attribution")(attribution_cmd)
    app.command("spend-return")(spend_return_cmd)


def attribution_cmd(
    ctx: typer.Context,
    conversion: Annotated[str | None, typer.Option("--conversion", help="Conversion touchpoint (default: the "
                                                   "journey definition's conversion outcomes).")] = None,
    by: ByOpt = "channel",
    models: ModelsOpt = None,
    lookback_days: Annotated[float, typer.Option("--lookback-days", min=0, help="Only touches this many days "
                                                 "before the conversion (0 = unlimited).")] = 0,
    value_property: Annotated[str | None, typer.Option("--value-property", help="Event property with the "
                                                        "conversion's value.")] = None,
    order: OrderOpt = 1,
    half_life_days: HalfLifeOpt = 7.0,
    first_share: FirstOpt = 0.4,
    last_share: LastOpt = 0.4,
    paths: Annotated[Path | None, typer.Option("--paths", help="Aggregated paths file (CSV/Parquet) instead of "
                                               "the warehouse.")] = None,
    path_col: Annotated[str, typer.Option("--path-col")] = "path",
    conversions_col: Annotated[str, typer.Option("--conversions-col")] = "conversions",
    value_col: Annotated[str | None, typer.Option("--value-col")] = None,
    null_col: Annotated[str | None, typer.Option("--null-col")] = None,
    sep: Annotated[str, typer.Option("--sep", help="Separator between channels in a path.")] = ">",
    channels: Annotated[str | None, typer.Option("--channels", help="Known channels (comma-separated): paths "
                                                 "naming others are rejected.")] = None,
    start: StartOpt = None,
    end: EndOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Credit conversions and value to channels under every attribution model, side by side."""
    settings = ModelSettings(half_life_days=half_life_days, first_share=first_share, last_share=last_share, order=order)
    try:
        if paths is not None:
            known = [c.strip() for c in channels.split(",") if c.strip()] if channels else None
            read = paths_attribution(paths, models=models, by=by, settings=settings, path_col=path_col,
                                     conversions_col=conversions_col, value_col=value_col, null_col=null_col,
                                     sep=sep, known_channels=known)
            for row in read.rejected:
                err_console.print(f"rejected row {row['row']}: {row['reason']} ({row['path']!r})", markup=False)
            result = read.result
        else:
            result = get_ctx(ctx).lens().attribution(
                filters=Filters.from_strings(start=start, end=end), conversion=conversion, by=by, models=models,
                lookback_days=lookback_days, value_property=value_property, settings=settings)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
        return
    summary = result.summary
    console.print(f"{summary['journeys']:,.0f} journeys, {summary['conversions']:,.0f} conversions, "
                  f"value {summary['value']:,.2f}")
    wide = result.table().round(1).reset_index()
    emit_table([{str(k): v for k, v in r.items()} for r in wide.to_dict(orient="records")], title=f"Conversions credited per {by}")
    if result.removal_effects:
        console.print("Markov removal effects: " + to_json({k: round(v, 4) for k, v in result.removal_effects.items()}))


def spend_return_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Attribution model behind the return.")] = "markov",
    by: Annotated[str, typer.Option("--by", help="channel or campaign (as in the spend table).")] = "channel",
    period: Annotated[str, typer.Option("--period", help="day, week, month, quarter or year.")] = "month",
    conversion: Annotated[str | None, typer.Option("--conversion")] = None,
    value_property: Annotated[str | None, typer.Option("--value-property")] = None,
    lookback_days: Annotated[float, typer.Option("--lookback-days", min=0)] = 0,
    shift: Annotated[list[str] | None, typer.Option("--shift", help="Budget what-if FROM:TO:PERCENT, e.g. "
                                                    "tv:paid_search:10 (repeatable).")] = None,
    rate: Annotated[list[str] | None, typer.Option("--rate", help="CURRENCY=RATE into the reporting currency "
                                                   "(repeatable), for a spend table with several currencies.")] = None,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=0, help="Bootstrap draws over journeys.")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Cost per acquisition, return on ad spend, marginal return and budget what-ifs."""
    from journeylens.analyses.marketing.spend import parse_rates, parse_shifts

    try:
        result = get_ctx(ctx).lens().spend_return(model=model, by=by, period=period, conversion=conversion,
                                                  value_property=value_property, lookback_days=lookback_days,
                                                  shifts=parse_shifts(shift or []), rates=parse_rates(rate or []),
                                                  bootstrap=bootstrap)
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
        return
    payload = result.to_dict()
    emit_table(payload["totals"], title=f"Spend and return by {by} ({model} attribution)")
    emit_table([{"unit": r["unit"], "elasticity": r["elasticity"],
                 "extra conversions per 1000": f"{r['marginal_conversions_per_1000']:.2f} "
                 f"({r['marginal_conversions_per_1000_low'] or 0:.2f}-{r['marginal_conversions_per_1000_high'] or 0:.2f})",
                 "marginal ROAS": f"{r['marginal_roas']:.2f} ({r['marginal_roas_low'] or 0:.2f}-{r['marginal_roas_high'] or 0:.2f})"}
                for r in payload["marginal"]], title="Marginal return at the current spend (95 % bootstrap interval)")
    for line in payload["what_if"]:
        console.print(line["sentence"])
    for note in payload["notes"]:
        console.print(f"[dim]{note}[/dim]")
