"""Evidence checks: named judgements of the deployment's facts against a threshold.

Each check takes the facts from :func:`.evidence.gather_evidence` plus the parameters the
maturity model gives it, and says whether it passes, what was found (a sentence with the
numbers), and — when it fails — the concrete next step and where in JourneyLens it is done.

>>> facts = {"definition": {"present": True, "stages": [], "touchpoints": [
...     {"name": "Branch visit", "stage": "Use", "owner": None, "critical": True, "targets": {}},
...     {"name": "App login", "stage": "Use", "owner": "ana@bank.example", "critical": False, "targets": {}}]}}
>>> out = run_check("touchpoint_owners", facts, {"min_share": 1.0})
>>> out.passed, out.finding
(False, '1 of 2 touchpoints have an owner (50 %).')
>>> out.step
'Add owners to these 1 touchpoints: Branch visit.'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Facts = dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    passed: bool
    finding: str
    step: str = ""
    link: str = ""
    items: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "finding": self.finding, "step": self.step, "link": self.link,
                "items": list(self.items)}


CheckFn = Callable[..., Outcome]
CHECKS: dict[str, CheckFn] = {}


def check(fn: CheckFn) -> CheckFn:
    CHECKS[fn.__name__.removeprefix("check_")] = fn
    return fn


def check_params(name: str, params: dict[str, Any]) -> None:
    """Raise ``ValueError`` when ``params`` do not fit the check's parameters."""
    signature = inspect.signature(CHECKS[name])
    allowed = [p for p in signature.parameters if p != "facts"]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"check {name!r} takes {', '.join(allowed) or 'no parameters'}; not {', '.join(unknown)}")
    missing = [p.name for p in signature.parameters.values()
               if p.name != "facts" and p.default is inspect.Parameter.empty and p.name not in params]
    if missing:
        raise ValueError(f"check {name!r} needs {', '.join(missing)}")


def run_check(name: str, facts: Facts, params: dict[str, Any]) -> Outcome:
    return CHECKS[name](facts, **params)


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{100 * share:.0f} %"


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _touchpoints(facts: Facts) -> list[dict[str, Any]]:
    return list(facts.get("definition", {}).get("touchpoints", []))


# --- the map and its ownership ---------------------------------------------------------------
@check
def check_definition_exists(facts: Facts) -> Outcome:
    if facts["definition"]["present"]:
        d = facts["definition"]
        return Outcome(True, f"Journey definition '{d['name']}' (version {d['version']}) with "
                             f"{len(d['stages'])} stages and {len(d['touchpoints'])} touchpoints is in use.")
    return Outcome(False, "No journey definition is in use (the map is only suggested from data).",
                   "Write the journey definition (stages, touchpoints, owners, targets) and load it.",
                   "/journey-definition")


@check
def check_events_present(facts: Facts) -> Outcome:
    rows = facts["tables"]["events"]["rows"]
    if rows:
        return Outcome(True, f"{rows:,} touchpoint events are in the warehouse.")
    return Outcome(False, "No touchpoint events have been loaded.", "Load events from your channels or send them "
                   "to the collector.", "/data-health")


@check
def check_touchpoint_owners(facts: Facts, min_share: float) -> Outcome:
    tps = _touchpoints(facts)
    if not tps:
        return Outcome(False, "No touchpoints are defined, so none has an owner.",
                       "Define the touchpoints of the journey, each with an owner.", "/journey-definition")
    missing = [tp["name"] for tp in tps if not tp.get("owner")]
    share = (len(tps) - len(missing)) / len(tps)
    finding = f"{len(tps) - len(missing)} of {len(tps)} touchpoints have an owner ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, f"Add owners to these {len(missing)} touchpoints: {_listing(missing)}.",
                   "/journey-definition", tuple(missing))


