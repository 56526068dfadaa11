"""Model commands: key drivers, what-if and predictions.

    journeylens drivers --target nps [--drivers a,b,c | --journey-drivers] [--survey S] [--min-n 30] --json
    journeylens drivers --target conversion --journey-drivers --funnel "Apply,KYC,Approved" --json
    journeylens what-if --target nps|csat|churn|conversion [--drivers ...] --change DRIVER=+0.5 [--change ...] --json
    journeylens predict churn [--horizon-days 90] [--as-of DATE] [--backtest] --json
    journeylens predict nps [--as-of DATE] [--horizon-days 180] --json
    journeylens predict purchases --purchase TOUCHPOINT [--value-property P] [--as-of DATE] --horizon-days N --json

``--json`` prints exactly the HTTP API's shapes (``GET /v1/drivers``, ``/v1/predict/...``). With
``--backtest`` ``predict churn --json`` still prints the prediction list (the one made at ``--as-of``,
the issue's contract); the scores next to the baseline are in the table output, and with ``--scores`` ``--json`` prints
them instead (the shape of ``GET /v1/predict/churn/backtest``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from journeylens.errors import JourneyLensError, ParameterError
from journeylens.surfaces.cli.context import console, emit_json, emit_table, fail, get_ctx
from journeylens.surfaces.cli.options import JsonOpt

predict_app = typer.Typer(help="Predictions: churn, purchases, NPS of non-respondents.", no_args_is_help=True)

AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Cut-off (ISO date): features before, outcomes after.")]
HorizonOpt = Annotated[int, typer.Option("--horizon-days", min=1, help="Days ahead to predict.")]
FunnelOpt = Annotated[str | None, typer.Option(
    "--funnel", help="Journey drivers: funnel steps (stages or touchpoints, comma-separated) for drop-offs and "
                     "days to each step; default: the stages up to the one after conversion.")]
BacktestOpt = Annotated[bool, typer.Option("--backtest", help="Score the predictions made at --as-of on what happened.")]


def register(app: typer.Typer) -> None:
    app.command("drivers")(drivers_cmd)
    app.command("what-if")(what_if_cmd)
    app.add_typer(predict_app, name="predict")


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO date or timestamp; naive values are UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ParameterError(f"--as-of must be an ISO date (YYYY-MM-DD), got {text!r}.") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def split_list(text: str | None) -> list[str] | None:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def run(as_json: bool, compute: Callable[[], Any], show: Callable[[Any], None]) -> None:
    """Compute a result; print its JSON or a table; errors in the one error shape."""
    try:
        result = compute()
    except JourneyLensError as exc:
        fail(exc, as_json=as_json)
        return
    if as_json:
        emit_json(result.to_dict())
    else:
        show(result)


def _show_drivers(result: Any) -> None:
    data = result.to_dict()
    emit_table([{k: r[k] for k in ("driver", "importance", "importance_low", "importance_high", "performance",
                                   "quadrant", "effect")} for r in data["drivers"]],
               title=f"Key drivers of {data['target']} (n = {data['n']}, R² = {data['r2']:.3f})")
    console.print(data["method"])
    for row in data["drivers"][:5]:
        console.print("• " + row["sentence"])


def drivers_cmd(
    ctx: typer.Context,
    target: Annotated[str, typer.Option("--target", help="nps, csat, ces, churn, conversion or a metric.")] = "nps",
    drivers: Annotated[str | None, typer.Option("--drivers", help="Drivers (comma-separated); default: all.")] = None,
    journey_drivers: Annotated[bool, typer.Option("--journey-drivers", help="What customers experienced.")] = False,
    survey: Annotated[str | None, typer.Option("--survey", help="Only responses of this survey.")] = None,
    min_n: Annotated[int, typer.Option("--min-n", min=2, help="Least complete rows.")] = 30,
    funnel: FunnelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Key drivers: each driver's share of the explained variance, performance, quadrant, effect."""
    extra = {"funnel": split_list(funnel)} if funnel else {}
    run(as_json, lambda: get_ctx(ctx).lens().drivers(target=target, drivers=split_list(drivers), survey=survey,
                                                     journey=journey_drivers, min_n=min_n, **extra), _show_drivers)


def _show_what_if(result: Any) -> None:
    data = result.to_dict()
    console.print(f"{data['target']}: {data['baseline']:.1f} → {data['predicted']:.1f} "
                  f"({data['delta']:+.1f}; 95 % interval {data['low']:.1f} to {data['high']:.1f})")
    if data["value_delta"] is not None:
        console.print(f"value: {data['value_delta']:+,.0f}")
    console.print(data["method"])


