"""Dates and date-times given as text: ISO 8601 only, never a bare number.

pydantic reads ``0.5`` or ``1700000000`` as seconds since 1970 for a ``datetime`` (and a whole
number of seconds for a ``date``). Nobody types a date that way into a journey tool, so a
number here is a mistake to refuse, not a date to guess.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(IsoDateTime).validate_python("2025-03-01T10:00:00Z").year
2025
>>> try:
...     TypeAdapter(IsoDate).validate_python("2025")
... except ValueError:
...     print("refused")
refused
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_text(value: Any) -> Any:
    if (isinstance(value, int | float) and not isinstance(value, bool)) or (
            isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("a date or date-time is ISO 8601 text (2025-03-01 or 2025-03-01T10:00:00Z), not a number")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
IsoDate = Annotated[date, BeforeValidator(_iso_text)]
