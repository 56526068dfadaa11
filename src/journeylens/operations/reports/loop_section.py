"""The report's "Closing the loop" section: the close-the-loop KPIs of the tickets module."""

from __future__ import annotations

from typing import Any

from journeylens.operations.reports.state import SECTIONS


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} h"


def closing_the_loop(lens: Any, db: Any) -> dict[str, Any] | None:
    """Contacted within 24 h, times to first contact and close, breaches, recovery (all tickets)."""
    if db is None:
        return None
    from journeylens.operations.tickets.inbox import Visibility
    from journeylens.operations.tickets.kpis import load_stats

    feedback = lens.warehouse.table("feedback") if lens.warehouse.has("feedback") else None
    with db.session() as session:
        stats = load_stats(session, Visibility(everything=True), feedback=feedback)
    if not stats["tickets"]:
        return None
    return {"title": "Closing the loop (hot tickets)", "rows": [
        {"label": "Tickets (open / closed)", "value": f"{stats['tickets']:,} ({stats['open']:,} / {stats['closed']:,})"},
        {"label": "Detractors contacted within 24 h", "value": _pct(stats["contacted_within_24h_share"])},
        {"label": "Median time to first contact", "value": _hours(stats["median_hours_to_first_contact"])},
        {"label": "Median time to close", "value": _hours(stats["median_hours_to_close"])},
        {"label": "SLA breach rate", "value": _pct(stats["breach_rate"])},
        {"label": "Recovered customers", "value": _pct(stats["recovery_rate"])},
    ]}


SECTIONS["closing_the_loop"] = closing_the_loop