@check
def check_owners_are_users(facts: Facts, min_share: float) -> Outcome:
    owners = sorted({tp["owner"] for tp in _touchpoints(facts) if tp.get("owner")})
    if not owners:
        return Outcome(False, "No touchpoint has an owner yet.", "Name owners for the touchpoints.", "/journey-definition")
    accounts = set(facts["users"]["emails"])
    users = [o for o in owners if o in accounts]
    share = len(users) / len(owners)
    finding = f"{len(users)} of {len(owners)} touchpoint owners have a JourneyLens account ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    others = [o for o in owners if o not in accounts]
    return Outcome(False, finding, f"Give these owners an account so they see their numbers: {_listing(others)}.",
                   "/settings", tuple(others))


@check
def check_definition_reviewed(facts: Facts, max_days: float) -> Outcome:
    history = facts.get("definition_history", [])
    following = facts["journeys"].get("following_share")
    deviating = None if following is None else 1 - following
    changes = history[1:]  # the first version seen is not a change
    now = datetime.fromisoformat(facts["now"])
    recent = [h for h in changes if (now - datetime.fromisoformat(h["first_seen_at"])).days <= max_days]
    if recent:
        return Outcome(True, f"The journey definition changed {len(recent)} time(s) in the last {max_days:g} days.")
    if deviating is not None and deviating < 0.05:
        return Outcome(True, f"Only {_pct(deviating)} of journeys deviate from the defined stage order; "
                             "there is little to review.")
    dev = "" if deviating is None else f" while {_pct(deviating)} of journeys move backwards between stages"
    return Outcome(False, f"The journey definition has not changed in the last {max_days:g} days{dev}.",
                   "Review designed vs actual (backward moves, skipped stages) and update the definition.",
                   "/journey-map")


@check
def check_journeys_fit(facts: Facts, min_share: float) -> Outcome:
    share = facts["journeys"].get("following_share")
    if share is None:
        return Outcome(False, "Journeys cannot be compared with the map (no definition or no events).",
                       "Load events and a journey definition.", "/journey-definition")
    finding = f"{_pct(share)} of customers' journeys follow the defined stage order."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, "Look at the backward moves and skipped stages on the journey map, then fix "
                   "the journey or the map.", "/journey-map")


# --- data and measurement -------------------------------------------------------------------
@check
def check_data_fresh(facts: Facts, table: str, max_days: float) -> Outcome:
    info = facts["tables"].get(table)
    if info is None or not info["rows"]:
        return Outcome(False, f"No {table} have been received.", f"Connect a {table} source.", "/data-health")
    # The data's own time decides: a file of old events loaded today is a replay, not a living map.
    age = info.get("newest_age_days")
    if age is None:
        age = info.get("received_age_days")
    if age is None:
        return Outcome(False, f"The age of the {table} data is unknown.", "", "/data-health")
    received = f", last received {info['last_received'][:10]}" if info.get("last_received") else ""
    finding = (f"The newest {table} data is {age:,.0f} days old (newest timestamp "
               f"{(info['newest'] or 'unknown')[:10]}{received}).")
    if age <= max_days:
        return Outcome(True, finding)
    return Outcome(False, finding, f"Send {table} continuously (the collector, or a daily import): the last data "
                   f"must be at most {max_days:g} days old.", "/data-health")


@check
def check_feedback_present(facts: Facts) -> Outcome:
    rows = facts["tables"]["feedback"]["rows"]
    if rows:
        return Outcome(True, f"{rows:,} feedback responses are in the warehouse.")
    return Outcome(False, "No customer feedback has been loaded.", "Start a survey or import feedback.", "/surveys")


def _measured(facts: Facts, names: list[str], min_responses: int) -> list[str]:
    counts = facts["journeys"].get("responses_by_touchpoint", {})
    return [n for n in names if counts.get(n, 0) >= min_responses]


@check
def check_touchpoints_with_metrics(facts: Facts, min_share: float, min_responses: int = 5) -> Outcome:
    names = [tp["name"] for tp in _touchpoints(facts)]
    if not names:
        return Outcome(False, "No touchpoints are defined.", "Define the touchpoints.", "/journey-definition")
    measured = _measured(facts, names, min_responses)
    share = len(measured) / len(names)
    finding = f"{len(measured)} of {len(names)} touchpoints have at least {min_responses} responses ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    missing = [n for n in names if n not in measured]
    return Outcome(False, finding, f"Survey these touchpoints: {_listing(missing)}.", "/surveys", tuple(missing))


