"""HTTP routes of alert rules, alerts and hot tickets (the CLI's JSON, route for route).

    GET  /v1/alerts?status=open|closed|all                 read
    GET  /v1/alert-rules   GET /v1/alert-rules/{name}         read
    POST /v1/alert-rules/check {yaml}                      read
    POST /v1/alert-rules {yaml}   POST …/{name}/pause|resume   DELETE …/{name}    admin
    GET  /v1/tickets?status=&owner=&team=                  tickets
    GET  /v1/tickets/stats?by=team|touchpoint|root_cause    read
    GET  /v1/tickets/root-causes                            tickets
    GET  /v1/tickets/{id}                                   tickets
    POST /v1/tickets/{id}/assign|note|contact|status|resolve|close|reopen   tickets
    GET  /v1/teams/{name}                                   tickets
    PUT|DELETE /v1/teams/{name}/business-hours              admin

Signed-in agents see only their own and their teams' tickets (others answer 404); admins
and API keys with the ``tickets`` scope see all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from journeylens.errors import ParameterError
from journeylens.operations.alerts import actions, store
from journeylens.operations.alerts.schemas import (
    AlertPublic,
    AssignBody,
    CloseBody,
    ContactBody,
    NoteBody,
    RootCausePublic,
    RuleCheck,
    RuleDetail,
    RulePublic,
    RuleText,
    StatusBody,
    TeamPublic,
    TicketDetail,
    TicketRow,
    TicketStats,
)
from journeylens.operations.calendar import BusinessCalendar
from journeylens.operations.tickets import inbox, kpis, routing, service
from journeylens.surfaces.api.deps import (
    DbSessionDep,
    LensDep,
    Principal,
    RowId,
    SettingsDep,
    require_scope,
)

router = APIRouter(prefix="/v1", tags=["alerts and tickets"])
ReadDep = Annotated[Principal, Depends(require_scope("read"))]
AdminDep = Annotated[Principal, Depends(require_scope("admin"))]
TicketsDep = Annotated[Principal, Depends(require_scope("tickets"))]


def visibility(session: Session, principal: Principal) -> inbox.Visibility:
    """What ``principal`` may see: a user by role and teams, an API key everything."""
    if principal.user is not None:
        return inbox.Visibility.for_user(session, principal.user.email, principal.user.role)
    return inbox.EVERYONE


# --- alerts and rules -------------------------------------------------------------------
@router.get("/alerts")
def list_alerts(_: ReadDep, session: DbSessionDep, status: str = "open", rule: str | None = None) -> list[AlertPublic]:
    if status not in ("open", "closed", "all"):
        raise ParameterError(f"Unknown alert status {status!r}; use open, closed or all.")
    return [AlertPublic(**store.alert_row(a)) for a in store.list_alerts(session, status=status, rule=rule)]


@router.get("/alert-rules")
def list_rules(_: ReadDep, session: DbSessionDep) -> list[RulePublic]:
    return [RulePublic(**store.rule_row(r)) for r in store.list_rules(session)]


@router.post("/alert-rules/check")
def check_rule(body: RuleText, _: ReadDep, session: DbSessionDep, lens: LensDep) -> RuleCheck:
    return RuleCheck(**actions.check(session, lens, body.yaml, source="request body")[1])


@router.post("/alert-rules", status_code=201)
def add_rule(body: RuleText, principal: AdminDep, session: DbSessionDep, lens: LensDep) -> RulePublic:
    return RulePublic(**actions.add(session, lens, body.yaml, source="request body", actor=principal.actor))


@router.get("/alert-rules/{name}")
def show_rule(name: str, _: ReadDep, session: DbSessionDep) -> RuleDetail:
    return RuleDetail(**actions.show(session, name))


@router.post("/alert-rules/{name}/pause")
def pause_rule(name: str, principal: AdminDep, session: DbSessionDep) -> RulePublic:
    return RulePublic(**store.rule_row(store.set_status(session, name, "paused", actor=principal.actor)))


@router.post("/alert-rules/{name}/resume")
def resume_rule(name: str, principal: AdminDep, session: DbSessionDep) -> RulePublic:
    return RulePublic(**store.rule_row(store.set_status(session, name, "active", actor=principal.actor)))


@router.delete("/alert-rules/{name}")
def delete_rule(name: str, principal: AdminDep, session: DbSessionDep) -> dict[str, bool]:
    store.delete_rule(session, name, actor=principal.actor)
    return {"deleted": True}


# --- teams (queues) and their business hours ---------------------------------------------
@router.get("/teams/{name}")
def show_team(name: str, _: TicketsDep, session: DbSessionDep, settings: SettingsDep) -> TeamPublic:
    return TeamPublic(**routing.team_row(session, routing.get_team(session, name), settings.timezone))


@router.put("/teams/{name}/business-hours")
def set_team_hours(name: str, body: BusinessCalendar, principal: AdminDep, session: DbSessionDep,
                   settings: SettingsDep) -> TeamPublic:
    """Set the team's business calendar (days, start, end, timezone, holidays, closed)."""
    team = routing.set_business_hours(session, name, body, actor=principal.actor)
    return TeamPublic(**routing.team_row(session, team, settings.timezone))


