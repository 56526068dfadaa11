"""``journeylens tickets …``: the hot-ticket inbox from the command line.

    journeylens tickets list --status open --owner agent@bank.example --json
    journeylens tickets show 12 --json                     # with the audit trail
    journeylens tickets assign 12 ana@bank.example
    journeylens tickets note 12 "Left a voicemail"
    journeylens tickets contact 12 --note "Called, apologised"
    journeylens tickets resolve 12 | reopen 12
    journeylens tickets close 12 --root-cause people --outcome recovered
    journeylens tickets stats --by team --json
    journeylens tickets team branch --lead lead@bank.example --member agent@bank.example
    journeylens tickets team branch --days mon,tue,wed,thu,fri --hours 08:30-17:00 \
        --timezone Europe/Amsterdam --holidays NL --closed 2026-12-24
    journeylens tickets causes [--add CODE --label TEXT]
    journeylens tickets escalate                            # what the worker runs every minute

``--as EMAIL`` names who acts in the audit trail (default ``cli``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.orm import Session

from journeylens.operations.calendar import calendar_from_options
from journeylens.operations.tickets import inbox, kpis, service
from journeylens.operations.tickets.escalation import escalate
from journeylens.operations.tickets.routing import ensure_team, set_business_hours, team_row
from journeylens.settings import get_settings
from journeylens.surfaces.cli.alert_cmd import AppDbOption, JsonOption, optional_lens, run
from journeylens.surfaces.cli.context import console, emit_json, emit_table

tickets_app = typer.Typer(help="Hot tickets: list, show, assign, note, contact, resolve, close, reopen, stats.",
                          no_args_is_help=True)
ActorOption = Annotated[str, typer.Option("--as", help="Who acts (recorded in the audit trail).")]


def register(app: typer.Typer) -> None:
    app.add_typer(tickets_app, name="tickets")


def _act(ctx: typer.Context, app_db: str | None, as_json: bool, work: Any, message: str) -> None:
    detail = run(ctx, app_db, as_json, lambda s: inbox.ticket_detail(s, work(s)))
    if as_json:
        emit_json(detail)
    else:
        console.print(message.format(**detail))


@tickets_app.command("list")
def list_tickets(ctx: typer.Context,
                 status: Annotated[str, typer.Option("--status", help="open (default), all, or states "
                                                                      "(new,open,pending,resolved,closed,reopened).")] = "open",
                 owner: Annotated[str | None, typer.Option("--owner", help="Only this owner's tickets.")] = None,
                 team: Annotated[str | None, typer.Option("--team", help="Only this team's tickets.")] = None,
                 app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Tickets, overdue first, then by due time."""
    rows = run(ctx, app_db, as_json, lambda s: [inbox.ticket_row(t) for t in inbox.list_tickets(
        s, inbox.EVERYONE, status=status, owner=owner, team=team)])
    if as_json:
        emit_json(rows)
    else:
        rows = [{k: (v[:16].replace("T", " ") if k.endswith(("_at", "_due")) and isinstance(v, str) else v)
                 for k, v in r.items()} for r in rows]
        emit_table(rows, title="Tickets", columns=["ticket_id", "status", "priority", "owner", "team", "customer_id",
                                                   "first_contact_due", "due_at", "breached"])


