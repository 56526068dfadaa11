"""One :class:`~journeylens.JourneyLens` per thread, so API requests and dashboard views can
compute at the same time.

A DuckDB connection must not run queries from two threads at once (the second one fails with
"Attempting to execute an unsuccessful or closed pending query result"). ``connection.cursor()``
opens another connection to the *same* database (same data, same in-memory database), so each
server thread gets its own lens over its own cursor, with the app lens's journey definition and
settings. Spark sessions are thread-safe: on Spark every thread uses the app lens itself.

>>> import journeylens
>>> pool = LensPool(journeylens.open("duckdb://"))
>>> pool.get() is pool.get()                   # the same lens for the same thread
True
>>> pool.get() is not pool.base                # ... over its own cursor
True
>>> with pool.checkout() as lens:              # or one lens for one request, whatever thread
...     lens is not pool.get()
True

An async route may run its work in any worker thread, and the thread that resolved its
dependencies serves other requests meanwhile: a lens bound to a *thread* would then be
used by two requests at once. API requests therefore :meth:`LensPool.checkout` a lens of
their own for the whole request (returned to a free list afterwards).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from journeylens.lens import JourneyLens
from journeylens.warehouse import Warehouse

#: Idle request lenses (cursors) kept for reuse; more are opened under load and closed after.
MAX_FREE_LENSES = 16


class LensPool:
    """Per-thread lenses over cursors of ``base``'s DuckDB connection (``base`` itself on Spark)."""

    def __init__(self, base: JourneyLens):
        self.base = base
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cursors: list[Any] = []
        self._free: list[JourneyLens] = []
        self._closed = False

    @property
    def shares_connection(self) -> bool:
        """Whether threads must not share ``base`` (a DuckDB warehouse)."""
        return self.base.warehouse.engine == "duckdb" and hasattr(self.base.warehouse.con, "con")

    def get(self) -> JourneyLens:
        """This thread's lens."""
        if not self.shares_connection:
            return self.base
        lens: JourneyLens | None = getattr(self._local, "lens", None)
        if lens is None:
            lens = self._open()
            self._local.lens = lens
        return lens

    @contextlib.contextmanager
    def checkout(self) -> Iterator[JourneyLens]:
        """A lens used by nobody else until the block ends (``base`` on Spark)."""
        if not self.shares_connection:
            yield self.base
            return
        with self._lock:
            lens = self._free.pop() if self._free else None
        lens = lens or self._open()
        try:
            yield lens
        finally:
            with self._lock:
                if not self._closed and len(self._free) < MAX_FREE_LENSES:
                    self._free.append(lens)
                    lens = None
            if lens is not None:
                with contextlib.suppress(Exception):  # closed with its pool
                    lens.warehouse.con.con.close()  # type: ignore[attr-defined]

    def dedicated(self) -> JourneyLens:
        """A lens over a new cursor of its own, for a long-lived worker thread (``base`` on Spark)."""
        return self._open() if self.shares_connection else self.base

    def _open(self) -> JourneyLens:
        import ibis

        with self._lock:  # the base connection is touched here only, one thread at a time
            if self._closed:
                raise RuntimeError("The lens pool is closed.")
            definition = getattr(self.base, "_definition", None)  # None: suggested from the data when needed
            cursor = self.base.warehouse.con.con.cursor()  # type: ignore[attr-defined]
            self._cursors.append(cursor)
        warehouse = Warehouse(ibis.duckdb.from_connection(cursor), engine="duckdb",
                              location=self.base.warehouse.location)
        return JourneyLens(warehouse, definition, self.base.settings)

    def interrupt(self) -> None:
        """Stop the queries running on this pool's cursors (at shutdown)."""
        with self._lock:
            cursors = list(self._cursors)
        for cursor in cursors:
            with contextlib.suppress(Exception):  # a closed cursor has nothing to interrupt
                cursor.interrupt()

    def close(self) -> None:
        """Close every cursor (the lenses of this pool stop working)."""
        with self._lock:
            self._closed = True
            cursors, self._cursors = self._cursors, []
            self._free = []
        for cursor in cursors:
            with contextlib.suppress(Exception):  # already closed with its database
                cursor.close()


_pool_lock = threading.Lock()


def lens_pool(state: Any, lens: JourneyLens) -> LensPool:
    """The app's pool for ``lens`` (``state.lens_pool``), replaced when the app lens changes."""
    with _pool_lock:
        pool: LensPool | None = getattr(state, "lens_pool", None)
        if pool is None or pool.base is not lens:
            pool = LensPool(lens)
            state.lens_pool = pool
        return pool
