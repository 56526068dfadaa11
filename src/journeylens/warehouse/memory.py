"""Memory defaults that fit the machine: DuckDB's memory limit derived from physical RAM
(or the container's cgroup limit), and a spill directory.

>>> parse_bytes("1.5GB")
1500000000
>>> default_memory_limit(total_bytes=24 * 1024**3)
'12.0GiB'
>>> default_memory_limit(total_bytes=2 * 1024**3)
'1.0GiB'
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Share of the machine's RAM the embedded DuckDB may use by default (DuckDB's own default
#: is 80 %; JourneyLens leaves room for the web server, Python objects and other processes).
DEFAULT_SHARE = 0.5
MIN_LIMIT_BYTES = 1024**3
_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}


def parse_bytes(text: str) -> int:
    """``'4GB'``, ``'512MiB'``, ``'1.5 GB'`` → bytes (DuckDB's units: GB = 1000³, GiB = 1024³)."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not match or match.group(2).upper() not in _UNITS:
        raise ValueError(f"not a size: {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def total_memory_bytes() -> int:
    """Physical RAM, or the cgroup (container) limit when lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value.isdigit() and 0 < int(value) < total:
            total = int(value)
    return total


def default_memory_limit(total_bytes: int | None = None) -> str:
    """Half the machine's RAM (at least 1 GiB), as a DuckDB size."""
    total = total_bytes if total_bytes is not None else total_memory_bytes()
    limit = max(int(total * DEFAULT_SHARE), MIN_LIMIT_BYTES)
    return f"{limit / 1024**3:.1f}GiB"


def resolve_memory_limit(setting: str) -> str:
    """The configured limit, with ``auto`` (the default) replaced by :func:`default_memory_limit`."""
    return default_memory_limit() if setting.strip().lower() == "auto" else setting


def default_temp_directory(database: str) -> str:
    """Where DuckDB spills: beside a database file (``<file>.tmp``, DuckDB's own choice), or
    under the system temp directory for an in-memory database."""
    if database and database != ":memory:":
        return f"{database}.tmp"
    return str(Path(tempfile.gettempdir()) / f"journeylens-duckdb-{os.getpid()}")


#: The setting that sets the ingest's budget (named when a load runs out of memory under it).
INGEST_SETTING = "JOURNEYLENS_INGEST_MEMORY_LIMIT"


@contextmanager
def memory_budget(con: Any, limit: str, *, setting: str = INGEST_SETTING) -> Iterator[None]:
    """Lower DuckDB's memory limit to ``limit`` (``auto``: unchanged) while the block runs —
    for bulk loads and the journey update after them, which spill well — and restore it after.
    Never raises the limit. Out of memory inside the block is an ``out_of_memory``
    :class:`~journeylens.errors.JourneyLensError` naming ``setting`` (the budget's own)."""
    from journeylens.errors import engine_error

    wanted = resolve_memory_limit(limit)
    before = str(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
    try:
        lower = parse_bytes(wanted) < parse_bytes(before.replace(" ", ""))
    except ValueError:
        lower = False
    try:
        if lower:  # this can fail too: DuckDB may not be able to free enough memory for it
            con.execute("SET memory_limit = ?", [wanted])
        yield
    except Exception as exc:
        error = engine_error(exc, setting=setting, limit=wanted) if lower else None
        if error is None:
            raise
        raise error from exc
    finally:
        if lower:
            con.execute("SET memory_limit = ?", [before])


#: Events a windowed pass handles per GiB of memory limit before analyses split the work
#: into buckets of customers. With integer-coded customers and nodes (ADR 0105) the transitions'
#: window over 106M events ran in one pass in a 5 GB process under a 7 GB limit.
EVENTS_PER_GIB = 20_000_000


def bucket_events(setting: str) -> int:
    """Events per bucket for bucketed analyses under the memory limit ``setting``.

    >>> bucket_events("4GiB")
    80000000
    """
    try:
        gib = parse_bytes(resolve_memory_limit(setting)) / 1024**3
    except ValueError:
        gib = 1.0
    return max(int(gib * EVENTS_PER_GIB), EVENTS_PER_GIB)
