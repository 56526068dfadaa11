"""Every integer parameter of every route is bounded, and every route takes all of its own
query parameters at once without a server error.

The fuzzer sends ``10**30`` for ids and counts: an unbounded ``int`` parameter reaches SQLite as
an ``OverflowError`` (500) instead of a 422. And a route that passes a parameter on to a
function that does not take it in some mode (``/v1/drivers?funnel=…`` without
``journey_drivers``) only fails when both are sent; schemathesis with a few examples per
operation rarely sends every optional parameter together, so this test does, per route.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
import pandas as pd
import pytest
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import journeylens
from journeylens.operations import keys, users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.api.hardening import MAX_ROW_ID

T0 = pd.Timestamp("2025-03-01T10:00:00Z")


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_int(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) in (list, typing.Annotated):
        return any(_is_int(a) for a in typing.get_args(annotation)[:1])
    return False


def _bounds(field: Any) -> tuple[int | None, int | None]:
    low = high = None
    for rule in field.field_info.metadata:
        if isinstance(rule, (annotated_types.Ge, annotated_types.Gt)):
            low = int(getattr(rule, "ge", getattr(rule, "gt", 0)))
        if isinstance(rule, (annotated_types.Le, annotated_types.Lt)):
            high = int(getattr(rule, "le", getattr(rule, "lt", 0)))
    return low, high


def _app(tmp_path: Path, data: bool = False) -> Any:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        cache_dir=tmp_path / "cache", collector_spool=tmp_path / "spool", duckdb_memory_limit="1GB")
    lens = journeylens.open("duckdb://", settings=settings)
    if data:
        lens.ingest("events", pd.DataFrame([
            {"customer_id": f"c{i % 9}", "touchpoint": ["visit", "browse", "buy", "call"][i % 4],
             "channel": ["web", "app", "store", "phone"][i % 4], "timestamp": T0 + pd.Timedelta(hours=i)}
            for i in range(90)]))
        lens.ingest("feedback", pd.DataFrame({"customer_id": [f"c{i}" for i in range(9)], "timestamp": [T0] * 9,
                                              "nps": [0, 3, 6, 7, 8, 9, 10, 9, 2], "comment": ["slow app"] * 9}))
    db = AppDatabase(settings.app_database_url)
    return create_app(settings, lens=lens, app_db=db), db


def test_every_integer_parameter_of_every_route_has_both_bounds(tmp_path: Path) -> None:
    app, db = _app(tmp_path)
    unbounded = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        for field in get_flat_params(route.dependant):
            if not _is_int(field.field_info.annotation):
                continue
            low, high = _bounds(field)
            if low is None or high is None or low < -MAX_ROW_ID - 1 or high > MAX_ROW_ID:
                unbounded.append(f"{sorted(route.methods)} {route.path} {field.name}: {low}..{high}")
    db.dispose()
    assert unbounded == []


def test_an_id_beyond_what_the_database_stores_is_refused_not_an_overflow(tmp_path: Path) -> None:
    app, db = _app(tmp_path)
    with db.session() as session:
        users.create_user(session, "admin@example.com", "correct horse battery", role="admin")
    client = TestClient(app)
    client.post("/v1/auth/login", json={"email": "admin@example.com", "password": "correct horse battery"})
    csrf = {"X-CSRF-Token": client.get("/v1/auth/me").json()["csrf_token"]}
    huge = 10**30
    for method, path in [("GET", f"/v1/tickets/{huge}"), ("POST", f"/v1/tickets/{huge}/resolve"),
                         ("POST", f"/v1/tickets/{huge}/reopen"), ("DELETE", f"/v1/annotations/{huge}"),
                         ("DELETE", f"/v1/reports/schedules/{huge}"), ("PATCH", f"/v1/users/{huge}"),
                         ("GET", f"/v1/tickets/{MAX_ROW_ID}"), ("GET", f"/v1/predict/churn?horizon_days={huge}"),
                         ("GET", f"/v1/metrics?min_n={huge}"), ("GET", f"/tickets/{huge}")]:
        answer = client.request(method, path, headers=csrf, json={})
        assert answer.status_code in (404, 422), (method, path, answer.status_code, answer.text)
        assert "error" in answer.json() if answer.headers["content-type"].startswith("application/json") else True
    db.dispose()


def _value(schema: dict[str, Any], flip: bool) -> Any:
    """A well-formed value for a query parameter: its default, else a plain one of its type."""
    options = schema.get("anyOf", [schema])
    typed = next((o for o in options if o.get("type") not in (None, "null")), options[0])
    kind = typed.get("type")
    if kind == "boolean":
        return "true" if not flip else "false"
    if "default" in schema and schema["default"] is not None and not flip:
        return schema["default"]
    if "enum" in typed:
        return typed["enum"][-1 if flip else 0]
    if kind in ("integer", "number"):
        return typed.get("minimum", 1) if not flip else typed.get("maximum", 10)
    if typed.get("format") == "date-time":
        return "2025-03-02T00:00:00Z"
    if kind == "array":
        return ["visit"]
    return "visit"


@pytest.mark.parametrize("flip", [False, True], ids=["defaults-and-true", "other-values-and-false"])
def test_every_read_route_takes_all_its_query_parameters_at_once(tmp_path: Path, flip: bool) -> None:
    app, db = _app(tmp_path, data=True)
    with db.session() as session:
        key = keys.create_key(session, "admin", ["admin"])[1]
    client = TestClient(app, raise_server_exceptions=False)
    doc = client.get("/openapi.json").json()
    server_errors = []
    for path, operations in doc["paths"].items():
        operation = operations.get("get")
        if operation is None or "{" in path:
            continue
        query = {p["name"]: _value(p["schema"], flip) for p in operation.get("parameters", []) if p["in"] == "query"}
        answer = client.get(path, params=query, headers={"authorization": f"Bearer {key}"})
        if answer.status_code >= 500:
            server_errors.append(f"GET {path} {query}: {answer.status_code} {answer.text[:300]}")
    db.dispose()
    assert server_errors == []
