"""Tables of hot tickets: tickets, their audit trail, states as data, teams and root causes.

States are rows, not code (the idea of Zammad's ``ticket_states`` seeds): each state says
whether the SLA clock runs in it and whether it counts as open, so a company can rename or
add one without a release. ``tickets`` is unique on ``(rule_id, response_key)``: one ticket
per response and rule, however often the response is ingested or the rule re-run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from journeylens.operations.models import Base, utcnow

PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")


class TicketState(Base):
    """One ticket state: whether it is open work and whether the SLA clock runs in it."""

    __tablename__ = "ticket_states"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    is_open: Mapped[bool] = mapped_column(default=True)
    clock_runs: Mapped[bool] = mapped_column(default=True)
    next_states: Mapped[str] = mapped_column(String(200), default="")  # comma list of allowed moves


class Team(Base):
    """A group of users that tickets can be routed to (round-robin cursor included)."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    lead_email: Mapped[str | None] = mapped_column(String(254), default=None)
    round_robin_position: Mapped[int] = mapped_column(default=0)
    #: The team's business calendar (``BusinessCalendar.to_dict()``); None: Mon–Fri 09–17.
    business_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON(), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class RootCause(Base):
    """A root cause a company lets agents choose when closing a ticket."""

    __tablename__ = "ticket_root_causes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Ticket(Base):
    """A hot ticket: one customer to call back, with owner, SLA due times and outcome."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("rule_id", "response_key", name="uq_tickets_rule_id_response_key"),
        Index("ix_tickets_status_due_at", "status", "due_at"),
        Index("ix_tickets_customer_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id", ondelete="SET NULL"), default=None)
    rule_name: Mapped[str] = mapped_column(String(100), default="")
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), default=None)
    response_key: Mapped[str] = mapped_column(String(200))
    response_id: Mapped[str | None] = mapped_column(String(200), default=None)
    customer_id: Mapped[str | None] = mapped_column(String(200), default=None)
    touchpoint: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(ForeignKey("ticket_states.name"), default="new")
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    owner: Mapped[str | None] = mapped_column(String(254), default=None)
    team: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(default=None)
    first_contact_hours: Mapped[float | None] = mapped_column(default=None)
    close_hours: Mapped[float | None] = mapped_column(default=None)
    business_hours: Mapped[bool] = mapped_column(default=False)
    #: The business calendar the due times were counted with (None for clock time).
    calendar: Mapped[dict[str, Any] | None] = mapped_column(JSON(), default=None)
    first_contact_due: Mapped[datetime | None] = mapped_column(default=None)
    due_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    first_contact_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    closed_at: Mapped[datetime | None] = mapped_column(default=None)
    root_cause: Mapped[str | None] = mapped_column(String(64), default=None)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    follow_up: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TicketEvent(Base):
    """The audit trail of one ticket: who did what and when (append only)."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket_id_at", "ticket_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32), default=None)
    to_status: Mapped[str | None] = mapped_column(String(32), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
