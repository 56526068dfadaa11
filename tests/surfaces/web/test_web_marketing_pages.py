"""The Acquisition and Departures pages on the small demo bank: reachable by readers (not by
agents), the what-if, spend table and model comparison rendered, CSV exports, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from fastapi.testclient import TestClient


def test_acquisition_page(client_for: Callable[[str], TestClient]) -> None:
    viewer = client_for("viewer")
    page = viewer.get("/acquisition", params={"model": "linear", "shift_from": "tv", "shift_to": "paid_search",
                                              "shift_percent": "20"})
    assert page.status_code == 200, page.text[:2000]
    html = page.text
    assert "Move 20 % from tv to paid_search" in html
    for heading in ("Spend and return by channel (linear attribution)", "Where the next pound returns most",
                    "Attribution models side by side", "What journey-level attribution cannot see"):
        assert heading in html
    assert 'href="/acquisition" aria-current="page"' in html
    export = viewer.get("/export/spend_return.csv", params={"model": "linear", "part": "totals"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert {"tv", "paid_search", "social"} <= {r["unit"] for r in rows}
    assert client_for("agent").get("/acquisition").status_code == 403
    bad = viewer.get("/acquisition", params={"model": "magic"})
    assert bad.status_code == 422 and "Unknown model" in bad.text


def test_departures_page(client_for: Callable[[str], TestClient]) -> None:
    viewer = client_for("viewer")
    page = viewer.get("/departures", params={"window_days": "90"})
    assert page.status_code == 200, page.text[:2000]
    for heading in ("What stands out before customers leave", "The reasons they gave", "Before, during and after",
                    "Where their last 90 days ended", "During: each stage of the relationship"):
        assert heading in page.text
    assert "Tickets" in page.text  # a table of tickets, or the note saying why there are none
    assert client_for("agent").get("/departures").status_code == 403
