"""Issue 10's remaining rules in a real browser, on the demo bank: charts follow docs/charts.md
(titled axes, scales from the metric's own scale, incomplete periods marked), data freshness,
a definition one click from each number, the journey map accounting for every customer, the
switch matrix showing staying apart, the flow chart left to right with backward moves and exits
drawn apart, targets in the metric's own unit, long timelines paged, and no topic named by
stopwords."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _layout(page: Any, plot_id: str) -> dict[str, Any]:
    page.wait_for_selector(f"#{plot_id} .main-svg")
    layout: dict[str, Any] = page.evaluate(f"document.getElementById('{plot_id}').layout")
    return layout


def test_overview_charts_follow_the_chart_rules(page: Any) -> None:
    page.goto("/")
    scales = {"trend-nps": [-100, 100], "trend-csat": [0, 1], "trend-ces": [1, 7], "outcomes": [0, 1]}
    for plot, scale in scales.items():
        layout = _layout(page, plot)
        assert layout["xaxis"]["title"]["text"] and layout["yaxis"]["title"]["text"], plot
        assert layout["yaxis"]["range"] == scale, plot  # the metric's own scale, not the data's
        assert "hollow" in layout["xaxis"]["title"]["text"]  # incomplete periods are marked (hollow)
    assert "%" in _layout(page, "trend-csat")["yaxis"]["tickformat"]  # CSAT in %, not 0.8


def test_freshness_is_stated_with_the_data_range(page: Any) -> None:
    page.goto("/data-health")
    main = page.locator("main")
    assert re.search(r"The data runs from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}", main.inner_text())
    assert "days old" in page.locator(".notice.stale").first.inner_text()  # the demo's data is old
    page.goto("/")
    assert "days old" in page.locator(".notice.stale").first.inner_text()  # the overview says it too


def test_each_number_links_to_its_one_definition(page: Any) -> None:
    page.goto("/")
    link = page.locator('a[href="/definitions#csat"]').first
    assert link.get_attribute("title") == "How is this computed?"
    link.click()
    page.wait_for_url("**/definitions#csat")
    assert page.locator("#csat").is_visible()


def test_journey_map_stages_account_for_every_customer(page: Any) -> None:
    page.goto("/journey-map")
    page.wait_for_selector(".stages")
    texts = page.locator(".stages").inner_text().split("Where their journeys end:")[1:]
    assert texts
    for text in texts:
        shares = [int(s) for s in re.findall(r"(\d+)% (?:in a later stage|here, not converted|here, converted|back)",
                                             text)]
        assert len(shares) == 4 and 98 <= sum(shares) <= 102, text[:200]  # rounding only


def test_touchpoint_targets_in_their_unit_and_topics_in_english(page: Any) -> None:
    page.goto("/touchpoints/Mobile%20app%20login")
    targets = page.locator(".target").all_inner_texts()
    assert any(re.search(r"target \d+%", t) for t in targets), targets  # CSAT 85 %, not 0.85
    assert not any("No target" in t for t in targets)  # this touchpoint has targets
    hint = page.locator("#topics-excluded")  # loaded by htmx after the page: wait for the swap
    hint.wait_for()
    assert "left out" in hint.inner_text() and "not in English" in hint.inner_text()
    from journeylens.text.stopwords import foreign_function_words, is_stopword_phrase

    for label in page.locator("#topics tbody tr td:first-child").all_inner_texts():
        assert not is_stopword_phrase(label) and foreign_function_words(label)[0] is None, label


def test_a_long_customer_timeline_is_paged(page: Any, live_server: Any) -> None:
    import ibis

    events = live_server.lens.events()
    busiest = (events.group_by("customer_id").aggregate(n=events.count()).order_by(ibis.desc("n")).limit(1)
               .to_pyarrow().to_pylist()[0])
    page.goto(f"/customers/{busiest['customer_id']}")
    assert page.locator("ol.timeline > li").count() <= 25
    page.locator('a[rel="next"]').first.click()
    page.wait_for_url("**page=2**")
    assert "page 2 of" in page.locator("main").inner_text()


def _data(page: Any, plot_id: str) -> list[dict[str, Any]]:
    page.wait_for_selector(f"#{plot_id} .main-svg")
    data: list[dict[str, Any]] = page.evaluate(f"document.getElementById('{plot_id}').data")
    return data


def test_switch_matrix_shows_staying_apart(page: Any) -> None:
    """No self-transition dominates the switch matrix: the diagonal is left out of the colour
    scale and written on the cell as text ("stay N")."""
    page.goto("/channels")
    heatmap = _data(page, "channels-chart")[0]
    assert heatmap["type"] == "heatmap"
    # z is sent as typed binary data: read what Plotly drew (_fullData), a missing (NaN) cell as null
    cells = page.evaluate("Array.from(document.getElementById('channels-chart')._fullData[0].z,"
                          " row => Array.from(row, v => Number.isNaN(v) || v === null ? null : v))")
    columns, rows = list(heatmap["x"]), list(heatmap["y"])
    diagonal = [cells[i][columns.index(name)] for i, name in enumerate(rows) if name in columns]
    assert diagonal and all(value is None for value in diagonal)  # left out of the colour scale
    assert any(value for row in cells for value in row if value is not None)  # the switches are there
    stays = [a["text"] for a in _layout(page, "channels-chart")["annotations"]]
    assert len(stays) == len(diagonal) and all(re.fullmatch(r"stay [\d,]+", text) for text in stays)


def test_journey_flow_reads_left_to_right_with_backward_moves_and_exits_apart(page: Any) -> None:
    page.goto("/journey-map")
    sankey = _data(page, "sankey")[0]
    labels, xs = sankey["node"]["label"], sankey["node"]["x"]
    stages = ["awareness", "consideration", "onboarding", "usage", "service", "renewal", "departure"]
    order = [next(i for i, label in enumerate(labels) if label.startswith(f"{stage} (")) for stage in stages]
    assert [xs[i] for i in order] == sorted(xs[i] for i in order)  # the definition's order, left to right
    assert labels[-1].startswith("drop-off (") and xs[-1] == max(xs)  # exits end at the right
    link = sankey["link"]
    forward, backward = "rgba(31,95,191,0.45)", "rgba(194,65,12,0.55)"
    for source, target, colour in zip(link["source"], link["target"], link["color"], strict=True):
        if target == len(labels) - 1:
            assert colour not in (forward, backward)  # an exit is drawn in its own colour
        else:
            assert colour == (forward if xs[target] > xs[source] else backward)
    assert backward in link["color"]  # the demo's customers do move back (service → usage)