@router.delete("/teams/{name}/business-hours")
def reset_team_hours(name: str, principal: AdminDep, session: DbSessionDep,
                     settings: SettingsDep) -> TeamPublic:
    """Back to the default calendar (Mon–Fri 09:00–17:00 in JOURNEYLENS_TIMEZONE)."""
    team = routing.set_business_hours(session, name, None, actor=principal.actor)
    return TeamPublic(**routing.team_row(session, team, settings.timezone))


# --- tickets ------------------------------------------------------------------------------
@router.get("/tickets")
def list_tickets(principal: TicketsDep, session: DbSessionDep, status: str = "open", owner: str | None = None,
                 team: str | None = None, customer_id: str | None = None) -> list[TicketRow]:
    found = inbox.list_tickets(session, visibility(session, principal), status=status, owner=owner, team=team,
                               customer_id=customer_id)
    return [TicketRow(**inbox.ticket_row(t)) for t in found]


@router.get("/tickets/stats")
def ticket_stats(principal: ReadDep, session: DbSessionDep, lens: LensDep, by: str | None = None) -> TicketStats:
    return TicketStats(**kpis.load_stats(session, visibility(session, principal), by=by,
                                         feedback=lens.warehouse.table("feedback")))


@router.get("/tickets/root-causes")
def list_root_causes(_: TicketsDep, session: DbSessionDep) -> list[RootCausePublic]:
    return [RootCausePublic(code=c.code, label=c.label) for c in service.root_causes(session)]


@router.get("/tickets/{ticket_id}")
def show_ticket(ticket_id: RowId, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    ticket = inbox.visible_ticket(session, ticket_id, visibility(session, principal))
    return TicketDetail(**inbox.ticket_detail(session, ticket))


def _act(session: Session, principal: Principal, ticket_id: int, work: Callable[[str], Any]) -> TicketDetail:
    inbox.visible_ticket(session, ticket_id, visibility(session, principal))
    ticket = work(principal.actor)
    return TicketDetail(**inbox.ticket_detail(session, ticket))


@router.post("/tickets/{ticket_id}/assign")
def assign(ticket_id: RowId, body: AssignBody, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.assign(session, ticket_id, body.owner, actor=actor))


@router.post("/tickets/{ticket_id}/note")
def add_note(ticket_id: RowId, body: NoteBody, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.note(session, ticket_id, body.text, actor=actor))


@router.post("/tickets/{ticket_id}/contact")
def log_contact(ticket_id: RowId, body: ContactBody, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.contact(
        session, ticket_id, actor=actor, note=body.note, channel=body.channel))


@router.post("/tickets/{ticket_id}/status")
def change_status(ticket_id: RowId, body: StatusBody, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.set_status(
        session, ticket_id, body.status, actor=actor, note=body.note))


@router.post("/tickets/{ticket_id}/resolve")
def resolve(ticket_id: RowId, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.resolve(session, ticket_id, actor=actor))


@router.post("/tickets/{ticket_id}/close")
def close(ticket_id: RowId, body: CloseBody, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.close(
        session, ticket_id, actor=actor, root_cause=body.root_cause, outcome=body.outcome, note=body.note))


@router.post("/tickets/{ticket_id}/reopen")
def reopen(ticket_id: RowId, principal: TicketsDep, session: DbSessionDep) -> TicketDetail:
    return _act(session, principal, ticket_id, lambda actor: service.reopen(session, ticket_id, actor=actor))
