"""Closing the loop in the dashboard: Inbox, Ticket, Alerts, Rules, and the overview's KPIs.

* ``/inbox`` (``tickets``) — my tickets and my teams', overdue first, then by due time;
* ``/tickets/{id}`` (``tickets``) — the customer's journey, the response, earlier tickets,
  the trail, and actions (log a call, note, status, reassign, close with a root cause);
* ``/alerts`` and ``/rules`` (``read``) — what fired and why; rules with their failed
  deliveries; admins edit rules here (validated like ``journeylens alert add``);
* ``/close-the-loop`` (``read``) — the KPI cards the overview loads.

Every action calls the same :mod:`journeylens.operations.tickets.service` function as the
CLI and the HTTP API, with the signed-in user as the actor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import JourneyLensError, NotFoundError, ParameterError
from journeylens.operations.alerts import actions, store
from journeylens.operations.models import User
from journeylens.operations.tickets import inbox, kpis, service
from journeylens.operations.tickets.routing import teams_of
from journeylens.surfaces.api.deps import AppDbDep
from journeylens.surfaces.api.hardening import RowId
from journeylens.surfaces.web.access import AdminDep, FormDep, ReaderDep, page_user
from journeylens.surfaces.web.context import PageDep
from journeylens.surfaces.web.rendering import WebRoute, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
TicketsDep = Annotated[User, Depends(page_user("tickets"))]
MAX_RULE_CHARS = 200_000


def _visibility(session: Session, user: User) -> inbox.Visibility:
    return inbox.Visibility.for_user(session, user.email, user.role)


@router.get("/inbox")
def inbox_page(request: Request, user: TicketsDep, db: AppDbDep, status: str = "open") -> Response:
    with db.session() as session:
        visibility = _visibility(session, user)
        rows = [{**inbox.ticket_row(t), "next_due": (d.isoformat() if (d := inbox.next_due(t)) else None),
                 "mine": t.owner == user.email}
                for t in inbox.list_tickets(session, visibility, status=status)]
    context = {"title": "Inbox", "rows": rows, "status": status, "teams": list(visibility.teams),
               "statuses": ["open", "all", "pending", "resolved", "closed"]}
    return render(request, "inbox.html", context)


def _assignees(session: Session) -> list[str]:
    return list(session.scalars(select(User.email).where(User.active.is_(True), User.role.in_(("agent", "admin")))
                                .order_by(User.email)))


@router.get("/tickets/{ticket_id}")
def ticket_page(ticket_id: RowId, request: Request, user: TicketsDep, db: AppDbDep, p: PageDep,
                error: str | None = None) -> Response:
    with db.session() as session:
        ticket = inbox.visible_ticket(session, ticket_id, _visibility(session, user))
        detail = inbox.ticket_detail(session, ticket)
        causes = [(c.code, c.label) for c in service.root_causes(session)]
        assignees = _assignees(session)
        states = service.states(session)
        moves = [s for s in states[ticket.status].next_states.split(",") if s and s != "closed"]
    timeline = None
    if detail["customer_id"]:
        result, _ = p.results.attempt("timeline", customer_id=detail["customer_id"])
        timeline = result.to_dict() if result else None
    context = {"title": f"Ticket {ticket_id}", "t": detail, "causes": causes, "outcomes": service.OUTCOMES,
               "assignees": assignees, "moves": moves, "timeline": timeline, "error": error,
               "items": list(reversed(timeline["items"]))[:60] if timeline else []}
    return render(request, "ticket.html", context)


def _ticket_action(ticket_id: int, user: User, db: AppDbDep, work: Callable[[Session], Any]) -> Response:
    """Run one action; a refused one comes back to the ticket page with its message."""
    try:
        with db.session() as session:
            inbox.visible_ticket(session, ticket_id, _visibility(session, user))
            work(session)
    except JourneyLensError as exc:
        if exc.http_status == 404:
            raise
        return RedirectResponse(f"/tickets/{ticket_id}?{urlencode({'error': exc.message})}", status_code=303)
    return RedirectResponse(f"/tickets/{ticket_id}", status_code=303)


@router.post("/tickets/{ticket_id}/act")
def ticket_action(ticket_id: RowId, request: Request, user: TicketsDep, form: FormDep, db: AppDbDep) -> Response:
    """One form endpoint for every action; ``action`` says which."""
    action, actor, note = form.get("action", ""), user.email, form.get("note", "")
    works: dict[str, Callable[[Session], Any]] = {
        "contact": lambda s: service.contact(s, ticket_id, actor=actor, note=note, channel=form.get("channel", "phone")),
        "note": lambda s: service.note(s, ticket_id, note, actor=actor),
        "status": lambda s: service.set_status(s, ticket_id, form.get("status", ""), actor=actor, note=note),
        "assign": lambda s: service.assign(s, ticket_id, form.get("owner", ""), actor=actor),
        "close": lambda s: service.close(s, ticket_id, actor=actor, root_cause=form.get("root_cause") or None,
                                         outcome=form.get("outcome") or None, note=note),
        "reopen": lambda s: service.reopen(s, ticket_id, actor=actor, note=note),
    }
    if action not in works:
        raise ParameterError(f"Unknown action {action!r}; allowed: {', '.join(works)}.")
    return _ticket_action(ticket_id, user, db, works[action])


@router.get("/alerts")
def alerts_page(request: Request, user: ReaderDep, db: AppDbDep, status: str = "open") -> Response:
    with db.session() as session:
        rows = [store.alert_row(a) for a in store.list_alerts(session, status="all" if status == "all" else status)]
    return render(request, "alerts.html", {"title": "Alerts", "rows": rows, "status": status})


@router.get("/rules")
def rules_page(request: Request, user: ReaderDep, db: AppDbDep) -> Response:
    with db.session() as session:
        rows = [store.rule_row(r) for r in store.list_rules(session)]
    return render(request, "rules.html", {"title": "Rules", "rows": rows, "rule": None, "submitted": None,
                                          "errors": None, "warnings": None})


@router.get("/rules/{name}")
def rule_page(name: str, request: Request, user: ReaderDep, db: AppDbDep) -> Response:
    with db.session() as session:
        detail = actions.show(session, name)
    return render(request, "rule.html", {"title": f"Rule {name}", "r": detail})


@router.post("/rules")
def rules_save(request: Request, user: AdminDep, form: FormDep, db: AppDbDep, p: PageDep) -> Response:
    """Validate and save pasted rule YAML (admins); errors come back with their lines."""
    text = form.get("yaml", "")[:MAX_RULE_CHARS]
    try:
        with db.session() as session:
            if form.get("check"):  # validate only: what the rule would be, and its warnings
                rule, checked = actions.check(session, p.lens, text, source="pasted rule")
                rows = [store.rule_row(r) for r in store.list_rules(session)]
                return render(request, "rules.html", {"title": "Rules", "rows": rows, "submitted": text,
                                                      "errors": None, "warnings": checked["warnings"],
                                                      "rule": {"name": rule.name, "kind": rule.kind}})
            saved = actions.add(session, p.lens, text, source="pasted rule", actor=user.email)
    except JourneyLensError as exc:
        with db.session() as session:
            rows = [store.rule_row(r) for r in store.list_rules(session)]
        errors = exc.details.get("errors") or [{"line": 1, "column": 1, "path": "", "message": exc.message}]
        return render(request, "rules.html", {"title": "Rules", "rows": rows, "submitted": text, "errors": errors,
                                              "warnings": None, "rule": None}, status_code=422)
    return RedirectResponse(f"/rules/{saved['name']}", status_code=303)


@router.post("/rules/{name}/{change}")
def rule_status(name: str, change: str, user: AdminDep, form: FormDep, db: AppDbDep) -> Response:
    status = {"pause": "paused", "resume": "active"}.get(change)
    if status is None:
        raise NotFoundError(f"No rule action {change!r}; use pause or resume.")
    with db.session() as session:
        store.set_status(session, name, status, actor=user.email)
    return RedirectResponse(f"/rules/{name}", status_code=303)


@router.get("/close-the-loop")
def close_the_loop_partial(request: Request, user: ReaderDep, db: AppDbDep, p: PageDep) -> Response:
    """The overview's close-the-loop KPI cards, by team and touchpoint (loaded after the page)."""
    with db.session() as session:
        visibility = _visibility(session, user) if user.role == "agent" else inbox.EVERYONE
        feedback = p.lens.warehouse.table("feedback")
        overall = kpis.load_stats(session, visibility, by="team", feedback=feedback)
        by_touchpoint = kpis.load_stats(session, visibility, by="touchpoint")["by"]
        mine = teams_of(session, user.email)
    return render(request, "partials/close_the_loop.html", {"s": overall, "by_touchpoint": by_touchpoint,
                                                            "teams": mine})
