"""Odd input answers 4xx in the one error shape, never 500 (issue 9 item 7)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from journeylens.analyses.filters import Filters
from journeylens.operations import sessions, users
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces import policy
from journeylens.surfaces.api.deps import SESSION_COOKIE


@pytest.fixture(scope="module")
def admin(web_env: Any) -> TestClient:
    db = AppDatabase(web_env.settings.app_database_url)
    with db.session() as session:
        token = sessions.start(session, users.get_user(session, "admin@example.com"))
    db.dispose()
    client = TestClient(web_env.app)
    client.cookies.set(SESSION_COOKIE, token)
    return client


def _one_error_shape(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    if response.headers.get("content-type", "").startswith("application/json"):
        assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize("query", ["channel=web%00x", "touchpoint=%00", "stage=a,%00", "cohort=x%00",
                                   "start=2024-01-01%00"])
def test_a_nul_in_any_filter_is_a_400_on_every_get_route(web_env: Any, admin: TestClient, query: str) -> None:
    for method, path in policy.route_table(web_env.app.routes):
        if method != "GET" or policy.rule_for(method, path) == policy.PUBLIC:
            continue
        response = admin.get(f"{path.replace('{', '').replace('}', '').replace(':path', '')}?{query}",
                             follow_redirects=False)
        assert response.status_code == 400, (path, response.status_code)
        _one_error_shape(response)


@pytest.mark.parametrize("url", ["/v1/journey/funnel?within_days=1e306", "/v1/journey/funnel?within_days=inf",
                                 "/v1/feedback/links?window_days=1e308", "/v1/metrics/touchpoint-scores?window_days=nan",
                                 "/v1/journey/conformance?recontact_days=-inf",
                                 "/v1/journey/switch-impact?max_gap_minutes=1e308"])
def test_numbers_beyond_any_range_are_4xx_not_overflow(admin: TestClient, url: str) -> None:
    _one_error_shape(admin.get(url))


def test_the_library_refuses_a_nul_with_a_parameter_error(web_env: Any) -> None:
    from journeylens.errors import ParameterError

    with pytest.raises(ParameterError, match="NUL"):
        web_env.lens.customer_timeline("a\x00b")
    with pytest.raises(ParameterError, match="NUL"):
        Filters(channel=["web\x00"])


def test_customer_ids_with_a_slash_open_in_the_api_and_on_the_page(web_env: Any, admin: TestClient) -> None:
    odd = "team/alpha 7?#"
    web_env.lens.ingest("events", pd.DataFrame({"customer_id": [odd, odd], "touchpoint": ["visit", "buy"],
                                                "timestamp": ["2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"]}))
    api = admin.get(f"/v1/customers/{quote(odd, safe='')}")
    assert api.status_code == 200 and api.json()["customer_id"] == odd
    page = admin.get(f"/customers/{quote(odd, safe='')}")
    assert page.status_code == 200 and "team/alpha 7?#" in page.text
