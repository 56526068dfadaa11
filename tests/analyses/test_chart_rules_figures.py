"""docs/charts.md applied to the funnel, path variants, switch impact and customer timeline
charts: titled axes with units, thousands separators, scales from the metric's own start,
categories in a meaningful order (by value, baseline first, journey order)."""

from __future__ import annotations

from typing import Any

from journeylens.analyses.chart_rules import COUNT_AXIS, METRIC_AXES
from journeylens.analyses.funnel import funnel
from journeylens.analyses.switch_impact import SwitchImpactResult
from journeylens.analyses.timeline import FEEDBACK_ROW, TimelineResult
from journeylens.analyses.variants import variants


def _title(axis: Any) -> str:
    return str(axis.title.text or "")


def test_funnel_chart_counts_in_step_order(shop: Any) -> None:
    events, _ = shop
    fig = funnel(events, steps=["Visit", "Purchase", "Support call"]).figure()
    assert fig.layout.xaxis.tickformat == COUNT_AXIS["tickformat"] and "Customers" in _title(fig.layout.xaxis)
    assert "Funnel step" in _title(fig.layout.yaxis)
    assert list(fig.layout.yaxis.categoryarray) == ["Visit", "Purchase", "Support call"]  # a funnel draws top-down
    assert fig.layout.yaxis.autorange in (None, "reversed")  # Plotly's funnel default: the first step on top
    assert "percentInitial" in fig.data[0].texttemplate and ":," in fig.data[0].texttemplate
    split = funnel(events, steps=["Visit", "Purchase"], breakdown_col="channel").figure()
    assert split.layout.showlegend and split.layout.legend.title.text == "channel"


def test_variants_chart_puts_the_most_common_path_on_top(shop: Any) -> None:
    events, _ = shop
    result = variants(events, top=5)
    fig = result.figure()
    counts = [r["customers"] for r in result.records]
    drawn = list(fig.layout.yaxis.categoryarray)[::-1]  # top to bottom
    assert [dict(zip(fig.data[0].y, fig.data[0].x, strict=True))[label] for label in drawn] == sorted(counts,
                                                                                                   reverse=True)
    assert fig.layout.xaxis.tickformat == ",d" and _title(fig.layout.yaxis) == "Path"
    assert "%" in fig.data[0].hovertemplate


def test_switch_impact_chart_is_on_the_nps_scale_baseline_first() -> None:
    def row(stage: str, diff: float) -> dict[str, Any]:
        return {"stage": stage, "from_channel": "web", "to_channel": "call_centre", "nps_switchers": 10 + diff,
                "nps_switchers_moe": 5.0, "nps_responses_switchers": 1200, "nps_others": 10.0,
                "nps_others_moe": 3.0, "nps_responses_others": 4000, "nps_difference": diff}

    fig = SwitchImpactResult(records=(row("a", -5.0), row("b", -30.0), row("c", 4.0))).figure()
    assert list(fig.layout.yaxis.range) == METRIC_AXES["nps"]["range"] == [-100, 100]
    assert "NPS" in _title(fig.layout.yaxis)
    assert fig.data[0].name.startswith("others") and fig.data[1].name == "switchers"  # baseline first
    assert [label.split(":")[0] for label in fig.layout.xaxis.categoryarray] == ["b", "a", "c"]  # worst first
    assert "Channel switch" in _title(fig.layout.xaxis)


def test_timeline_chart_has_dates_and_stages_in_journey_order() -> None:
    items = [
        {"kind": "event", "timestamp": "2024-01-03T10:00:00+00:00", "touchpoint": "Use app", "channel": "app",
         "stage": "Use", "stage_order": 3},
        {"kind": "event", "timestamp": "2024-01-01T10:00:00+00:00", "touchpoint": "Visit", "channel": "web",
         "stage": "Discover", "stage_order": 1},
        {"kind": "event", "timestamp": "2024-01-02T10:00:00+00:00", "touchpoint": "Buy", "channel": "web",
         "stage": "Buy", "stage_order": 2},
        {"kind": "feedback", "timestamp": "2024-01-04T10:00:00+00:00", "touchpoint": "Use app", "nps": 9},
    ]
    fig = TimelineResult(customer_id="k1", items=items).figure()
    assert fig.layout.xaxis.type == "date" and "Date" in _title(fig.layout.xaxis)
    top_down = list(fig.layout.yaxis.categoryarray)[::-1]
    assert top_down == [FEEDBACK_ROW, "Discover", "Buy", "Use"]
    assert fig.data[1].customdata[0][0] == "NPS 9"