@check
def check_critical_touchpoints_measured(facts: Facts, min_share: float, min_responses: int = 5) -> Outcome:
    critical = [tp["name"] for tp in _touchpoints(facts) if tp.get("critical")]
    if not critical:
        return Outcome(False, "No touchpoint is marked critical.", "Mark the moments that matter as critical "
                       "in the journey definition.", "/journey-definition")
    measured = _measured(facts, critical, min_responses)
    share = len(measured) / len(critical)
    finding = f"{len(measured)} of {len(critical)} critical touchpoints are measured ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    missing = [n for n in critical if n not in measured]
    return Outcome(False, finding, f"Start a survey at these critical touchpoints: {_listing(missing)}.",
                   "/surveys", tuple(missing))


@check
def check_targets_set(facts: Facts, min_share: float) -> Outcome:
    d = facts["definition"]
    units = [("stage", s["name"], s["targets"]) for s in d["stages"]] + \
            [("touchpoint", t["name"], t["targets"]) for t in d["touchpoints"]]
    if not units:
        return Outcome(False, "No stages or touchpoints are defined.", "Define the journey.", "/journey-definition")
    without = [f"{kind} {name}" for kind, name, targets in units if not targets]
    share = (len(units) - len(without)) / len(units)
    finding = f"{len(units) - len(without)} of {len(units)} stages and touchpoints have a metric target ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, f"Set targets for these: {_listing(without)}.", "/journey-definition", tuple(without))


@check
def check_journeys_with_feedback(facts: Facts, min_share: float) -> Outcome:
    j = facts["journeys"]
    if not j["customers"]:
        return Outcome(False, "No customer journeys are loaded.", "Load events.", "/data-health")
    share = j["customers_with_feedback"] / j["customers"]
    finding = f"{j['customers_with_feedback']:,} of {j['customers']:,} customers' journeys carry feedback ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, "Survey more moments of the journey, and predict NPS for the customers who "
                   "never answer.", "/surveys")


# --- culture ----------------------------------------------------------------------------------
@check
def check_active_users(facts: Facts, min_users: int, days: int = 30) -> Outcome:
    now = datetime.fromisoformat(facts["now"])
    active = [u for u in facts["users"]["active_30d"]
              if u["last_sign_in"] and (now - datetime.fromisoformat(u["last_sign_in"])).days < days]
    finding = f"{len(active)} people signed in to the dashboard in the last {days} days."
    if len(active) >= min_users:
        return Outcome(True, finding)
    people = "person" if min_users == 1 else "people"
    return Outcome(False, finding, f"Invite the owners and frontline teams: at least {min_users} {people} should "
                   f"use JourneyLens every {days} days.", "/settings")


@check
def check_roles_in_use(facts: Facts, min_roles: int) -> Outcome:
    roles = sorted({u["role"] for u in facts["users"]["active_30d"] if u.get("role")})
    finding = f"Roles signing in over the last 30 days: {', '.join(roles) or 'none'}."
    if len(roles) >= min_roles:
        return Outcome(True, finding)
    return Outcome(False, finding, f"Bring at least {min_roles} roles (analysts, agents, managers) into the same tool.",
                   "/settings")


@check
def check_report_schedules(facts: Facts, min_count: int) -> Outcome:
    n = facts.get("report_schedules", 0)
    finding = f"{n} scheduled leadership report(s)."
    if n >= min_count:
        return Outcome(True, finding)
    return Outcome(False, finding, "Schedule the state-of-the-journey report to leadership every week or month.",
                   "/reports")


# --- listening, rules and tickets (facts registered by those modules) ---------------------------
def _ops(facts: Facts, name: str) -> dict[str, Any]:
    return dict(facts.get(name) or {})


