"""Closing the loop in Chromium: an agent works a ticket from the Inbox through to closed with a root
cause; an admin validates and edits a rule on the Rules pages; Inbox, Ticket, Alerts and Rules pass
axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.browser]

ADMIN, AGENT, OTHER_AGENT = "admin@bank.example", "agent@bank.example", "other@bank.example"
PASSWORD = "browser-loop-password"
RULE = """\
name: branch-detractor
on: response
when: {touchpoint: "Branch visit", nps: "<= 6"}
ticket: {team: branch, owner: agent@bank.example, priority: high, first_contact_hours: 24, close_hours: 72,
         business_hours: true}
"""
WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMMENT = "Queued for forty minutes and nobody explained why"


@dataclass
class LoopServer:
    url: str
    ticket_id: int
    hidden_ticket_id: int


@pytest.fixture(scope="module")
def loop_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopServer]:
    from tests.browser.conftest import serving

    import journeylens
    from journeylens.operations import users
    from journeylens.operations.alerts import actions
    from journeylens.operations.appdb import AppDatabase
    from journeylens.operations.calendar import BusinessCalendar
    from journeylens.operations.tickets import service
    from journeylens.operations.tickets.models import Ticket
    from journeylens.operations.tickets.routing import ensure_team, set_business_hours
    from journeylens.settings import Settings
    from journeylens.surfaces.api.app import create_app

    workdir: Path = tmp_path_factory.mktemp("loop-browser")
    settings = Settings(warehouse=str(workdir / "wh.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        collector_spool=workdir / "spool", cache_dir=workdir / "cache")
    db = AppDatabase(settings.app_database_url)
    with db.session() as s:
        users.create_user(s, ADMIN, PASSWORD, role="admin")
        users.create_user(s, AGENT, PASSWORD, role="agent")
        users.create_user(s, OTHER_AGENT, PASSWORD, role="agent")
        ensure_team(s, "branch", members=[AGENT])
        set_business_hours(s, "branch", BusinessCalendar(days=WEEK, start="00:00", end="24:00", timezone="Europe/Amsterdam",
                                                         holidays="NL"), actor=ADMIN)
        actions.add(s, None, RULE, source="branch-detractor.yaml", actor=ADMIN)
    lens = journeylens.open(settings.warehouse, settings=settings)
    now = pd.Timestamp.now(tz="UTC")
    lens.ingest("events", pd.DataFrame([
        {"customer_id": "c1", "touchpoint": "Branch appointment", "channel": "web", "timestamp": now - pd.Timedelta("3D")},
        {"customer_id": "c1", "touchpoint": "Branch visit", "channel": "branch", "timestamp": now - pd.Timedelta("2h")}]))
    lens.ingest("feedback", pd.DataFrame([
        {"response_id": "r1", "customer_id": "c1", "timestamp": now - pd.Timedelta("1h"), "touchpoint": "Branch visit",
         "channel": "branch", "survey": "branch", "nps": 3, "comment": COMMENT}]))
    with db.session() as s:
        (ticket,) = s.query(Ticket).all()  # opened by the rule on ingest
        hidden = service.create_ticket(s, rule_id=None, rule_name="manual", response_key="elsewhere",
                                       response={"customer_id": "c9", "nps": 2}, priority="normal",
                                       owner=OTHER_AGENT, team="web", first_contact_hours=4, close_hours=24)
        ticket_id, hidden_id = ticket.id, hidden.id
    with serving(create_app(settings, lens=lens)) as url:
        yield LoopServer(url, ticket_id, hidden_id)
    lens.warehouse.close()
    db.dispose()


def _signed_in(browser: Any, server: LoopServer, email: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")
    return page


@pytest.fixture
def agent(browser: Any, loop_server: LoopServer) -> Iterator[Any]:
    page = _signed_in(browser, loop_server, AGENT)
    yield page
    page.context.close()


@pytest.fixture
def admin(browser: Any, loop_server: LoopServer) -> Iterator[Any]:
    page = _signed_in(browser, loop_server, ADMIN)
    yield page
    page.context.close()


def _serious(page: Any) -> list[Any]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]


def _loop_kpis(browser: Any, server: LoopServer) -> dict[str, str]:
    """The overview's close-the-loop block (the partial the overview loads), read by an admin."""
    page = _signed_in(browser, server, ADMIN)
    page.goto("/close-the-loop")
    kpis = {k.locator("h3").inner_text(): k.inner_text() for k in page.locator(".kpi").all()}
    page.context.close()
    return kpis


