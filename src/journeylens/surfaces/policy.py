"""The one access table: what every route — API and dashboard alike — asks of its caller.

:data:`ROUTE_RULES` maps ``(METHOD, path template)`` to a rule: ``"public"`` (anyone),
``"signed_in"`` (any signed-in user or any valid API key) or a permission of
:data:`journeylens.operations.auth.PERMISSIONS`. A user holds a permission through the role
(:data:`~journeylens.operations.auth.ROLE_PERMISSIONS`); an API key through its scopes
(:data:`KEY_PERMISSIONS`). The app applies the table to every request before the route runs
(:func:`journeylens.surfaces.api.deps.authorize`) and a route with no entry is refused
(deny by default). ``tests/surfaces/test_access_policy.py`` walks the whole route table
for every role and key and fails for a route missing here, so a new route must be added.

A module that adds routes may also add its entries with :func:`register` at import time.

>>> allows(rule_for("GET", "/v1/journey/map"), role="agent"), allows("customer.lookup", role="agent")
(False, True)
>>> allows(rule_for("GET", "/v1/customers/{customer_id:path}"), scopes=("read",))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from journeylens.operations.auth import PERMISSIONS, role_allows

PUBLIC: Final = "public"
SIGNED_IN: Final = "signed_in"
RULES: Final = (PUBLIC, SIGNED_IN, *PERMISSIONS)

#: The permissions an API key's scopes stand for (a key has no role).
KEY_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "read": frozenset({"read", "customer.lookup"}),
    "ingest": frozenset({"ingest"}),
    "tickets": frozenset({"tickets"}),
    "admin": frozenset(PERMISSIONS),
}

_READ_API = ("/v1/journey/definition", "/v1/journey/suggest", "/v1/journey/map", "/v1/journey/channels",
             "/v1/journey/conformance", "/v1/journey/retention", "/v1/journey/time-to-stage", "/v1/cohorts",
             "/v1/cohorts/compare", "/v1/quarantine", "/v1/ingest/log", "/v1/metrics", "/v1/metrics/changes",
             "/v1/feedback/links", "/v1/text/sentiment", "/v1/text/topics", "/v1/text/pain-points",
             "/v1/journey/transitions", "/v1/journey/variants", "/v1/journey/funnel", "/v1/journey/outcomes",
             "/v1/journey/funnel-vs-map",
             "/v1/metrics/touchpoint-scores", "/v1/journey/switch-impact")
_READ_PAGES = ("/", "/journey-map", "/journey-map/deviations", "/funnel", "/variants", "/channels",
               "/micro-journeys", "/touchpoints/{name:path}/topics", "/touchpoints/{name:path}/card",
               "/touchpoints/{name:path}/comments", "/touchpoints/{name:path}", "/overview/section/{section}",
               "/split-options", "/channels/impact", "/micro-journeys/compare", "/micro-journeys/cohort-metrics", "/data-health",
               "/journey-definition", "/journey-definition/suggest", "/export/{view}.csv")
_COLLECTOR = ("/v1/events", "/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/alias", "/v1/group",
              "/v1/batch", "/v1/flush")

ROUTE_RULES: dict[tuple[str, str], str] = {
    # open doors: documentation, static assets, health, the sign-in itself
    **{("GET", p): PUBLIC for p in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz",
                                    "/login", "/static/vendor/plotly.min.js", "/static/{path:path}")},
    ("POST", "/login"): PUBLIC, ("POST", "/v1/auth/login"): PUBLIC,
    # anyone signed in (or any key): who am I, sign out
    ("GET", "/v1/auth/me"): SIGNED_IN, ("POST", "/v1/auth/logout"): SIGNED_IN, ("POST", "/logout"): SIGNED_IN,
    # analyses and data health: read
    **{("GET", p): "read" for p in (*_READ_API, *_READ_PAGES)},
    ("POST", "/v1/journey/check"): "read", ("POST", "/journey-definition/check"): "read",
    # one customer's journey and identities: customer lookup (admin, analyst, agent; read keys)
    ("GET", "/v1/identities"): "customer.lookup",
    ("GET", "/customers"): "customer.lookup", ("GET", "/data-health/identities"): "customer.lookup", ("GET", "/customers/{customer_id:path}"): "customer.lookup",
    ("GET", "/v1/customers/{customer_id:path}"): "customer.lookup",
    # data in
    **{("POST", p): "ingest" for p in _COLLECTOR},
    ("GET", "/v1/collector"): "ingest", ("POST", "/v1/ingest/{table}"): "ingest",
    # administration: users, keys, sessions, erasure
    **{(m, p): "admin" for m, p in (
        ("GET", "/v1/users"), ("POST", "/v1/users"), ("PATCH", "/v1/users/{user_id}"), ("GET", "/v1/keys"),
        ("POST", "/v1/keys"), ("DELETE", "/v1/keys/{prefix}"), ("GET", "/settings"), ("POST", "/settings/users"),
        ("POST", "/settings/users/{user_id}"), ("POST", "/settings/keys"), ("POST", "/settings/keys/{prefix}/revoke"),
        ("DELETE", "/v1/customers/{customer_id:path}"))},
    # surveys (issue 11): the answer page is public (its token is the credential)
    ("GET", "/s/{token}"): PUBLIC, ("POST", "/s/{token}"): PUBLIC,
    **{("GET", p): "read" for p in ("/v1/surveys", "/v1/surveys/stats", "/v1/surveys/suppressions",
                                    "/v1/surveys/{name}", "/v1/surveys/{name}/qr.svg", "/surveys",
                                    "/surveys/{name}/preview")},
    ("POST", "/v1/surveys/check"): "read", ("POST", "/v1/feedback"): "ingest",
    ("POST", "/v1/surveys/opt-outs"): "ingest",
    **{(m, p): "admin" for m, p in (("POST", "/v1/surveys"), ("GET", "/v1/surveys/invitations"),
                                    ("POST", "/v1/surveys/{name}/pause"), ("POST", "/v1/surveys/{name}/resume"))},
    # text analytics (issue 15): aspects and label corrections (correcting needs ingest, as the routes check)
    **{("GET", p): "read" for p in ("/v1/text/aspects", "/v1/text/corrections", "/v1/text/corrections/evaluation",
                                    "/aspects")},
    ("POST", "/v1/text/corrections"): "ingest", ("POST", "/text/corrections"): "ingest",
    # maturity, reports, models, annotations, saved views, freshness (issues 10, 13, 16)
    **{("GET", p): "read" for p in ("/v1/maturity", "/v1/maturity/history", "/v1/maturity/model",
                                    "/v1/reports/state-of-journey", "/v1/drivers", "/v1/predict/churn",
                                    "/v1/predict/churn/backtest",
                                    "/v1/predict/purchases", "/v1/annotations", "/v1/views", "/v1/views/{name}",
                                    "/v1/properties", "/v1/freshness", "/maturity", "/reports",
                                    "/reports/state-of-journey.{fmt}", "/definitions", "/views")},
    **{("POST", p): "read" for p in ("/v1/maturity/assess", "/v1/maturity/answers", "/v1/cli", "/maturity/assess")},
    ("GET", "/maturity/questionnaire"): SIGNED_IN, ("POST", "/maturity/questionnaire"): SIGNED_IN,
    **{(m, p): "ingest" for m, p in (("POST", "/v1/annotations"), ("DELETE", "/v1/annotations/{annotation_id}"),
                                     ("POST", "/v1/annotations/from-property"), ("POST", "/v1/views"),
                                     ("DELETE", "/v1/views/{name}"), ("POST", "/annotations"), ("POST", "/views"))},
    **{(m, p): "admin" for m, p in (("GET", "/v1/reports/schedules"), ("POST", "/v1/reports/schedules"),
                                    ("DELETE", "/v1/reports/schedules/{schedule_id}"), ("POST", "/reports/schedules"),
                                    ("POST", "/reports/schedules/{schedule_id}/stop"))},
    # acquisition, departures, models, alerts, tickets (issues 12, 14, 15)
    ("GET", "/v1/attribution"): "read",
    ("POST", "/v1/attribution/paths"): "read",
    ("GET", "/v1/spend-return"): "read",
    ("GET", "/v1/departures"): "read",
    ("GET", "/v1/alerts"): "read",
    ("GET", "/v1/alert-rules"): "read",
    ("POST", "/v1/alert-rules/check"): "read",
    ("POST", "/v1/alert-rules"): "admin",
    ("GET", "/v1/alert-rules/{name}"): "read",
    ("POST", "/v1/alert-rules/{name}/pause"): "admin",
    ("POST", "/v1/alert-rules/{name}/resume"): "admin",
    ("DELETE", "/v1/alert-rules/{name}"): "admin",
    ("GET", "/v1/tickets"): "tickets",
    ("GET", "/v1/tickets/stats"): "read",
    ("GET", "/v1/tickets/root-causes"): "tickets",
    ("GET", "/v1/tickets/{ticket_id}"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/assign"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/note"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/contact"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/status"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/resolve"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/close"): "tickets",
    ("POST", "/v1/tickets/{ticket_id}/reopen"): "tickets",
    ("GET", "/v1/teams/{name}"): "tickets",
    ("PUT", "/v1/teams/{name}/business-hours"): "admin",
    ("DELETE", "/v1/teams/{name}/business-hours"): "admin",
    ("GET", "/v1/what-if"): "read",
    ("GET", "/v1/predict/nps"): "read",
    ("GET", "/v1/predict/nps/validation"): "read",
    ("GET", "/v1/predict/survival"): "read",
    ("GET", "/acquisition"): "read",
    ("GET", "/departures"): "read",
    ("GET", "/drivers"): "read",
    ("GET", "/what-if"): "read",
    ("GET", "/at-risk"): "read",
    ("GET", "/predicted-nps"): "read",
    ("GET", "/inbox"): "tickets",
    ("GET", "/tickets/{ticket_id}"): "tickets",
    ("POST", "/tickets/{ticket_id}/act"): "tickets",
    ("GET", "/alerts"): "read",
    ("GET", "/rules"): "read",
    ("GET", "/rules/{name}"): "read",
    ("POST", "/rules"): "admin",
    ("POST", "/rules/{name}/{change}"): "admin",
    ("GET", "/close-the-loop"): "read",
}


def register(rules: Mapping[tuple[str, str], str]) -> None:
    """Add entries for a module's routes (each rule one of :data:`RULES`)."""
    for (method, path), rule in rules.items():
        if rule not in RULES:
            raise ValueError(f"unknown access rule {rule!r} for {method} {path}; allowed: {', '.join(RULES)}")
        ROUTE_RULES[(method.upper(), path)] = rule