def what_if_cmd(
    ctx: typer.Context,
    change: Annotated[list[str], typer.Option("--change", help="DRIVER=AMOUNT, for example sat_app=+0.5.")],
    target: Annotated[str, typer.Option("--target", help="nps, csat, churn or conversion.")] = "nps",
    drivers: Annotated[str | None, typer.Option("--drivers", help="Model drivers (comma-separated).")] = None,
    survey: Annotated[str | None, typer.Option("--survey", help="Only responses of this survey (nps, csat).")] = None,
    funnel: FunnelOpt = None,
    journey_drivers: Annotated[bool | None, typer.Option(
        "--journey-drivers/--survey-ratings",
        help="NPS/CSAT: journey levers or survey ratings (default: decided by the driver names).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What-if: change drivers, see the predicted outcome with a 95 % interval and its value."""
    from journeylens.models.whatif import parse_changes

    extra = {"funnel": split_list(funnel)} if funnel else {}
    run(as_json, lambda: get_ctx(ctx).lens().what_if(target=target, changes=parse_changes(change),
                                                     drivers=split_list(drivers), survey=survey,
                                                     journey=journey_drivers, **extra), _show_what_if)


def _show_backtest(result: Any) -> None:
    emit_table(result.scores_frame().to_dict(orient="records"), title=result.title)
    data = result.scores()
    console.print(f"split: {data.get('split', '')}; baseline: {data.get('baseline', '')}")


def _show_churn(result: Any) -> None:
    if hasattr(result, "scores"):
        _show_backtest(result)
    emit_table([{"customer": r["customer_id"], "churn probability": r["churn_probability"],
                 "value at risk": r["value_at_risk"], "reasons": "; ".join(x["sentence"] for x in r["reasons"])}
                for r in result.to_dict()], title="Churn risk (highest value at risk first)", limit=50)


class _Scores:
    """A backtest seen through its scores (``--backtest --scores``)."""

    def __init__(self, result: Any) -> None:
        self.result = result

    def to_dict(self) -> Any:
        return self.result.scores()


@predict_app.command("churn")
def churn_cmd(ctx: typer.Context, horizon_days: HorizonOpt = 90, as_of: AsOfOpt = None,
              backtest: BacktestOpt = False, as_json: JsonOpt = False,
              scores: Annotated[bool, typer.Option(
                  "--scores", help="With --backtest --json: print the scores (model vs baseline), not the predictions.")]
              = False) -> None:
    """Churn probability within the horizon per customer, with reasons and value at risk."""
    if scores and not backtest:
        fail(ParameterError("--scores needs --backtest (and --as-of)."), as_json=as_json)
        return

    def compute() -> Any:
        result = get_ctx(ctx).lens().predict_churn(horizon_days=horizon_days, as_of=parse_as_of(as_of),
                                                   backtest=backtest)
        return _Scores(result) if scores and as_json else result

    run(as_json, compute, _show_churn)


def _show_purchases(result: Any) -> None:
    if result.title == "Purchase forecast":
        emit_table(result.to_dict(), title="Purchase forecast", limit=50)
        return
    data = result.to_dict()
    emit_table([{"model": "BG/NBD", **data["model"]}, {"model": "baseline", **data["baseline_scores"]}],
               title=f"Purchase backtest (actual {data['actual_total']:.0f} purchase days)")


@predict_app.command("purchases")
def purchases_cmd(
    ctx: typer.Context,
    purchase: Annotated[str, typer.Option("--purchase", help="The purchase touchpoint.")],
    horizon_days: HorizonOpt = 90,
    value_property: Annotated[str | None, typer.Option("--value-property", help="Event property with the value.")] = None,
    as_of: AsOfOpt = None, backtest: BacktestOpt = False, as_json: JsonOpt = False,
) -> None:
    """Expected purchase days, probability of being active and expected value (BG/NBD + Gamma-Gamma)."""
    run(as_json, lambda: get_ctx(ctx).lens().predict_purchases(
        purchase, value_property=value_property, as_of=parse_as_of(as_of), horizon_days=horizon_days,
        backtest=backtest), _show_purchases)


def _show_nps(result: Any) -> None:
    data, p = result.to_dict(), result.params
    console.print(f"surveyed NPS {data['surveyed_nps']:.1f} (respondents {p['respondents']}); predicted NPS of all "
                  f"{p['customers']} customers {data['predicted_nps']:.1f} "
                  f"(95 % interval {data['predicted_low']:.1f} to {data['predicted_high']:.1f})")
    v = p["validation"]
    console.print(f"split: {p['split']}; validation: {v['split']}")
    if "log_loss" not in v:
        console.print(p["verdict"])
        return
    console.print(f"held-out respondents: {v['held_out_respondents']}; log loss {v['log_loss']:.4f} vs "
                  f"{v['baseline_log_loss']:.4f} (class shares); predicted NPS {v['predicted_nps_held_out']:.1f} vs "
                  f"observed {v['observed_nps_held_out']:.1f}")
    console.print(p["verdict"])


@predict_app.command("nps")
def nps_cmd(ctx: typer.Context, as_of: AsOfOpt = None,
            horizon_days: Annotated[int, typer.Option("--horizon-days", min=1,
                                                      help="With --as-of: the answer window before and after it.")]
            = 180, as_json: JsonOpt = False) -> None:
    """Predicted NPS class of every non-respondent and the base's predicted NPS next to the surveyed one."""
    run(as_json, lambda: get_ctx(ctx).lens().predict_nps(as_of=parse_as_of(as_of), horizon_days=horizon_days),
        _show_nps)


def _show_survival(result: Any) -> None:
    emit_table([{k: v for k, v in r.items() if k != "curve"} for r in result.to_dict()],
               title=f"Time to churn by {result.params['by']} (expected days within {result.params['horizon_days']:.0f})")


@predict_app.command("survival")
def survival_cmd(ctx: typer.Context,
                 by: Annotated[str, typer.Option("--by", help="Customers column to split by.")] = "segment",
                 horizon_days: HorizonOpt = 365, as_json: JsonOpt = False) -> None:
    """Survival curves by segment and the expected time to churn (Kaplan-Meier)."""
    run(as_json, lambda: get_ctx(ctx).lens().survival(by=by, horizon_days=horizon_days), _show_survival)
