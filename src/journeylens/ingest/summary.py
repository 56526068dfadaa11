"""What one ingest did: read = accepted + duplicates + quarantined, always."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IngestSummary:
    """Counts of one ingest (or of several combined with :meth:`combine`).

    >>> s = IngestSummary("events", read=3, accepted=1, duplicates=1, quarantined=1,
    ...                   reasons={"bad_timestamp": 1})
    >>> s.to_dict()
    {'table': 'events', 'read': 3, 'accepted': 1, 'duplicates': 1, 'quarantined': 1, 'reasons': {'bad_timestamp': 1}}
    """

    table: str
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: Mapping[str, int] = field(default_factory=dict)
    source: str = ""
    batch: str = ""

    def __post_init__(self) -> None:
        if self.read != self.accepted + self.duplicates + self.quarantined:
            raise ValueError(f"Inconsistent ingest counts: {self!r}")
        if sum(self.reasons.values()) != self.quarantined:
            raise ValueError(f"Reasons do not add up to the quarantined rows: {self!r}")

    def to_dict(self) -> dict[str, Any]:
        """The documented JSON shape (CLI ``--json``, HTTP API)."""
        return {
            "table": self.table,
            "read": self.read,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
        }

    @classmethod
    def combine(cls, table: str, summaries: Iterable[IngestSummary]) -> IngestSummary:
        """Add up several summaries of the same table (for example one per file)."""
        items = list(summaries)
        reasons: dict[str, int] = {}
        for item in items:
            for code, n in item.reasons.items():
                reasons[code] = reasons.get(code, 0) + n
        return cls(
            table,
            read=sum(s.read for s in items),
            accepted=sum(s.accepted for s in items),
            duplicates=sum(s.duplicates for s in items),
            quarantined=sum(s.quarantined for s in items),
            reasons=reasons,
            source=", ".join(s.source for s in items),
            batch=items[-1].batch if items else "",
        )
