"""The worker inside ``journeylens serve``: one background thread sharing the app's stores."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from journeylens.lens_pool import lens_pool
from journeylens.operations.worker import Worker
from journeylens.surfaces.api.deps import app_database, app_lens

log = logging.getLogger(__name__)


def start_worker(app: FastAPI) -> Worker:
    """Start a :class:`Worker` on the app's database; jobs get the app's warehouse (one writer)."""
    settings = app.state.settings
    state = app.state
    # Open the app's warehouse now, before the collector starts: the collector then loads
    # through a dedicated cursor of this lens instead of opening the file a second time.
    base = app_lens(state, settings)

    def lens() -> object:
        return lens_pool(state, base).get()

    worker = Worker(app_database(state, settings), settings, lens_provider=lens).start()
    state.worker = worker
    log.info("worker started in serve (every %.1fs)", settings.worker_interval_seconds)
    return worker
