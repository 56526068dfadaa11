"""The marker a running server leaves next to its DuckDB warehouse, so the CLI can find it.

The embedded DuckDB file admits one process. While ``journeylens serve`` holds it, the CLI
reads ``<warehouse>.server.json`` to learn the server's URL, its app database and a local
token (file mode 0600: whoever may read the warehouse file may read its data anyway), and
sends analysis commands to the server instead of failing on the lock (ADR 0020).

>>> marker_path("demo-data/journeylens.duckdb").name
'journeylens.duckdb.server.json'
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from journeylens.warehouse.engines import parse_location

MARKER_SUFFIX = ".server.json"


@dataclass(frozen=True)
class ServerMarker:
    """What a running server tells local CLI invocations about itself."""

    url: str
    pid: int
    warehouse: str
    app_database_url: str
    journey: str | None
    local_token: str
    started_at: str

    def is_alive(self) -> bool:
        """Whether the process that wrote the marker still runs (on this machine)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's live process
            return True
        return True


def duckdb_file(location: str) -> Path | None:
    """The DuckDB file of a warehouse location, ``None`` for in-memory or other engines."""
    engine, target = parse_location(location)
    if engine != "duckdb" or target in ("", ":memory:"):
        return None
    return Path(target)


def marker_path(location: str | Path) -> Path:
    path = Path(location)
    return path.with_name(path.name + MARKER_SUFFIX)


def absolute_database_url(url: str) -> str:
    """A SQLite URL with an absolute file path (so the marker means the same from any directory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)


def write_marker(location: str, *, url: str, app_database_url: str, journey: str | None,
                 local_token: str) -> ServerMarker | None:
    """Write the marker for the DuckDB warehouse at ``location`` (no marker for other engines)."""
    path = duckdb_file(location)
    if path is None:
        return None
    marker = ServerMarker(url=url, pid=os.getpid(), warehouse=str(path.resolve()),
                          app_database_url=absolute_database_url(app_database_url),
                          journey=str(Path(journey).resolve()) if journey else None,
                          local_token=local_token, started_at=datetime.now(UTC).isoformat())
    target = marker_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(marker), handle)
    os.replace(temporary, target)
    return marker


def read_marker(location: str) -> ServerMarker | None:
    """The live server's marker for ``location``; a stale marker (dead process) is ignored."""
    path = duckdb_file(location)
    if path is None:
        return None
    target = marker_path(path)
    try:
        payload = json.loads(target.read_text())
        marker = ServerMarker(**payload)
    except (OSError, ValueError, TypeError):
        return None
    return marker if marker.is_alive() else None


def remove_marker(marker: ServerMarker | None) -> None:
    """Remove the marker this process wrote (a later server's marker is left alone)."""
    if marker is None:
        return
    target = marker_path(marker.warehouse)
    try:
        if json.loads(target.read_text()).get("pid") == marker.pid:
            target.unlink()
    except (OSError, ValueError):
        pass
