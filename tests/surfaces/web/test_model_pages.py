"""Drivers & priorities, What-if, At-risk customers (with CSV export) and churn risk on the customer page."""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd


def test_drivers_page_shows_matrix_table_and_journey_drivers(client_for: Any) -> None:
    html = client_for("analyst").get("/drivers?target=nps&survey=Relationship+NPS").text
    assert "Drivers &amp; priorities" in html and "sat_app" in html
    assert "Thresholds: importance" in html and "drivers-chart" in html
    assert "What customers experienced" in html and "repeat_contacts" in html


def test_what_if_page_predicts_with_an_interval(client_for: Any) -> None:
    client = client_for("viewer")
    empty = client.get("/what-if")
    assert empty.status_code == 200 and "sat_app" in empty.text
    html = client.get("/what-if?target=nps&driver=sat_app&change=0.5&survey=Relationship+NPS").text
    assert "notice" not in html, re.findall(r"notice[^<]*", html)
    assert "95 % interval" in html and "proportional-odds" in html
    bad = client.get("/what-if?target=nps&driver=sat_nothing&change=0.5").text
    assert "Unknown driver" in bad
    assert "contact_switches_in_episode" in empty.text  # a journey lever of NPS is offered too
    lever = client.get("/what-if?target=nps&driver=contact_switches_in_episode&change=-0.05").text
    assert "notice" not in lever, re.findall(r"notice[^<]*", lever)
    assert "95 % interval" in lever and "journey drivers" in lever


def test_predicted_nps_page_and_route_say_whether_the_model_is_informative(client_for: Any, web_env: Any) -> None:
    client = client_for("viewer")
    html = client.get("/predicted-nps").text
    result = web_env.lens.predict_nps()
    assert "Surveyed NPS" in html and "Predicted NPS, whole base" in html
    if result.params["informative"]:
        assert "Informative." in html and "most likely to be detractors" in html
    else:
        assert "Not informative." in html and 'role="alert"' in html and "most likely to be detractors" not in html
    data = client.get("/v1/predict/nps/validation").json()
    assert data["informative"] is result.params["informative"] and data["verdict"] == result.params["verdict"]


def test_at_risk_page_export_and_customer_risk(client_for: Any, web_env: Any) -> None:
    admin = client_for("admin")
    html = admin.get("/at-risk").text
    assert "At-risk customers" in html and "Value at risk by segment" in html and "/export/churn.csv" in html
    frame = pd.read_csv(io.StringIO(admin.get("/export/churn.csv").text))
    assert list(frame.columns) == ["customer_id", "churn_probability", "value_at_risk", "reasons"]
    assert frame["value_at_risk"].fillna(0).is_monotonic_decreasing
    top = frame["customer_id"].iloc[0]
    page = admin.get(f"/customers/{top}").text
    assert "Churn risk" in page and "probability of churning" in page
    viewer_csv = pd.read_csv(io.StringIO(client_for("viewer").get("/export/churn.csv").text))
    assert "customer_id" not in viewer_csv.columns  # no identifiers without customer lookup


def test_funnel_is_refused_for_survey_drivers(client_for: Any) -> None:
    """``funnel`` belongs to journey drivers; on survey drivers it was a TypeError (500, found by the fuzzer)."""
    response = client_for("analyst").get("/v1/drivers", params={"funnel": "null"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"
    assert "journey_drivers=true" in response.json()["error"]["message"]
