"""Issue 10, session 3, over HTTP and in the dashboard's HTML: transitions split by a property,
the cohort builder, the funnel reconciled with the journey map, targets in their own unit."""

from __future__ import annotations

from typing import Any


def test_transitions_by_an_event_property_over_http(client_for: Any) -> None:
    client = client_for("viewer")
    rows = client.get("/v1/journey/transitions", params={"level": "stage", "by": "app_version"}).json()
    assert {r["app_version"] for r in rows} >= {"5.14.2", "6.0.0"}
    everything = client.get("/v1/journey/transitions", params={"level": "stage"}).json()
    assert sum(r["count"] for r in rows) == sum(r["count"] for r in everything)
    bad = client.get("/v1/journey/transitions", params={"by": "app_versoin"})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["suggestions"] == {"app_versoin": ["app_version"]}


def test_journey_map_splits_the_moves(client_for: Any) -> None:
    client = client_for("viewer")
    html = client.get("/journey-map", params={"split": "app_version"}).text
    assert 'id="moves-table"' in html and "app_version = 6.0.0" in html and "app_version = 5.14.2" in html
    assert '<option value="app_version" selected>' in html
    csv = client.get("/export/moves_split.csv", params={"split": "app_version"})
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("app_version,from,to,count")
    assert 'id="moves-table"' not in client.get("/journey-map").text
