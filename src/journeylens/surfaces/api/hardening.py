"""Input rules every request meets before any route runs (OWASP ASVS 5.1).

* A NUL character in the path or query string (``%00`` or raw) is refused with 400 and the
  one error shape: no id, name, date or filter has one, and engines refuse it in SQL.
* Number parameters that count days or minutes are bounded and finite
  (:data:`DaysQuery`, :data:`MinutesQuery`): ``1e308`` or ``inf`` is a 422, not an overflow.
* Every integer parameter is bounded: row ids (:data:`RowId`) within what SQLite and
  PostgreSQL store, counts (:func:`CountQuery`) and horizons (:func:`HorizonQuery`) within
  sense, so ``10**30`` is a 422, never an overflow in a driver. ``tests/surfaces/api/
  test_parameters.py`` fails for any integer parameter of any route without both bounds.
* Date-time parameters (:data:`IsoDateTime`) take ISO 8601 text only: a bare number such as
  ``0.5`` or ``2025`` is refused (422), not read as seconds since 1970.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path, Query
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from journeylens.operations.datetext import IsoDateTime
from journeylens.surfaces.api.errors import error_body

__all__ = ["CountQuery", "DaysQuery", "HorizonQuery", "IsoDateTime", "MinutesQuery", "RefuseNul", "RowId"]

MAX_DAYS: Final = 36_500.0  # a hundred years
MAX_MINUTES: Final = MAX_DAYS * 24 * 60
#: The largest integer SQLite and PostgreSQL (BIGINT) store: a larger id cannot name a row.
MAX_ROW_ID: Final = 2**63 - 1
#: More than any sample size or customer count a warehouse holds (``min_n``, ``min_customers``).
MAX_COUNT: Final = 10**12
MAX_HORIZON_DAYS: Final = 36_500

#: A row id in the path (tickets, users, schedules, annotations): 1 … 2⁶³−1.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id (1 … 2⁶³−1).")]


def DaysQuery(**extra: Any) -> Any:
    """A query parameter counting days: more than 0, at most :data:`MAX_DAYS`, finite."""
    return Query(gt=0, le=MAX_DAYS, allow_inf_nan=False, **extra)


def MinutesQuery(**extra: Any) -> Any:
    """A query parameter counting minutes: 0 or more, at most :data:`MAX_MINUTES`, finite."""
    return Query(ge=0, le=MAX_MINUTES, allow_inf_nan=False, **extra)


def CountQuery(minimum: int, **extra: Any) -> Any:
    """A query parameter counting rows or customers: at least ``minimum``, at most :data:`MAX_COUNT`."""
    return Query(ge=minimum, le=MAX_COUNT, **extra)


def HorizonQuery(**extra: Any) -> Any:
    """A query parameter giving whole days ahead: 1 … :data:`MAX_HORIZON_DAYS`."""
    return Query(ge=1, le=MAX_HORIZON_DAYS, **extra)


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