def test_agent_works_a_ticket_through_to_closed_with_a_root_cause(agent: Any, browser: Any,
                                                                  loop_server: LoopServer) -> None:
    before = _loop_kpis(browser, loop_server)
    assert "2" in before["Open tickets"] and "0 closed" in before["Open tickets"]
    page = agent
    page.goto("/inbox")
    assert page.get_by_role("heading", level=1, name="Inbox").is_visible()
    assert _serious(page) == []
    link = page.get_by_role("link", name=f"#{loop_server.ticket_id}", exact=True)
    assert link.is_visible()
    assert page.get_by_role("link", name=f"#{loop_server.hidden_ticket_id}", exact=True).count() == 0  # other team
    row = page.locator("tr", has=link)
    assert "high" in row.inner_text() and "branch-detractor" in row.inner_text() and "(you)" in row.inner_text()
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Ticket #{loop_server.ticket_id}")
    assert COMMENT in page.locator("blockquote").first.inner_text()
    assert ("business hours: mon, tue, wed, thu, fri, sat, sun 00:00–24:00 Europe/Amsterdam, NL public holidays off"
            in page.get_by_role("region", name="Ticket", exact=True).inner_text())  # the team's calendar
    journey = page.get_by_role("region", name="The customer's journey")
    assert "Branch appointment" in journey.inner_text() and "Branch visit" in journey.inner_text()
    assert _serious(page) == []

    calls = page.get_by_role("form", name="Log a call")
    calls.get_by_label("Contact by").select_option("phone")
    calls.get_by_label("What was said").fill("Called, apologised, booked a priority slot")
    calls.get_by_role("button", name="Log contact").click()
    page.wait_for_load_state("networkidle")
    assert "contacted" in page.get_by_role("region", name="Ticket", exact=True).inner_text()
    assert "open" in page.get_by_role("heading", level=1).inner_text()

    closing = page.get_by_role("form", name="Close the ticket")
    closing.get_by_role("button", name="Close ticket").click()  # the browser asks for the required fields first
    assert "open" in page.get_by_role("heading", level=1).inner_text()
    closing.get_by_label("Root cause").select_option(index=1)
    cause = closing.get_by_label("Root cause").input_value()
    closing.get_by_label("Outcome").select_option("recovered")
    closing.get_by_label("Note").fill("Customer happy with the new slot")
    closing.get_by_role("button", name="Close ticket").click()
    page.wait_for_load_state("networkidle")
    assert "closed" in page.get_by_role("heading", level=1).inner_text()
    facts = page.get_by_role("region", name="Ticket", exact=True).inner_text()
    assert cause in facts and "recovered" in facts
    history = page.get_by_role("region", name="Notes and history").inner_text()
    assert "closed by agent@bank.example" in history and "contact by agent@bank.example" in history
    assert page.get_by_role("button", name="Reopen").is_visible()
    assert page.console_errors == []

    page.goto("/inbox")
    assert page.get_by_role("link", name=f"#{loop_server.ticket_id}", exact=True).count() == 0  # no longer open
    after = _loop_kpis(browser, loop_server)  # the overview's KPIs moved
    assert "1 closed" in after["Open tickets"] and "100" in after["Recovered"]
    assert "100" in after["Contacted within 24 h"]
    page.goto(f"/tickets/{loop_server.hidden_ticket_id}")
    assert page.get_by_role("heading", level=1, name="Ticket").count() == 0  # another team's ticket: not shown


def test_admin_validates_and_edits_a_rule(admin: Any) -> None:
    page = admin
    page.goto("/rules")
    assert _serious(page) == []
    editor = page.get_by_role("form", name="Rule YAML")
    editor.get_by_label("Rule YAML").fill("name: web-csat\non: response\nwhen: {csat: '<= 2'}\n"
                                          "ticket: {priority: hgh}\n")
    editor.get_by_role("button", name="Validate", exact=True).click()
    page.wait_for_load_state("networkidle")
    problems = page.get_by_role("alert").inner_text()
    assert "line 4 (ticket.priority)" in problems
    assert page.console_errors == ["Failed to load resource: the server responded with a status of 422 "
                                   "(Unprocessable Entity)"]  # the invalid rule's page answers 422, as it should
    page.console_errors.clear()
    fixed = "name: web-csat\non: response\nwhen: {csat: '<= 2', touchpoint: Web chat}\nticket: {priority: high}\n"
    page.get_by_role("form", name="Rule YAML").get_by_label("Rule YAML").fill(fixed)
    page.get_by_role("form", name="Rule YAML").get_by_role("button", name="Validate", exact=True).click()
    page.wait_for_load_state("networkidle")
    verdict = page.get_by_role("status").inner_text()
    assert "Valid: response rule web-csat (not saved yet)" in verdict
    assert "line 3 (when.touchpoint)" in verdict and "no data in the warehouse yet" in verdict
    assert page.get_by_role("link", name="web-csat").count() == 0  # validating saved nothing
    page.get_by_role("form", name="Rule YAML").get_by_role("button", name="Validate and save").click()
    page.wait_for_url("**/rules/web-csat")
    assert _serious(page) == []

    edit = page.get_by_role("form", name="Edit the rule")
    yaml_box = edit.get_by_label("Rule YAML")
    assert "priority: high" in yaml_box.input_value()
    yaml_box.fill(yaml_box.input_value().replace("priority: high", "priority: urgent"))
    edit.get_by_role("button", name="Save changes").click()
    page.wait_for_url("**/rules/web-csat")
    assert "priority: urgent" in page.get_by_role("form", name="Edit the rule").get_by_label("Rule YAML").input_value()
    page.get_by_role("button", name="Pause").click()
    page.wait_for_load_state("networkidle")
    assert "paused" in page.get_by_role("heading", level=1).inner_text()
    page.goto("/rules")
    row = page.locator("tr", has=page.get_by_role("link", name="web-csat"))
    assert "paused" in row.inner_text()
    assert page.console_errors == []


def test_alerts_page_lists_the_fired_rule_and_is_accessible(admin: Any) -> None:
    page = admin
    page.goto("/alerts?status=all")
    assert page.get_by_role("heading", level=1, name="Alerts").is_visible()
    assert "branch-detractor" in page.locator("table").inner_text()
    assert _serious(page) == []
