"""Inbox, Ticket, Alerts, Rules pages and the ticket API over the full app: agents see only their
team's tickets on every route; the CLI's JSON shapes come back from HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from journeylens.operations import keys
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.tickets import service
from journeylens.operations.tickets.inbox import ROW_KEYS
from journeylens.operations.tickets.routing import ensure_team

STATS_KEYS = {"open", "closed", "breached", "contacted_within_24h_share", "median_hours_to_first_contact",
              "median_hours_to_close", "by"}
ALERT_KEYS = ["alert_id", "rule", "kind", "subject", "fired_at", "explanation", "status"]


@pytest.fixture(scope="module")
def tickets(web_env: Any) -> Iterator[dict[str, Any]]:
    """Two tickets: one for the agent's team, one for another team; plus API keys."""
    db = AppDatabase(web_env.settings.app_database_url)
    customer = web_env.lens.warehouse.table("feedback").customer_id.notnull()
    feedback = web_env.lens.warehouse.table("feedback")
    cid = feedback.filter(customer).customer_id.min().execute()
    with db.session() as s:
        ensure_team(s, "web-branch", members=["agent@example.com"])
        ours = service.create_ticket(s, rule_id=None, rule_name="manual", response_key="web-t1",
                                     response={"response_id": "web-t1", "customer_id": cid, "nps": 2,
                                               "comment": "Waited <b>forever</b>"},
                                     priority="high", owner=None, team="web-branch", first_contact_hours=24,
                                     close_hours=72)
        theirs = service.create_ticket(s, rule_id=None, rule_name="manual", response_key="web-t2",
                                       response={"customer_id": "someone-else", "nps": 1}, priority="normal",
                                       owner=None, team="web-other", first_contact_hours=24, close_hours=72)
        read_key = keys.create_key(s, "reader", ["read"])[1]
        ticket_key = keys.create_key(s, "crm sync", ["tickets", "read"])[1]
    yield {"ours": ours.id, "theirs": theirs.id, "customer": cid, "read_key": read_key, "ticket_key": ticket_key}
    db.dispose()


def test_agent_inbox_and_ticket_page(client_for: Callable[[str], TestClient], tickets: dict[str, Any],
                                     csrf: Callable[[str], str]) -> None:
    agent = client_for("agent")
    page = agent.get("/inbox")
    assert page.status_code == 200
    assert f'href="/tickets/{tickets["ours"]}"' in page.text and f'href="/tickets/{tickets["theirs"]}"' not in page.text
    assert agent.get(f"/tickets/{tickets['theirs']}").status_code == 404
    ticket = agent.get(f"/tickets/{tickets['ours']}")
    assert ticket.status_code == 200
    assert "Waited &lt;b&gt;forever&lt;/b&gt;" in ticket.text  # the comment, escaped
    assert "The customer's journey" in ticket.text and "No journey data" not in ticket.text
    token = csrf(ticket.text)
    url = f"/tickets/{tickets['ours']}/act"
    done = agent.post(url, data={"csrf_token": token, "action": "contact", "note": "Called", "channel": "phone"},
                      follow_redirects=False)
    assert done.status_code == 303
    refused = agent.post(url, data={"csrf_token": token, "action": "close", "outcome": "recovered"})
    assert refused.status_code == 200 and "root cause" in refused.text
    closed = agent.post(url, data={"csrf_token": token, "action": "close", "root_cause": "process",
                                   "outcome": "recovered"})
    assert "closed" in closed.text and "process · recovered" in closed.text
    assert agent.post(f"/tickets/{tickets['theirs']}/act", data={"csrf_token": token, "action": "note",
                                                                  "note": "x"}).status_code == 404


@pytest.mark.parametrize(("role", "path", "status"), [
    ("viewer", "/inbox", 403), ("analyst", "/inbox", 403), ("admin", "/inbox", 200), ("agent", "/inbox", 200),
    ("viewer", "/alerts", 200), ("viewer", "/rules", 200), ("agent", "/alerts", 403),
    ("viewer", "/close-the-loop", 200), ("viewer", "/", 200),
])
def test_roles_on_the_new_pages(client_for: Callable[[str], TestClient], tickets: dict[str, Any], role: str,
                                path: str, status: int) -> None:
    assert client_for(role).get(path).status_code == status


def test_admin_edits_rules_with_line_numbered_errors(client_for: Callable[[str], TestClient],
                                                     csrf: Callable[[str], str]) -> None:
    admin = client_for("admin")
    token = csrf(admin.get("/rules").text)
    bad = admin.post("/rules", data={"csrf_token": token, "yaml": "name: x\non: response\nwhen: {nps: '<= 6'}\n"
                                                                  "ticket: {priority: hgh}\n"})
    assert bad.status_code == 422 and "line 4" in bad.text
    good = admin.post("/rules", data={"csrf_token": token, "yaml": "name: web-detractor\non: response\n"
                                                                   "when: {nps: '<= 6', touchpoint: Nowhere}\n"},
                      follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/rules/web-detractor"
    assert "web-detractor" in admin.get("/rules/web-detractor").text
    viewer = client_for("viewer")
    assert viewer.post("/rules", data={"csrf_token": csrf(viewer.get("/rules").text), "yaml": "x"}).status_code == 403


def test_ticket_api_scopes_visibility_and_shapes(web_env: Any, client_for: Callable[[str], TestClient],
                                                 tickets: dict[str, Any]) -> None:
    api = TestClient(web_env.app)
    as_reader = {"Authorization": f"Bearer {tickets['read_key']}"}
    as_crm = {"Authorization": f"Bearer {tickets['ticket_key']}"}
    assert api.get("/v1/tickets", headers=as_reader).status_code == 403
    rows = api.get("/v1/tickets?status=all", headers=as_crm).json()
    assert {r["ticket_id"] for r in rows} >= {tickets["ours"], tickets["theirs"]}
    assert all(list(r) == list(ROW_KEYS) for r in rows)
    stats = api.get("/v1/tickets/stats?by=team", headers=as_reader).json()
    assert set(stats) >= STATS_KEYS and {"team", "tickets"} <= set(stats["by"][0])
    assert api.get("/v1/alerts?status=all", headers=as_reader).status_code == 200
    agent = client_for("agent")
    mine = agent.get("/v1/tickets?status=all").json()
    assert {r["ticket_id"] for r in mine} == {tickets["ours"]}
    assert agent.get(f"/v1/tickets/{tickets['theirs']}").status_code == 404
    for huge in (10**30, 2**63):  # beyond the databases' 64-bit keys: refused, not a 500 (found by the fuzzer)
        assert api.post(f"/v1/tickets/{huge}/resolve", headers=as_crm).status_code == 422
        assert agent.get(f"/tickets/{huge}").status_code == 422
    assert api.get(f"/v1/tickets/{2**63 - 1}", headers=as_crm).status_code == 404
    refused = api.post(f"/v1/tickets/{tickets['theirs']}/close", json={"outcome": "recovered"}, headers=as_crm)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "root_cause_required"
    closed = api.post(f"/v1/tickets/{tickets['theirs']}/close", json={"root_cause": "product", "outcome": "unreachable"},
                      headers=as_crm)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["events"][-1]["actor"].startswith("key:")
