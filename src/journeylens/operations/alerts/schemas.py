"""Public shapes of rules, alerts and tickets: the HTTP API's response models and request bodies.

They describe exactly what :mod:`journeylens.operations.alerts.store`,
:mod:`journeylens.operations.tickets.inbox` and :mod:`journeylens.operations.tickets.kpis`
return, which is also what the CLI's ``--json`` prints.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from journeylens.operations.calendar import BusinessCalendar

#: A value inside an answer's open-keyed parts (a stored response, an event's details).
Scalar = bool | int | float | str | None


class RuleText(BaseModel):
    yaml: str = Field(description="The rule as YAML (see docs/alerts-and-tickets.md).", max_length=200_000)


class RuleIssue(BaseModel):
    line: int
    column: int
    path: str
    message: str


class RuleVerdict(BaseModel):
    subject: str
    fires: bool
    explanation: str


class RuleCheck(BaseModel):
    valid: bool
    name: str
    kind: str
    warnings: list[RuleIssue]
    verdicts: list[RuleVerdict] | None = None


class RulePublic(BaseModel):
    name: str
    kind: str
    status: str
    created_by: str
    created_at: str | None
    updated_at: str | None
    last_run_at: str | None
    last_fired_at: str | None
    last_error: str | None
    last_error_at: str | None
    warnings: list[RuleIssue] | None = None


class AlertPublic(BaseModel):
    alert_id: int
    rule: str
    kind: str
    subject: str
    fired_at: str | None
    explanation: str
    status: str


class DeliveryProblem(BaseModel):
    message_id: int
    channel: str
    target: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: str | None


class RuleDetail(RulePublic):
    definition: dict[str, Any]
    yaml: str
    recent_alerts: list[AlertPublic]
    deliveries: dict[str, int]
    delivery_problems: list[DeliveryProblem]


class TicketRow(BaseModel):
    ticket_id: int
    status: str
    priority: str
    owner: str | None
    team: str | None
    customer_id: str | None
    response_id: str | None
    rule: str
    created_at: str | None
    first_contact_due: str | None
    due_at: str | None
    breached: bool
    root_cause: str | None


class TicketEventPublic(BaseModel):
    at: str | None
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str
    details: dict[str, Scalar] = Field(description="What the action changed (owner, team, channel, level…).")


class EarlierTicket(BaseModel):
    ticket_id: int
    status: str
    rule: str
    created_at: str | None
    root_cause: str | None
    outcome: str | None


class TicketDetail(TicketRow):
    touchpoint: str | None
    outcome: str | None
    first_contact_at: str | None
    resolved_at: str | None
    closed_at: str | None
    paused_at: str | None
    escalation_level: int
    business_hours: bool
    business_calendar: str | None = None
    response: dict[str, Scalar | dict[str, str]] = Field(
        description="The feedback response that opened the ticket (its fields; `contact`: email/phone).")
    follow_up: dict[str, Scalar] = Field(description="The follow-up survey after closure (empty before).")
    events: list[TicketEventPublic]
    earlier_tickets: list[EarlierTicket]


class TicketKpis(BaseModel):
    tickets: int
    open: int
    closed: int
    breached: int
    breach_rate: float | None
    contacted_within_24h_share: float | None
    contacted_within_48h_share: float | None
    median_hours_to_first_contact: float | None
    p90_hours_to_first_contact: float | None
    median_hours_to_close: float | None
    p90_hours_to_close: float | None
    recovery_rate: float | None
    follow_up_responses: int
    follow_up_nps: float | None


class RootCauseMonth(BaseModel):
    month: str
    root_cause: str
    tickets: int


class TicketGroup(TicketKpis):
    """The KPIs of one group; its key is the grouping (``team``, ``touchpoint``, ``root_cause``,
    ``owner`` or ``rule``) and its value."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | None]


class TicketStats(TicketKpis):
    root_causes: list[RootCauseMonth]
    by: list[TicketGroup]


class AssignBody(BaseModel):
    owner: str = Field(description="Email of the user who takes the ticket.")


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)


class ContactBody(BaseModel):
    note: str = Field(default="", max_length=20_000)
    channel: str = Field(default="phone", max_length=40)


class StatusBody(BaseModel):
    status: str = Field(description="A ticket state, e.g. pending (stops the SLA clock) or open.")
    note: str = Field(default="", max_length=20_000)


class CloseBody(BaseModel):
    root_cause: str | None = Field(default=None, description="A code from GET /v1/tickets/root-causes.")
    outcome: str | None = Field(default=None, description="recovered, not_recovered or unreachable.")
    note: str = Field(default="", max_length=20_000)


class RootCausePublic(BaseModel):
    code: str
    label: str


class TeamPublic(BaseModel):
    """A team with its members and business calendar (``journeylens tickets team NAME --json``)."""

    model_config = ConfigDict(extra="forbid")

    team: str
    lead: str | None
    members: list[str]
    business_hours: BusinessCalendar
    business_hours_text: str
    business_hours_default: bool
