"""HTML and PDF of the state-of-the-journey report.

The HTML is one self-contained file (inline CSS, inline SVG sparklines, no script and no
external asset), so it can be mailed, archived or opened offline. The PDF is that HTML
printed by the Chromium the project already uses for its browser tests (Playwright driving
``/usr/bin/chromium``, or ``JOURNEYLENS_CHROMIUM``): no new system dependency.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from journeylens.errors import JourneyLensError
from journeylens.operations.reports.state import StateReport

TEMPLATES = Path(__file__).with_name("templates")
STATUS_COLOURS = {"met": "#1b7f3b", "at_risk": "#b26b00", "missed": "#b3261e", None: "#6b7280"}
STATUS_WORDS = {"met": "on target", "at_risk": "at risk", "missed": "missed", None: "no target or too few answers"}
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class ReportRenderError(JourneyLensError):
    code = "report_render_failed"
    http_status = 500


def sparkline(values: list[float | None], *, width: int = 120, height: int = 28) -> str:
    """A tiny inline SVG line of ``values`` (gaps for missing months)."""
    points = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return ""
    low, high = min(v for _, v in points), max(v for _, v in points)
    span = (high - low) or 1.0
    step = width / max(1, len(values) - 1)
    coords = " ".join(f"{i * step:.1f},{height - 2 - (v - low) / span * (height - 4):.1f}" for i, v in points)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="trend"><polyline fill="none" stroke="#1f4e79" stroke-width="1.5" '
            f'points="{coords}"/></svg>')


def _metric(value: Any, metric: str) -> str:
    if value is None:
        return "—"
    if metric == "csat" or metric.endswith("share") or metric == "drop_off":
        return f"{100 * value:.0f} %"
    if metric == "ces":
        return f"{value:.2f}"
    return f"{value:+.0f}" if metric == "nps" else f"{value:,.0f}"


def _change(value: Any, metric: str) -> str:
    if value is None:
        return "—"
    if metric == "csat":
        return f"{100 * value:+.1f} pts"
    if metric == "ces":
        return f"{value:+.2f}"
    return f"{value:+.1f}"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(metric=_metric, change=_change)
    env.globals.update(colours=STATUS_COLOURS, words=STATUS_WORDS, sparkline=sparkline)
    return env


def render_html(report: StateReport) -> str:
    """The report as one self-contained HTML document."""
    content = report.to_dict()
    trend = content.get("trend", [])
    lines = {m: sparkline([row.get(m) for row in trend]) for m in ("nps", "csat", "ces")}
    return _environment().get_template("state_of_journey.html").render(r=content, lines=lines)


def chromium_path() -> str:
    configured = os.environ.get("JOURNEYLENS_CHROMIUM")
    for candidate in ([configured] if configured else []) + list(CHROMIUM_CANDIDATES):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise ReportRenderError("PDF reports need Chromium: install Debian's 'chromium' package (scripts/system-deps.sh "
                            "does) or set JOURNEYLENS_CHROMIUM to its path; the HTML report works without it.")


def render_pdf(html: str, *, timeout_seconds: float = 60.0) -> bytes:
    """Print ``html`` to an A4 PDF with headless Chromium (in its own thread, so an asyncio
    loop in the caller's thread does not matter)."""
    executable = chromium_path()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:  # pragma: no cover - playwright is a dependency
            outcome["error"] = ReportRenderError("PDF reports need the 'playwright' package.")
            return
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    page = browser.new_page()
                    page.set_content(html, wait_until="load", timeout=timeout_seconds * 1000)
                    outcome["pdf"] = page.pdf(format="A4", print_background=True,
                                              margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"})
                finally:
                    browser.close()
        except Exception as exc:
            outcome["error"] = ReportRenderError(f"Chromium could not print the report: {exc}")

    thread = threading.Thread(target=work, name="journeylens-pdf", daemon=True)
    thread.start()
    thread.join(timeout_seconds + 30)
    if thread.is_alive():
        raise ReportRenderError(f"Chromium did not finish printing the report within {timeout_seconds:.0f} s.")
    if "error" in outcome:
        raise outcome["error"]
    return bytes(outcome["pdf"])
