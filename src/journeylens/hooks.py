"""The small core's hook points (pluggy, as datasette does).

Built-in features register as plugins of these hooks, the same way a company's own plugin
would. The live path is the first user: every time rows land in the warehouse — a file
ingest, a collector load, a survey answer — :func:`rows_landed` tells every registered
plugin which table and which ingest batch (``_batch`` lineage value) it was, so survey
triggers, alert rules and incremental journeys react to exactly the new rows.

>>> class Seen:
...     def __init__(self): self.calls = []
...     @hookimpl
...     def journeylens_rows_landed(self, lens, table, batch):
...         self.calls.append((table, batch))
>>> seen = Seen()
>>> plugin_manager().register(seen)  # doctest: +ELLIPSIS
'...'
>>> rows_landed(None, "events", "b1")
>>> seen.calls
[('events', 'b1')]
>>> plugin_manager().unregister(seen)  # doctest: +ELLIPSIS
<...>
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

import pluggy

log = logging.getLogger(__name__)

PROJECT = "journeylens"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class Specs:
    """Every hook JourneyLens calls. Implementations take any subset of the arguments."""

    @hookspec
    def journeylens_rows_landed(self, lens: Any, table: str, batch: str) -> None:
        """Rows of ``table`` were committed to the warehouse with ``_batch == batch``.

        Called after the commit, in the thread that landed them (the collector's loader, a
        CLI ingest, an HTTP upload). Implementations must be quick and must not raise for
        one bad row: they queue durable work (an invitation, an alert) and return.
        ``lens`` is the :class:`journeylens.JourneyLens` that landed them.
        """

    @hookspec
    def journeylens_notify_channels(self) -> list[Any]:
        """Delivery channels this plugin provides (objects with ``name`` and ``send``).

        See :class:`journeylens.operations.notify.Channel`; the shipped email, webhook,
        Slack, Teams and SMS channels are plugins of this hook.
        """
        return []

    @hookspec
    def journeylens_worker_jobs(self) -> list[Any]:
        """Periodic jobs (:class:`journeylens.operations.worker.Job`) the worker runs."""
        return []

    @hookspec
    def journeylens_outbox_settled(self, session: Any, message: Any) -> None:
        """An outbox message reached ``sent`` or ``dead``.

        Called inside the transaction that records it, so what the plugin changes in
        ``session`` (for example an invitation's ``sent_at``) commits with it or not at all.
        """

    @hookspec
    def journeylens_survey_deliveries(self) -> list[Any]:
        """Survey delivery channels (``name`` + ``deliver(session, invitation, survey, url,
        settings)``); see :mod:`journeylens.operations.surveys.delivery`."""
        return []

    @hookspec
    def journeylens_forget_customer(self, lens: Any, customer_id: str) -> dict[str, int] | None:
        """Erase every record of ``customer_id`` this plugin keeps (right to erasure).

        Called by ``journeylens customer forget ID`` (and ``DELETE /v1/customers/{id}``)
        after the warehouse rows are gone. Delete the customer's rows from your own tables
        (tickets, survey invitations, ...) and return how many went, by table, e.g.
        ``{"tickets": 2}``; never log or return the data itself. Raise to make the whole
        forget report a failure (it is safe to run again).
        """


#: Built-in plugins: modules registered on the plugin manager like any company plugin.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "journeylens.operations.notify.email",
    "journeylens.operations.notify.webhooks",
    "journeylens.operations.surveys.delivery",
    "journeylens.operations.surveys.triggers",
    "journeylens.operations.surveys.lifecycle",
    "journeylens.operations.alerts.plugin",
    "journeylens.operations.reports.delivery",
)


_LOCK = threading.Lock()
_MANAGER: pluggy.PluginManager | None = None


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (built-in plugins and setuptools entry points loaded)."""
    global _MANAGER
    with _LOCK:
        if _MANAGER is None:
            manager = pluggy.PluginManager(PROJECT)
            manager.add_hookspecs(Specs)
            for name in DEFAULT_PLUGINS:
                manager.register(importlib.import_module(name), name=name)
            manager.load_setuptools_entrypoints(PROJECT)
            _MANAGER = manager
        return _MANAGER


def forget_customer(lens: Any, customer_id: str) -> dict[str, int]:
    """Ask every plugin to erase ``customer_id``; returns the removed row counts by table.

    Unlike :func:`rows_landed`, a failing plugin is not swallowed: an erasure that silently
    skipped a table would claim to have forgotten someone it has not.
    """
    counts: dict[str, int] = {}
    for result in plugin_manager().hook.journeylens_forget_customer(lens=lens, customer_id=customer_id):
        for table, removed in (result or {}).items():
            counts[table] = counts.get(table, 0) + int(removed)
    return counts


def rows_landed(lens: Any, table: str, batch: str) -> None:
    """Tell every plugin that ``table`` received the ingest batch ``batch``.

    A failing plugin is logged and does not stop the others nor undo the landing: the
    rows are already durable in the warehouse.
    """
    hook = plugin_manager().hook.journeylens_rows_landed
    for impl in reversed(hook.get_hookimpls()):
        try:
            impl.function(**{name: value for name, value in
                             (("lens", lens), ("table", table), ("batch", batch))
                             if name in impl.argnames})
        except Exception:
            log.exception("Plugin %s failed on rows landed in %s (batch %s)",
                          impl.plugin_name, table, batch)