def _survey_stages(facts: Facts) -> list[str]:
    """Stages a live survey listens at: declared stage filters, stages of the trigger touchpoints
    in the journey definition, and stages of invitations actually sent lately."""
    from fnmatch import fnmatchcase

    surveys = _ops(facts, "surveys")
    stages = set(surveys.get("declared_stages", [])) | set(surveys.get("invited_stages", []))
    for pattern in surveys.get("touchpoints", []):
        stages |= {tp["stage"] for tp in _touchpoints(facts) if fnmatchcase(tp["name"], pattern)}
    return sorted(stages)


@check
def check_surveys_live(facts: Facts, min_stages: int) -> Outcome:
    surveys = _ops(facts, "surveys")
    stages = _survey_stages(facts)
    finding = f"{surveys.get('live', 0)} live survey(s), covering {len(stages)} stage(s){': ' + ', '.join(stages) if stages else ''}."
    if len(stages) >= min_stages:
        return Outcome(True, finding)
    all_stages = [s["name"] for s in facts["definition"]["stages"]]
    missing = [s for s in all_stages if s not in stages]
    return Outcome(False, finding, f"Start touchpoint-triggered surveys in these stages: {_listing(missing)}.",
                   "/surveys", tuple(missing))


@check
def check_alert_rules(facts: Facts, min_count: int) -> Outcome:
    n = int(_ops(facts, "alerts").get("active_rules", 0))
    finding = f"{n} active alert rule(s)."
    if n >= min_count:
        return Outcome(True, finding)
    return Outcome(False, finding, "Create alert rules for the metrics that matter (a target miss, an anomaly).",
                   "/rules")


@check
def check_critical_touchpoints_with_rules(facts: Facts, min_share: float) -> Outcome:
    critical = [tp["name"] for tp in _touchpoints(facts) if tp.get("critical")]
    if not critical:
        return Outcome(False, "No touchpoint is marked critical.", "Mark the critical touchpoints.", "/journey-definition")
    alerts = _ops(facts, "alerts")
    watched = set(critical) if alerts.get("watches_every_touchpoint") else set(alerts.get("watched_touchpoints", []))
    covered = [c for c in critical if c in watched]
    share = len(covered) / len(critical)
    finding = f"{len(covered)} of {len(critical)} critical touchpoints are watched by an alert rule ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    missing = [c for c in critical if c not in watched]
    return Outcome(False, finding, f"Create a detractor rule for these critical touchpoints: {_listing(missing)}.",
                   "/rules", tuple(missing))


@check
def check_ticket_rules(facts: Facts, min_count: int) -> Outcome:
    n = int(_ops(facts, "alerts").get("ticket_rules", 0))
    finding = f"{n} active rule(s) open tickets for unhappy customers."
    if n >= min_count:
        return Outcome(True, finding)
    return Outcome(False, finding, "Create a response rule that opens a ticket for detractors, with an owner and SLA.",
                   "/rules")


@check
def check_tickets_within_sla(facts: Facts, min_share: float, min_tickets: int = 5) -> Outcome:
    t = _ops(facts, "tickets")
    done, within = int(t.get("closed", 0)), int(t.get("closed_within_sla", 0))
    if done < min_tickets:
        return Outcome(False, f"Only {done} ticket(s) were closed in the last 90 days (at least {min_tickets} "
                       "are needed to judge the SLA).", "Close the loop on detractors through tickets.", "/inbox")
    share = within / done
    finding = f"{within} of {done} tickets closed in the last 90 days met their SLA ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, "Work the overdue tickets first and check owners' capacity.", "/inbox")


@check
def check_root_causes_recorded(facts: Facts, min_share: float, min_tickets: int = 5) -> Outcome:
    t = _ops(facts, "tickets")
    done, caused = int(t.get("closed", 0)), int(t.get("closed_with_root_cause", 0))
    if done < min_tickets:
        return Outcome(False, f"Only {done} ticket(s) were closed in the last 90 days.",
                       "Close tickets with a root cause.", "/inbox")
    share = caused / done
    finding = f"{caused} of {done} closed tickets record a root cause ({_pct(share)})."
    if share >= min_share:
        return Outcome(True, finding)
    return Outcome(False, finding, "Record a root cause on every closed ticket and review them monthly.", "/inbox")
