"""Templates, figures, CSV and the route class that turns errors into pages.

Every template is autoescaped; figures are embedded as JSON inside
``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped, so no text in a
result (a touchpoint name, a comment) can close the script element.

>>> str(figure_json({"layout": {"title": "</script><b>"}}))
'{"layout": {"title": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}}'
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from journeylens.errors import JourneyLensError, PermissionDeniedError

HERE = Path(__file__).parent
STATUS_LABELS: dict[str | None, str] = {"met": "Target met", "at_risk": "At risk", "missed": "Target missed",
                                        None: "No target"}


def status_label(status: str | None, target: Any = None) -> str:
    """The words for a target status; with a target but no status (too few answers to judge),
    never "No target"."""
    if status is None and target not in (None, {}, ""):
        return "Too few answers to judge the target"
    return STATUS_LABELS.get(status, "No target")


class LoginRequired(Exception):
    """Raised by page dependencies when nobody is signed in; answered with a redirect to /login."""


def figure_json(figure: Any) -> Markup:
    """A Plotly figure (or its dict) as JSON that is safe inside a ``<script>`` element."""
    if isinstance(figure, Markup):
        return figure  # already converted (cached)
    text = figure.to_json() if hasattr(figure, "to_json") else json.dumps(figure)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def styled(figure: Any, *, height: int = 340) -> Any:
    """The figure in the dashboard's look (layout only; the data are the result's)."""
    figure.update_layout(template="plotly_white", height=height, margin={"l": 48, "r": 16, "t": 48, "b": 40},
                         font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
                         colorway=["#1f5fbf", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490"])
    return figure


def fmt_pct(value: Any, digits: int = 1) -> str:
    return "—" if not _is_number(value) else f"{value * 100:.{digits}f}%"


def fmt_num(value: Any, digits: int = 1) -> str:
    if not _is_number(value):
        return "—"
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 100):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def fmt_duration(seconds: Any) -> str:
    if not _is_number(seconds):
        return "—"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def fmt_q(value: Any) -> str:
    """A q- or p-value: two significant digits, ``< 0.001`` below that (never a bare 0)."""
    if not _is_number(value):
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.2g}"


def fmt_q_text(value: Any) -> str:
    """``q = 0.0027`` or ``q < 0.001`` for running text."""
    text = fmt_q(value)
    return f"q {text}" if text.startswith("<") else f"q = {text}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)


def query_url(path: str, query: Mapping[str, Any], **changes: Any) -> str:
    """``path`` with ``query`` plus ``changes`` (``None`` removes a key) as its query string."""
    merged = {k: v for k, v in {**dict(query), **changes}.items() if v not in (None, "")}
    return f"{path}?{urlencode(merged)}" if merged else path


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=fmt_pct, num=fmt_num, duration=fmt_duration, q=fmt_q, q_text=fmt_q_text, figure=figure_json)
    env.globals.update(status_label=status_label, query_url=query_url)
    return env


templates = Jinja2Templates(env=_environment())


def render(request: Request, name: str, context: Mapping[str, Any], *, status_code: int = 200) -> Response:
    """Render ``name`` with the shared context (user, CSRF token, current path and query)."""
    from journeylens.operations.auth import role_allows
    from journeylens.surfaces.api.deps import csrf_token, set_presession_cookie

    user = getattr(request.state, "jl_user", None)
    base = {"request": request, "user": user, "csrf_token": csrf_token(request), "path": request.url.path,
            "query": dict(request.query_params), "nav": navigation(user),
            "can_lookup": user is not None and role_allows(user.role, "customer.lookup"),
            "annotations": _annotations(request) if user is not None else []}
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    set_presession_cookie(request, response)  # binds the sign-in form's CSRF token to this browser
    return secured(response)


def _annotations(request: Request) -> list[dict[str, Any]]:
    """Every annotation, for the charts of the page (drawn by app.js on date axes)."""
    from journeylens.operations.annotations import list_annotations
    from journeylens.surfaces.api.deps import _app_db_now

    with _app_db_now(request).session() as session:
        return [{"at": a.at.isoformat(), "title": a.title if not a.touchpoint else f"{a.title} ({a.touchpoint})",
                 "kind": a.kind} for a in list_annotations(session)]


#: Only this server's own scripts run (no inline script, no eval; figures are JSON data blocks,
#: which are not executed); styles may be inline (Plotly and the NPS bars set style attributes).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data: blob:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
}


def secured(response: Response) -> Response:
    """``response`` with the dashboard's security headers (every HTML page and fragment)."""
    response.headers.update(SECURITY_HEADERS)
    return response


#: (path, label, permission) of the main navigation.
NAVIGATION: tuple[tuple[str, str, str], ...] = (
    ("/", "Overview", "read"), ("/journey-map", "Journey map", "read"), ("/funnel", "Funnel", "read"),
    ("/variants", "Paths", "read"), ("/channels", "Channels", "read"), ("/micro-journeys", "Micro-journeys", "read"),
    ("/acquisition", "Acquisition", "read"), ("/departures", "Departures", "read"),
    ("/drivers", "Drivers & priorities", "read"), ("/what-if", "What-if", "read"), ("/at-risk", "At-risk customers", "read"),
    ("/predicted-nps", "Predicted NPS", "read"),
    ("/customers", "Customers", "customer.lookup"), ("/inbox", "Inbox", "tickets"), ("/alerts", "Alerts", "read"),
    ("/rules", "Rules", "read"), ("/surveys", "Surveys", "read"), ("/views", "Saved views", "read"),
    ("/data-health", "Data health", "read"),
    ("/journey-definition", "Journey definition", "read"), ("/maturity", "Maturity", "read"),
    ("/reports", "Reports", "read"), ("/settings", "Settings", "admin"),
)


def navigation(user: Any) -> list[tuple[str, str]]:
    """The links ``user``'s role may open."""

    from journeylens.surfaces import policy

    if user is None:
        return []
    return [(path, label) for path, label, _ in NAVIGATION
            if policy.allows(policy.rule_for("GET", path), role=user.role)]


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    if request.headers.get("hx-request"):
        return secured(HTMLResponse(f'<p class="notice error" role="alert">{Markup.escape(message)}</p>',
                                    status_code=status))
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?{urlencode({'next': target})}"
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class WebRoute(APIRoute):
    """Dashboard routes answer people with pages: sign-in redirects and HTML error pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return _login_redirect(request)
            except PermissionDeniedError as exc:
                return _error_page(request, 403, "Not allowed", exc.message)
            except JourneyLensError as exc:
                return _error_page(request, exc.http_status, "Something is not right", exc.message)
            except StarletteHTTPException as exc:
                if exc.status_code == 401:
                    return _login_redirect(request)
                raise

        return page_handler
