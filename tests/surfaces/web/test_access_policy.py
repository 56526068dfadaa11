"""The one access table holds on every route, API and dashboard alike, for every caller.

The walk takes the app's whole route table (``app.routes``), so a route another module adds
later is covered without touching this test: one with no entry in
:data:`journeylens.surfaces.policy.ROUTE_RULES` fails it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from journeylens.operations import keys, sessions, users
from journeylens.operations.appdb import AppDatabase
from journeylens.surfaces import policy
from journeylens.surfaces.api.deps import CSRF_HEADER, SESSION_COOKIE
from journeylens.surfaces.web.rendering import navigation

ROLES = ("admin", "analyst", "agent", "viewer")


@dataclass
class Caller:
    name: str
    role: str | None = None
    scopes: tuple[str, ...] = ()
    key: str | None = None


@pytest.fixture(scope="module")
def callers(web_env: Any) -> Iterator[tuple[list[Caller], AppDatabase]]:
    db = AppDatabase(web_env.settings.app_database_url)
    with db.session() as session:
        read_key = keys.create_key(session, "policy read", ["read"])[1]
        ingest_key = keys.create_key(session, "policy ingest", ["ingest"])[1]
    yield ([Caller("anonymous"), *(Caller(r, role=r) for r in ROLES),
            Caller("read key", scopes=("read",), key=read_key), Caller("ingest key", scopes=("ingest",), key=ingest_key)],
           db)
    db.dispose()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


def _client_for(app: Any, db: AppDatabase, caller: Caller, client: TestClient | None = None) -> TestClient:
    """A client as ``caller``; call again before each request for a fresh session (a
    sign-out route ends it). No lifespan is started (not used as a context manager)."""
    client = client or TestClient(app)
    if caller.key is not None:
        client.headers["authorization"] = f"Bearer {caller.key}"
    elif caller.role is not None:
        with db.session() as session:
            token = sessions.start(session, users.get_user(session, f"{caller.role}@example.com"))
        client.cookies.set(SESSION_COOKIE, token)
        client.headers[CSRF_HEADER] = client.get("/v1/auth/me").json()["csrf_token"]
    return client


def _refused(caller: Caller, response: Any) -> bool:
    if response.status_code in (401, 403):
        return "Missing or wrong CSRF token" not in response.text  # refused for the token, not the caller
    return response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_every_route_has_an_entry_in_the_access_table(web_env: Any) -> None:
    missing = [(m, p) for m, p in policy.route_table(web_env.app.routes) if policy.rule_for(m, p) is None]
    assert missing == [], "add these routes to journeylens.surfaces.policy.ROUTE_RULES"


def test_the_table_decides_every_route_for_every_role_and_key(web_env: Any, callers: Any) -> None:
    everyone, db = callers
    table = policy.route_table(web_env.app.routes)
    assert ("GET", "/journey-map") in table and ("GET", "/v1/journey/map") in table and len(table) > 60
    wrong = []
    clients = {caller.name: _client_for(web_env.app, db, caller) for caller in everyone}
    for method, path in table:
        rule = policy.rule_for(method, path)
        if rule == policy.PUBLIC or rule is None:
            continue
        for caller in everyone:
            expected = policy.allows(rule, role=caller.role, scopes=caller.scopes, path=path)
            client = clients[caller.name]
            if caller.role is not None and (method != "GET" or CSRF_HEADER not in client.headers):
                client = _client_for(web_env.app, db, caller, client)  # a fresh session per write
            token = client.headers.pop(CSRF_HEADER, "") if method != "GET" else ""
            # An unusable filter answers 4xx once access is granted, so the walk does not compute
            # every analysis (access is decided before parameters are read).
            response = client.request(method, _concrete(path), params={"start": "not-a-date"},
                                      headers={CSRF_HEADER: token} if token else None, follow_redirects=False,
                                      data={"csrf_token": token} if method != "GET" else None)
            if _refused(caller, response) == expected:
                wrong.append((caller.name, method, path, rule, response.status_code, response.text[:100]))
    assert wrong == [], "\n".join(map(str, wrong))


def test_agents_get_customer_journeys_but_no_analyses(web_env: Any, callers: Any) -> None:
    """The issue's leak: agents had 200 on the journey map, variants, metrics, cohorts, quarantine."""
    everyone, db = callers
    agent = next(c for c in everyone if c.role == "agent")
    client = _client_for(web_env.app, db, agent)
    for path in ("/v1/journey/map", "/v1/journey/variants", "/v1/metrics", "/v1/cohorts", "/v1/quarantine",
                 "/v1/ingest/log", "/export/journey-map.csv"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    events = web_env.lens.warehouse.table("events")
    customer = events.filter(events.customer_id.notnull()).select("customer_id").limit(1).execute().iloc[0, 0]
    assert client.get(f"/v1/customers/{customer}").status_code == 200
    assert client.get(f"/customers/{customer}").status_code == 200
    with db.session() as session:
        agent_user = users.get_user(session, "agent@example.com")
    assert [label for _, label in navigation(agent_user)] == ["Customers", "Inbox"]  # their tickets, no analyses


def test_viewers_never_see_raw_quarantined_rows(web_env: Any, callers: Any) -> None:
    """The docs promise viewers no customer ids: counts and reasons yes, the rows as read no."""
    everyone, db = callers
    web_env.lens.ingest("events", __import__("pandas").DataFrame(
        {"customer_id": ["secret-customer-7"], "touchpoint": [None], "timestamp": ["2024-05-01T10:00:00Z"],
         "event_id": ["secret-event-9"]}))
    by_name = {c.name: c for c in everyone}
    for name, sees in (("viewer", False), ("analyst", True), ("admin", True), ("read key", True)):
        client = _client_for(web_env.app, db, by_name[name])
        api = client.get("/v1/quarantine?reason=missing_touchpoint")
        assert api.status_code == 200 and api.json()["total"] >= 1
        assert ("secret-customer-7" in api.text) is sees and ("secret-event-9" in api.text) is sees, name
        if by_name[name].role is not None:
            page = client.get("/data-health?reason=missing_touchpoint")  # a key not cached before the ingest
            assert page.status_code == 200 and "missing_touchpoint" in page.text
            assert ("secret-customer-7" in page.text) is sees, name
            csv = client.get("/export/quarantine.csv?part=rows&reason=missing_touchpoint")
            assert csv.status_code == 200 and ("secret-customer-7" in csv.text) is sees, name