def rule_for(method: str, path: str | None) -> str | None:
    """The rule of a route (``HEAD`` follows ``GET``), or ``None`` when it has none."""
    if path is None:
        return None
    method = "GET" if method.upper() == "HEAD" else method.upper()
    return ROUTE_RULES.get((method, path))


def is_page(path: str) -> bool:
    """Dashboard pages (everything outside ``/v1/``) are for people: API keys never open them."""
    return not path.startswith("/v1/")


def allows(rule: str | None, *, role: str | None = None, scopes: Iterable[str] = (), path: str = "/v1/") -> bool:
    """Whether a caller (a user's ``role``, or a key's ``scopes``; neither: anonymous) passes
    ``rule`` on ``path``."""
    if rule == PUBLIC:
        return True
    if rule is None:
        return False
    scopes = tuple(scopes)
    if role is None and (not scopes or is_page(path)):
        return False
    if rule == SIGNED_IN:
        return True
    if role is not None:
        return role_allows(role, rule)
    return any(rule in KEY_PERMISSIONS.get(scope, frozenset()) for scope in scopes)


def route_table(routes: Any) -> list[tuple[str, str]]:
    """(method, path) of every route of an app (``app.routes``), through included routers."""
    try:
        from fastapi.routing import iter_route_contexts

        walked: Any = iter_route_contexts(routes)
    except ImportError:  # FastAPI before lazy router inclusion
        walked = routes
    table = []
    for route in walked:
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                table.append((method, route.path))
    return table
