"""Who owns a new ticket: the rule's owner, the touchpoint's owner, or a team (round-robin).

``assign`` of the rule's ``ticket:`` decides; when left out the rule's ``owner`` wins, else
the owner the journey definition gives the touchpoint, else the team's next member in turn,
else nobody (the ticket waits in the team's queue).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from journeylens.errors import NotFoundError, ParameterError
from journeylens.operations.audit import record
from journeylens.operations.calendar import BusinessCalendar
from journeylens.operations.models import User
from journeylens.operations.tickets.models import Team, TeamMember


def find_team(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def get_team(session: Session, name: str) -> Team:
    team = find_team(session, name)
    if team is None:
        names = ", ".join(session.scalars(select(Team.name).order_by(Team.name))) or "(none)"
        raise NotFoundError(f"No team {name!r}; teams: {names}. Create one with `journeylens tickets team add`.")
    return team


def team_members(session: Session, team: Team) -> list[User]:
    """Active members in the order they joined (the round-robin order)."""
    query = (select(User).join(TeamMember, TeamMember.user_id == User.id)
             .where(TeamMember.team_id == team.id, User.active.is_(True))
             .order_by(TeamMember.added_at, User.id))
    return list(session.scalars(query))


def teams_of(session: Session, email: str) -> list[str]:
    """Names of the teams ``email`` belongs to or leads."""
    email = email.lower()
    query = (select(Team.name).join(TeamMember, TeamMember.team_id == Team.id)
             .join(User, User.id == TeamMember.user_id).where(User.email == email))
    led = select(Team.name).where(Team.lead_email == email)
    return sorted(set(session.scalars(query)) | set(session.scalars(led)))


def ensure_team(session: Session, name: str, *, lead_email: str | None = None,
                members: list[str] | None = None) -> Team:
    """Create team ``name`` if needed, set its lead, and add ``members`` (existing users' emails)."""
    team = find_team(session, name)
    if team is None:
        team = Team(name=name)
        session.add(team)
        session.flush()
    if lead_email is not None:
        team.lead_email = _existing_user(session, lead_email).email
    for email in members or []:
        user = _existing_user(session, email)
        if session.get(TeamMember, (team.id, user.id)) is None:
            session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return team


def set_business_hours(session: Session, name: str, calendar: BusinessCalendar | None, *, actor: str) -> Team:
    """Give team ``name`` (its queue) a business calendar; ``None`` goes back to Mon–Fri 09–17.

    Tickets opened later count their business-hours SLA with it; open tickets keep the
    calendar they were opened with (stored on each ticket).
    """
    team = ensure_team(session, name)
    team.business_hours = calendar.to_dict() if calendar is not None else None
    record(session, actor=actor, action="team.business_hours", target=name,
           details={"business_hours": team.business_hours})
    return team


def team_row(session: Session, team: Team, timezone: str = "UTC") -> dict[str, Any]:
    """``journeylens tickets team NAME --json`` shape."""
    calendar = BusinessCalendar.parse(team.business_hours, timezone=timezone)
    return {"team": team.name, "lead": team.lead_email, "members": [u.email for u in team_members(session, team)],
            "business_hours": calendar.to_dict(), "business_hours_text": calendar.describe(),
            "business_hours_default": team.business_hours is None}


def _existing_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFoundError(f"No user {email!r}; add one with `journeylens user add {email} --role agent`.")
    return user


def user_exists(session: Session, email: str) -> bool:
    return session.scalar(select(User.id).where(User.email == email.strip().lower())) is not None


def next_in_turn(session: Session, team: Team) -> str | None:
    """The team member whose turn it is, advancing the team's cursor (None for an empty team)."""
    return Router(session).next_in_turn(team)


class Router:
    """Routes many tickets in one transaction: teams, members and users are read once and the
    round-robin cursors advance in memory (on the session's ``Team`` rows, written at commit)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._teams: dict[str, Team | None] = {}
        self._members: dict[int, list[str]] = {}
        self._users: dict[str, bool] = {}
        self._calendars: dict[tuple[str | None, str], BusinessCalendar] = {}

    def team(self, name: str) -> Team | None:
        if name not in self._teams:
            self._teams[name] = find_team(self.session, name)
        return self._teams[name]

    def calendar(self, team: str | None, timezone: str) -> BusinessCalendar:
        """The business calendar of ``team`` (the default one when it has none)."""
        if (team, timezone) not in self._calendars:
            found = self.team(team) if team else None
            self._calendars[team, timezone] = BusinessCalendar.parse(
                found.business_hours if found is not None else None, timezone=timezone)
        return self._calendars[team, timezone]

    def user_exists(self, email: str) -> bool:
        key = email.strip().lower()
        if key not in self._users:
            self._users[key] = user_exists(self.session, key)
        return self._users[key]

    def next_in_turn(self, team: Team) -> str | None:
        if team.id not in self._members:
            self._members[team.id] = [u.email for u in team_members(self.session, team)]
        members = self._members[team.id]
        if not members:
            return None
        chosen = members[team.round_robin_position % len(members)]
        team.round_robin_position = (team.round_robin_position + 1) % len(members)
        return chosen

    def route(self, spec: Any, touchpoint_owner: str | None) -> tuple[str | None, str | None]:
        """``(owner email or None, team name or None)`` for a new ticket of rule ``spec`` (a TicketSpec)."""
        team = self.team(spec.team) if spec.team else None
        if spec.team and team is None:
            team = self._teams[spec.team] = ensure_team(self.session, spec.team)  # named before it has members
        assignment = spec.assignment
        if assignment == "owner" and spec.owner:
            return spec.owner.lower(), spec.team
        if assignment == "touchpoint_owner" and touchpoint_owner:
            if self.user_exists(touchpoint_owner):  # the journey names a person ...
                return touchpoint_owner.lower(), spec.team
            owning_team = self.team(touchpoint_owner)  # ... or a team
            if owning_team is not None:
                return self.next_in_turn(owning_team), owning_team.name
        if team is not None and assignment != "team":
            return self.next_in_turn(team), team.name
        return None, spec.team


def route(session: Session, spec: Any, touchpoint_owner: str | None) -> tuple[str | None, str | None]:
    """``(owner email or None, team name or None)`` for a new ticket of rule ``spec`` (a TicketSpec)."""
    return Router(session).route(spec, touchpoint_owner)


def check_assignee(session: Session, email: str) -> str:
    """The email of an active user who can own a ticket."""
    user = _existing_user(session, email)
    if not user.active:
        raise ParameterError(f"User {email!r} is deactivated and cannot own tickets.")
    return user.email