@tickets_app.command("show")
def show(ctx: typer.Context, ticket_id: int, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """One ticket with its response and audit trail."""
    detail = run(ctx, app_db, as_json, lambda s: inbox.ticket_detail(s, service.get_ticket(s, ticket_id)))
    if as_json:
        emit_json(detail)
        return
    console.print(escape(f"Ticket {detail['ticket_id']} [{detail['status']}, {detail['priority']}] owner "
                         f"{detail['owner'] or '—'} team {detail['team'] or '—'} customer {detail['customer_id']}"))
    console.print(f"Response: {detail['response']}", highlight=False, markup=False)
    emit_table(detail["events"], title="Audit trail", columns=["at", "actor", "action", "from_status", "to_status",
                                                               "note"])


@tickets_app.command("assign")
def assign(ctx: typer.Context, ticket_id: int, owner: str, actor: ActorOption = "cli",
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Give a ticket to another user."""
    _act(ctx, app_db, as_json, lambda s: service.assign(s, ticket_id, owner, actor=actor),
         "Ticket {ticket_id} now belongs to {owner}.")


@tickets_app.command("note")
def note(ctx: typer.Context, ticket_id: int, text: str, actor: ActorOption = "cli",
         app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Add a note to the audit trail."""
    _act(ctx, app_db, as_json, lambda s: service.note(s, ticket_id, text, actor=actor), "Noted on ticket {ticket_id}.")


@tickets_app.command("contact")
def contact(ctx: typer.Context, ticket_id: int,
            note_text: Annotated[str, typer.Option("--note", help="What was said.")] = "",
            channel: Annotated[str, typer.Option("--channel", help="phone, email, visit, …")] = "phone",
            actor: ActorOption = "cli", app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Log a contact with the customer (the first one stops the first-contact timer)."""
    _act(ctx, app_db, as_json, lambda s: service.contact(s, ticket_id, actor=actor, note=note_text, channel=channel),
         "Contact logged on ticket {ticket_id} ({status}).")


@tickets_app.command("status")
def status(ctx: typer.Context, ticket_id: int, to_status: str, actor: ActorOption = "cli",
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Move a ticket to another state (pending stops the SLA clock)."""
    _act(ctx, app_db, as_json, lambda s: service.set_status(s, ticket_id, to_status, actor=actor),
         "Ticket {ticket_id} is {status}.")


@tickets_app.command("resolve")
def resolve(ctx: typer.Context, ticket_id: int, actor: ActorOption = "cli",
            app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    _act(ctx, app_db, as_json, lambda s: service.resolve(s, ticket_id, actor=actor), "Ticket {ticket_id} is resolved.")


@tickets_app.command("close")
def close(ctx: typer.Context, ticket_id: int,
          root_cause: Annotated[str | None, typer.Option("--root-cause", help="A code from `tickets causes`.")] = None,
          outcome: Annotated[str | None, typer.Option(
              "--outcome", help=f"One of {', '.join(service.OUTCOMES)}.")] = None,
          note_text: Annotated[str, typer.Option("--note")] = "", actor: ActorOption = "cli",
          app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Close with a root cause and an outcome."""
    _act(ctx, app_db, as_json, lambda s: service.close(s, ticket_id, actor=actor, root_cause=root_cause,
                                                       outcome=outcome, note=note_text),
         "Ticket {ticket_id} is closed ({root_cause}, {outcome}).")


@tickets_app.command("reopen")
def reopen(ctx: typer.Context, ticket_id: int, actor: ActorOption = "cli",
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    _act(ctx, app_db, as_json, lambda s: service.reopen(s, ticket_id, actor=actor), "Ticket {ticket_id} is reopened.")


@tickets_app.command("stats")
def stats(ctx: typer.Context,
          by: Annotated[str | None, typer.Option("--by", help=f"One of {', '.join(kpis.GROUPINGS)}.")] = None,
          app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Close-the-loop KPIs: contacted within 24 h / 48 h, hours to contact and close, breaches, recovery."""
    lens = optional_lens(ctx)
    feedback = lens.warehouse.table("feedback") if lens is not None else None
    result = run(ctx, app_db, as_json, lambda s: kpis.load_stats(s, inbox.EVERYONE, by=by, feedback=feedback))
    if as_json:
        emit_json(result)
        return
    overall = {k: v for k, v in result.items() if k not in ("by", "root_causes")}
    emit_table([overall], title="Close the loop")
    if result["by"]:
        emit_table(result["by"], title=f"By {by}", columns=[by or "", "tickets", "open", "breached",
                                                           "contacted_within_24h_share", "median_hours_to_close"])


@tickets_app.command("team")
def team(ctx: typer.Context, name: str,
         lead: Annotated[str | None, typer.Option("--lead", help="The team lead's email.")] = None,
         member: Annotated[list[str] | None, typer.Option("--member", help="Add a member (repeat).")] = None,
         days: Annotated[str | None, typer.Option("--days", help="Working days, e.g. mon,tue,wed,thu,fri.")] = None,
         hours: Annotated[str | None, typer.Option("--hours", help="Opening hours, e.g. 08:30-17:00 (24:00 = "
                                                                    "midnight).")] = None,
         timezone: Annotated[str | None, typer.Option("--timezone", help="IANA zone, e.g. Europe/Amsterdam.")] = None,
         holidays: Annotated[str | None, typer.Option("--holidays", help="Public holidays of a country (NL, "
                                                                          "US-CA, …); 'none' for none.")] = None,
         closed: Annotated[list[str] | None, typer.Option("--closed", help="A company day off, YYYY-MM-DD "
                                                                           "(repeat).")] = None,
         default_hours: Annotated[bool, typer.Option("--default-hours", help="Back to Mon–Fri 09:00–17:00 "
                                                                             "in JOURNEYLENS_TIMEZONE.")] = False,
         actor: ActorOption = "cli", app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Create or update a team: members take turns (round-robin) on its tickets; its business hours
    (days, hours, time zone, public holidays, closed days) drive business-hours SLA clocks."""
    def work(session: Session) -> dict[str, Any]:
        t = ensure_team(session, name, lead_email=lead, members=member or [])
        if default_hours:
            set_business_hours(session, name, None, actor=actor)
        elif any(v is not None for v in (days, hours, timezone, holidays, closed)):
            set_business_hours(session, name, calendar_from_options(
                t.business_hours, days=days, hours=hours, timezone=timezone, holidays=holidays, closed=closed),
                actor=actor)
        return team_row(session, t, get_settings().timezone)

    result = run(ctx, app_db, as_json, work)
    if as_json:
        emit_json(result)
    else:
        console.print(f"Team {result['team']}: lead {result['lead'] or '—'}, members {', '.join(result['members'])}; "
                      f"business hours {result['business_hours_text']}")


@tickets_app.command("causes")
def causes(ctx: typer.Context, add: Annotated[str | None, typer.Option("--add", help="A new code.")] = None,
           label: Annotated[str, typer.Option("--label", help="Its label.")] = "",
           app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """The root causes agents choose from when closing (add your company's own)."""
    def work(session: Session) -> list[dict[str, Any]]:
        if add:
            service.add_root_cause(session, add, label)
            session.flush()
        return [{"code": c.code, "label": c.label} for c in service.root_causes(session)]

    rows = run(ctx, app_db, as_json, work)
    if as_json:
        emit_json(rows)
    else:
        emit_table(rows, title="Root causes")


@tickets_app.command("escalate")
def escalate_now(ctx: typer.Context, app_db: AppDbOption = None, as_json: JsonOption = False) -> None:
    """Warn before and escalate at SLA breaches now (the worker runs this every minute)."""
    report = run(ctx, app_db, as_json, lambda s: escalate(s).to_dict())
    if as_json:
        emit_json(report)
    else:
        console.print(f"Warned {len(report['warned'])}, escalated {len(report['breached'])} breached ticket(s).")
