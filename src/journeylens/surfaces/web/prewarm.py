"""Compute the main pages' results in the background, so a visitor finds them ready.

When the server starts, and again whenever the data version changes (an ingest landed), a
daemon thread computes :func:`journeylens.surfaces.web.views.warm_plan` — what the overview,
journey map, channels, paths, data health and micro-journeys pages show without filters,
conformance last — into the app's :class:`~journeylens.surfaces.web.cache.ResultCache`.
It runs on its own DuckDB cursor, one view at a time; a visitor asking for a view that is
being warmed waits for that computation instead of starting another, and cheap views never
wait for slow ones.

Before serving, the templates are compiled and the chart library loaded (:func:`load_libraries`),
whatever the setting. The result pre-warmer is off with ``create_app(..., web_prewarm=False)``; the data version is polled every
``web_prewarm_poll_seconds`` (default 5). Nothing is warmed before ``journey_events`` exists
(the pre-warmer never writes to the warehouse).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from journeylens.errors import JourneyLensError
from journeylens.surfaces.web.views import Results, warm_plan
from journeylens.warehouse.schema import JOURNEY_EVENTS

log = logging.getLogger(__name__)

DEFAULT_POLL_SECONDS = 5.0
# At interpreter exit, how long to wait for a pre-warmer's threads. A daemon thread still inside
# native code (torch, DuckDB) when Python finalises is killed by ``pthread_exit`` unwinding through
# C++ frames, which aborts the whole process ("terminate called without an active exception",
# exit 134) — so every live pre-warmer is stopped and waited for before finalisation.
EXIT_WAIT_SECONDS = 120.0
_LIVE: weakref.WeakSet[Prewarmer] = weakref.WeakSet()


class Prewarmer:
    """A background thread that keeps the main views computed for the current data version."""

    def __init__(self, results: Callable[[], Results | None], *, poll_seconds: float = DEFAULT_POLL_SECONDS):
        self._results = results
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._text_thread: threading.Thread | None = None
        self._lens: Any = None
        self.warmed_key: tuple[str, str] | None = None
        self.passes = 0

    def start(self) -> Prewarmer:
        self._thread = threading.Thread(target=self._run, name="journeylens-prewarm", daemon=True)
        self._thread.start()
        self._text_thread = threading.Thread(target=self._warm_text, name="journeylens-text-models", daemon=True)
        self._text_thread.start()
        _LIVE.add(self)
        return self

    def _warm_text(self) -> None:
        """Load the text model, then compute the comment aspects (overview, touchpoint chips)."""
        if not preload_text_models() or self._stop.is_set():
            return
        try:
            results = self._results()
            if results is not None:
                results.get("aspects")
        except Exception as exc:  # the pages show the same problem
            log.info("Pre-warm: aspects are not available: %r", exc)

    def _run(self) -> None:
        last_failure = ""
        while not self._stop.is_set():
            try:
                self.warm_once()
                last_failure = ""
            except Exception as exc:  # the server must keep serving; try again later
                if not self._stop.is_set() and repr(exc) != last_failure:  # log each new failure once
                    log.warning("Pre-warming the dashboard failed (retrying every %.0f s): %r", self.poll_seconds,
                                exc, exc_info=not isinstance(exc, JourneyLensError))
                last_failure = repr(exc)
            self._stop.wait(self.poll_seconds)

    def warm_once(self) -> bool:
        """Compute the plan for the current data version unless done already; whether it ran."""
        results = self._results()
        if results is None or results.key == self.warmed_key:
            return False
        self._lens = results.lens
        began = time.perf_counter()
        for view, params, with_figure in warm_plan():
            if self._stop.is_set():
                return False
            started = time.perf_counter()
            try:
                results.get(view, **params)
                if with_figure:
                    results.figure(view, **params)
            except JourneyLensError as exc:  # the page shows the same message
                log.info("Pre-warm: %s is not available: %s", view, exc.message)
            log.debug("Pre-warmed %s in %.1f s", view, time.perf_counter() - started)
        self.warmed_key = results.key
        self.passes += 1
        log.info("Pre-warmed the dashboard for data version %s in %.1f s", results.key[0],
                 time.perf_counter() - began)
        return True

    def stop(self, timeout_seconds: float = 5.0) -> None:
        """Ask the threads to stop, interrupt the running query and wait a little for each (the
        text model's load cannot be interrupted: it finishes; nothing is computed after it)."""
        self._stop.set()
        connection = getattr(getattr(getattr(self._lens, "warehouse", None), "con", None), "con", None)
        if connection is not None:
            with contextlib.suppress(Exception):  # nothing running, or already closed
                connection.interrupt()
        for thread in (self._thread, self._text_thread):
            if thread is not None:
                thread.join(timeout_seconds)


@atexit.register
def _stop_at_exit() -> None:
    for prewarmer in list(_LIVE):
        prewarmer.stop(EXIT_WAIT_SECONDS)


def preload_text_models() -> bool:
    """Load the default sentiment model (and with it the sentence model) once, in the background,
    so no visitor waits for it; whether it loaded (False without the ``text`` extra)."""
    from journeylens.text.sentiment import default_model, get_model

    started = time.perf_counter()
    try:
        get_model(default_model()).score(["warming up the text model"])
    except Exception as exc:  # the pages show the same problem when they need the model
        log.warning("Loading the text model in the background failed: %r", exc)
        return False
    log.info("Loaded the text model in %.1f s", time.perf_counter() - started)
    return True


def load_libraries() -> float:
    """Compile every template and draw one styled chart, at server start: the first request of a
    fresh process otherwise pays for them (≈ 1 s for Plotly's template and validators). Loads
    code only — no result is computed or kept. Returns the seconds it took."""
    import plotly.graph_objects as go

    from journeylens.surfaces.web.rendering import figure_json, styled, templates

    started = time.perf_counter()
    for name in templates.env.list_templates(filter_func=lambda n: n.endswith(".html")):
        templates.env.get_template(name)
    figure_json(styled(go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))))
    return time.perf_counter() - started


def _results_of(app: FastAPI) -> Results | None:
    """The app's results, or ``None`` while there is nothing to warm (no ``journey_events`` yet)."""
    from journeylens.lens_pool import lens_pool
    from journeylens.surfaces.api.deps import get_app_lens
    from journeylens.surfaces.web.context import result_cache

    pool = lens_pool(app.state, get_app_lens(SimpleNamespace(app=app)))  # type: ignore[arg-type]  # reads .app only
    if not pool.get().warehouse.has(JOURNEY_EVENTS):
        return None
    return Results(pool, result_cache(app.state))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the pre-warmer with the server (unless ``app.state.web_prewarm`` is false)."""
    seconds = await run_in_threadpool(load_libraries)
    log.debug("Loaded the templates and the chart library in %.1f s", seconds)
    prewarmer = None
    if getattr(app.state, "web_prewarm", True):
        poll = float(getattr(app.state, "web_prewarm_poll_seconds", DEFAULT_POLL_SECONDS))
        prewarmer = Prewarmer(lambda: _results_of(app), poll_seconds=poll).start()
        app.state.web_prewarmer = prewarmer
    try:
        yield
    finally:
        if prewarmer is not None:
            await run_in_threadpool(prewarmer.stop)
