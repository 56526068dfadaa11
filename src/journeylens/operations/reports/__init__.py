"""Reports for leadership: the one-page *state of the journey* (HTML and PDF) and its schedules.

>>> from journeylens.operations.reports.render import sparkline
>>> sparkline([1, 3, 2], width=30, height=10)[:40]
'<svg xmlns="http://www.w3.org/2000/svg" '
"""

from journeylens.operations.reports import loop_section as _loop_section  # noqa: F401  (registers the section)
from journeylens.operations.reports import schedules
from journeylens.operations.reports.render import render_html, render_pdf
from journeylens.operations.reports.state import StateReport, state_of_journey

__all__ = ["StateReport", "render_html", "render_pdf", "schedules", "state_of_journey"]
