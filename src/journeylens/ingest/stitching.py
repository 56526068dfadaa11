"""Identity stitching: attribute anonymous events to the customer who later (or earlier) logged in.

Events may carry a ``customer_id`` (a known customer), an ``anonymous_id`` (a device or
cookie id, as sent by tracking SDKs), or both (for example Segment's ``identify`` call).

Rules — deterministic, the same on every engine:

1. An anonymous id links to the customer of the **first** event, ordered by
   ``(timestamp, _seq)``, that carries both ids.
2. An event's stitched customer is its own ``customer_id`` when it has one; otherwise the
   customer its anonymous id links to — retroactively too, so the browsing before a login
   belongs to the customer; otherwise ``'anon:' || anonymous_id``.
3. Conflicts (one anonymous id seen with several customers, such as a shared device): the
   first link wins for anonymous-only events; events that carry a customer id keep it.
   :func:`stitching_stats` counts such anonymous ids and :func:`conflicting_identities`
   lists them.

Empty strings count as missing ids.

>>> import pyarrow as pa, ibis
>>> events = ibis.memtable(pa.table({
...     "customer_id": [None, "c1", None], "anonymous_id": ["a1", "a1", "a2"],
...     "timestamp": pa.array([1, 2, 3], pa.timestamp("s", "UTC")), "_seq": [1, 2, 3]}))
>>> resolve_customers(events).order_by("_seq").customer_id.to_list()
['c1', 'c1', 'anon:a2']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir

from journeylens.analyses.result import Result, plain

ANON_PREFIX = "anon:"

#: How an event's stitched customer was found (the ``identity_source`` column).
SOURCES = ("customer_id", "stitched", "anonymous", "none")


def _ids(events: ir.Table) -> ir.Table:
    return events.mutate(customer_id=events.customer_id.nullif(""),
                         anonymous_id=events.anonymous_id.nullif(""))


def identity_graph(events: ir.Table) -> ir.Table:
    """One row per linked anonymous id: ``(anonymous_id, customer_id, first_linked_at, events)``.

    ``customer_id`` is the customer of the first event carrying both ids; ``events`` counts
    all events carrying the anonymous id. Anonymous ids never seen with a customer are absent.
    """
    e = _ids(events)
    anon = e.filter(e.anonymous_id.notnull())
    counts = anon.group_by("anonymous_id").aggregate(events=anon.count().cast("int64"))
    both = anon.filter(anon.customer_id.notnull())
    first = both.mutate(_rank=ibis.row_number().over(
        group_by=both.anonymous_id, order_by=[both.timestamp, both._seq]))
    first = first.filter(first._rank == 0).select(
        "anonymous_id", "customer_id", first_linked_at=first.timestamp)
    graph = first.join(counts, "anonymous_id")
    return graph.select("anonymous_id", "customer_id", "first_linked_at", "events")


def resolve_customers(events: ir.Table, graph: ir.Table | None = None) -> ir.Table:
    """``events`` with ``customer_id`` replaced by the stitched customer, plus ``identity_source``
    (one of :data:`SOURCES`). Pass a materialised ``graph`` to avoid recomputing it."""
    e = _ids(events)
    g = graph if graph is not None else identity_graph(events)
    links = g.select(anonymous_id=g.anonymous_id, _linked=g.customer_id)
    joined = e.left_join(links, e.anonymous_id == links.anonymous_id).select(
        *[e[c] for c in e.columns], links._linked)
    source = ibis.cases(
        (joined.customer_id.notnull(), "customer_id"),
        (joined._linked.notnull(), "stitched"),
        (joined.anonymous_id.notnull(), "anonymous"),
        else_="none",
    )
    stitched = joined.customer_id.coalesce(joined._linked, ibis.literal(ANON_PREFIX) + joined.anonymous_id)
    return joined.mutate(customer_id=stitched, identity_source=source).drop("_linked")


def conflicting_identities(events: ir.Table) -> ir.Table:
    """Anonymous ids seen with more than one customer: ``(anonymous_id, customers, events)``."""
    e = _ids(events)
    both = e.filter(e.anonymous_id.notnull() & e.customer_id.notnull())
    per_anon = both.group_by("anonymous_id").aggregate(
        customers=both.customer_id.nunique().cast("int64"), events=both.count().cast("int64"))
    return per_anon.filter(per_anon.customers > 1)


@dataclass(frozen=True)
class StitchingStats:
    """Counts of how events were attributed (see the module docstring for the rules)."""

    events: int
    with_customer_id: int
    anonymous_only: int
    resolved: int
    unresolved: int
    no_identity: int
    anonymous_ids: int
    linked_anonymous_ids: int
    conflicting_anonymous_ids: int
    customers: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def resolved_share(self) -> float | None:
        """Share of anonymous-only events attributed to a known customer."""
        return self.resolved / self.anonymous_only if self.anonymous_only else None


def stitching_stats(events: ir.Table, graph: ir.Table | None = None) -> StitchingStats:
    """Count events by identity source, anonymous ids linked, and conflicting anonymous ids."""
    g = graph if graph is not None else identity_graph(events)
    r = resolve_customers(events, g)
    src = r.identity_source

    def n(value: str) -> ir.IntegerScalar:
        return (src == value).cast("int64").sum().fill_null(0)

    row = r.aggregate(
        events=r.count(), with_customer_id=n("customer_id"), resolved=n("stitched"),
        unresolved=n("anonymous"), no_identity=n("none"),
        anonymous_ids=r.anonymous_id.nunique(),
        customers=r.customer_id.nunique(where=~r.customer_id.startswith(ANON_PREFIX)),
    ).to_pyarrow().to_pylist()[0]
    linked = int(g.count().to_pyarrow().as_py())
    conflicts = int(conflicting_identities(events).count().to_pyarrow().as_py())
    counts = {k: int(v or 0) for k, v in row.items()}
    return StitchingStats(
        anonymous_only=counts["resolved"] + counts["unresolved"], linked_anonymous_ids=linked,
        conflicting_anonymous_ids=conflicts, **counts)


@dataclass(frozen=True, repr=False)
class IdentityReport(Result):
    """Stitching stats plus the most active links (``records``) and the conflicting ids.

    ``to_dict()`` shape::

        {"stats": {events, with_customer_id, anonymous_only, resolved, unresolved, no_identity,
                   anonymous_ids, linked_anonymous_ids, conflicting_anonymous_ids, customers},
         "identities": [{"anonymous_id", "customer_id", "first_linked_at", "events"}],
         "conflicts": [{"anonymous_id", "customers", "events"}]}
    """

    stats: StitchingStats | None = None
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.to_dict() if self.stats else None,
                "identities": [plain(dict(r)) for r in self.records],
                "conflicts": [plain(c) for c in self.conflicts]}


def identity_report(events: ir.Table, *, limit: int = 20) -> IdentityReport:
    """What ``journeylens identities`` and ``GET /v1/identities`` show."""
    graph = identity_graph(events)
    top = graph.order_by([ibis.desc("events"), "anonymous_id"]).limit(limit).to_pyarrow().to_pylist()
    conflicts = (conflicting_identities(events).order_by([ibis.desc("customers"), ibis.desc("events"),
                                                          "anonymous_id"])
                 .limit(limit).to_pyarrow().to_pylist())
    return IdentityReport(records=top, params={"limit": limit}, title="Identity graph",
                          stats=stitching_stats(events, graph), conflicts=conflicts)
