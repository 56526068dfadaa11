"""Input rules every request meets before any route runs (OWASP ASVS 5.1).

* A NUL character in the path or query string (``%00`` or raw) is refused with 400 and the
  one error shape: no id, name, date or filter has one, and engines refuse it in SQL.
* Number parameters that count days or minutes are bounded and finite
  (:data:`DaysQuery`, :data:`MinutesQuery`): ``1e308`` or ``inf`` is a 422, not an overflow.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import Query
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from journeylens.surfaces.api.errors import error_body

MAX_DAYS: Final = 36_500.0  # a hundred years
MAX_MINUTES: Final = MAX_DAYS * 24 * 60


def DaysQuery(**extra: Any) -> Any:
    """A query parameter counting days: more than 0, at most :data:`MAX_DAYS`, finite."""
    return Query(gt=0, le=MAX_DAYS, allow_inf_nan=False, **extra)


def MinutesQuery(**extra: Any) -> Any:
    """A query parameter counting minutes: 0 or more, at most :data:`MAX_MINUTES`, finite."""
    return Query(ge=0, le=MAX_MINUTES, allow_inf_nan=False, **extra)


def _has_nul(scope: Scope) -> bool:
    raw_path = scope.get("raw_path") or scope.get("path", "").encode()
    query = scope.get("query_string", b"")
    return any(b"\x00" in part or b"%00" in part for part in (raw_path, query)) or "\x00" in scope.get("path", "")


class RefuseNul:
    """ASGI middleware: 400 ``invalid_request`` for a NUL character in the path or query."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            response = JSONResponse(error_body("invalid_request", "The path or query string contains a NUL "
                                               "character (%00); no parameter may hold one."), status_code=400)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
