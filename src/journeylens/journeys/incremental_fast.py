"""The fast path of an incremental ``journey_events`` update: no scan of ``events``.

:mod:`journeylens.journeys.incremental` recomputes the affected customers from their complete
histories in ``events``. That costs two scans of ``events`` (for the identity graph of the new
anonymous ids, and for the affected customers' events) — seconds at 10M rows, because
``events`` is in arrival order and no zone map prunes a lookup by customer. This module reads
what it needs from tables that are small or ordered by customer instead:

- **Links** of the anonymous ids in the new events come from the stored graph (``identities``)
  and the new events alone. A link is the first event carrying both ids, by
  ``(timestamp, _seq)``; every new event has a larger ``_seq`` than every stored one, so the
  new link is the stored one unless a new event carrying both ids is strictly earlier.
  The ``events`` count of a stored link grows by the new events' count; only an anonymous id
  linked for the first time needs its earlier events counted (one column of ``events``).
- **Histories** of the affected customers come from ``journey_events`` itself (written in
  customer order, so DuckDB's zone maps skip most of it), plus the new events. A stored row's
  own customer id is its customer, except for ``anon:<id>`` rows, whose own id was empty.
  That is exact as long as no stored link moves to *another* customer: then a stored row
  under the old link may have been stitched (own id empty) or carried the id itself, which
  ``journey_events`` does not record. Such an update (a late event re-linking an anonymous
  id) returns ``None`` and the caller takes the scan path. System events (``$…``) are not in
  ``journey_events``; they never change a journey row, and new ones still feed the links.

Both paths run the rows through the same :func:`~journeylens.journeys.enrich.journey_events_expr`;
the property test in ``tests/journeys/test_incremental.py`` checks the result against a full
rebuild after every batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir

from journeylens.ingest.stitching import ANON_PREFIX
from journeylens.journeys.definition import JourneyDefinition
from journeylens.journeys.enrich import IDENTITIES_TABLE, journey_events_expr
from journeylens.warehouse import Warehouse
from journeylens.warehouse.schema import EVENTS, IDENTITIES, JOURNEY_EVENTS

Scratch = Callable[[str, ir.Table], ir.Table]
#: The columns of ``events`` that ``journey_events_expr`` reads.
#: Up to this many affected customers are looked up as literal values (see ``_values_or_table``).
MAX_LITERAL_IDS = 5_000
INPUT_COLUMNS = ("customer_id", "anonymous_id", "event_id", "timestamp", "touchpoint", "channel", "properties",
                 "_seq")


@dataclass(frozen=True)
class FastUpdate:
    """What the fast path computed: the rows and links to write, and how many new events."""

    anon: ir.Table  # anonymous ids whose stored link is replaced
    delta: ir.Table  # their links (IDENTITIES columns)
    affected: ir.Table  # stitched customers whose rows are replaced
    rows: ir.Table  # their new rows
    new_events: int


def count_rows(expr: ir.Table) -> int:
    return int(expr.count().to_pyarrow().as_py())


def fast_update(warehouse: Warehouse, definition: JourneyDefinition, gap: int, lo: int, hi: int,
                scratch: Scratch) -> FastUpdate | None:
    """The update of ``journey_events`` for events ``lo < _seq <= hi``, or ``None`` when a stored
    link moves to another customer (the caller then recomputes from ``events``)."""
    events = warehouse.table("events")
    new = events.filter((events._seq > lo) & (events._seq <= hi))
    new = scratch("new", new.select(
        **{c: new[c].cast(EVENTS[c]) for c in INPUT_COLUMNS},
    ).mutate(customer_id=new.customer_id.nullif(""), anonymous_id=new.anonymous_id.nullif("")))
    links = scratch("links", _links(warehouse, new))
    moved = links.filter(links._old_customer.notnull() & links._new_customer.notnull()
                         & (links._new_at < links._old_at) & (links._new_customer != links._old_customer))
    if count_rows(moved):
        return None
    delta = scratch("graph", _delta(events, links, hi))
    anon = links.select("anonymous_id")
    affected = scratch("affected", ibis.union(
        new.filter(new.customer_id.notnull()).select("customer_id"),
        delta.select("customer_id"),
        anon.select(customer_id=ibis.literal(ANON_PREFIX) + anon.anonymous_id),
        distinct=True))
    stored = warehouse.table(JOURNEY_EVENTS)
    stored = stored.filter(stored.customer_id.isin(_values_or_table(affected)))
    own = ibis.ifelse(stored.customer_id == ibis.literal(ANON_PREFIX) + stored.anonymous_id,
                      ibis.null("string"), stored.customer_id)
    types = new.schema()
    history = stored.select(**{c: (own if c == "customer_id" else stored[c]).cast(types[c]) for c in INPUT_COLUMNS})
    combined = scratch("combined", history.union(new.select(*INPUT_COLUMNS)))
    rows = journey_events_expr(combined, definition, episode_gap_minutes=gap, graph=delta)
    rows = scratch("rows", rows.filter(rows.customer_id.isin(affected.customer_id)))
    return FastUpdate(anon=anon, delta=delta, affected=affected, rows=rows, new_events=count_rows(new))


def _values_or_table(affected: ir.Table) -> list[str] | ir.Column:
    """The affected ids as literal values when there are few: DuckDB then filters the scan of
    ``journey_events`` by them and reads the other columns only where they match (a semi-join
    reads every column of every row first — 3–4× slower at 10M rows)."""
    if count_rows(affected) > MAX_LITERAL_IDS:
        return affected.customer_id
    return [str(v) for v in affected.customer_id.to_list()]


def _links(warehouse: Warehouse, new: ir.Table) -> ir.Table:
    """Per anonymous id in the new events: its stored link and the first new event carrying
    both ids (``_old_*`` / ``_new_*``), and how many new events carry it (``_n``)."""
    anon = new.filter(new.anonymous_id.notnull())
    counts = anon.group_by("anonymous_id").aggregate(_n=anon.count().cast("int64"))
    both = anon.filter(anon.customer_id.notnull())
    first = both.mutate(_rank=ibis.row_number().over(group_by=both.anonymous_id,
                                                      order_by=[both.timestamp, both._seq]))
    first = first.filter(first._rank == 0).select(_a=first.anonymous_id, _new_customer=first.customer_id,
                                                  _new_at=first.timestamp)
    graph = warehouse.table(IDENTITIES_TABLE)
    stored = graph.select(_g=graph.anonymous_id, _old_customer=graph.customer_id, _old_at=graph.first_linked_at,
                          _old_events=graph.events)
    out = counts.left_join(stored, counts.anonymous_id == stored._g).drop("_g")
    out = out.left_join(first, out.anonymous_id == first._a).drop("_a")
    return out


def _delta(events: ir.Table, links: ir.Table, hi: int) -> ir.Table:
    """The links after the update of every anonymous id in the new events that has one."""
    linked = links.filter(links._old_customer.notnull() | links._new_customer.notnull())
    first_time = linked.filter(linked._old_customer.isnull())
    raw = events.filter((events._seq <= hi) & events.anonymous_id.nullif("").isin(first_time.anonymous_id))
    earlier = raw.group_by(_c=raw.anonymous_id).aggregate(_all=raw.count().cast("int64"))
    joined = linked.left_join(earlier, linked.anonymous_id == earlier._c)
    keep_old = joined._old_customer.notnull() & (joined._new_customer.isnull() | (joined._old_at <= joined._new_at))
    return joined.select(
        anonymous_id=joined.anonymous_id,
        customer_id=ibis.ifelse(keep_old, joined._old_customer, joined._new_customer),
        first_linked_at=ibis.ifelse(keep_old, joined._old_at, joined._new_at),
        events=ibis.ifelse(joined._old_customer.notnull(), joined._old_events + joined._n, joined._all),
    ).select(**{c: ibis._[c].cast(t) for c, t in IDENTITIES.items()})
