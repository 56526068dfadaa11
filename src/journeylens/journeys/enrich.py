"""Build ``journey_events``: stitched events labelled by the journey definition.

For each event (ordered per stitched customer by ``(timestamp, _seq)``):

- ``customer_id`` — the stitched customer (see :mod:`journeylens.ingest.stitching`);
- ``stage``, ``stage_order``, ``category``, ``critical`` — from the first touchpoint rule
  that matches the event's touchpoint (null when none does);
- ``channel`` — the event's own channel, else the rule's channel;
- ``step`` — 1-based position in the customer's events;
- ``seconds_since_previous`` — null for the first event (millisecond precision);
- ``episode`` — 1-based; a new episode starts when more than ``episode_gap_minutes`` passed
  since the previous event.

Events whose touchpoint starts with ``$`` (``$identify`` and other collector system events)
feed identity stitching only; events with no touchpoint or no identity at all are left out.
Only window functions are used, so DuckDB and Spark produce identical tables.
"""

from __future__ import annotations

import logging

import ibis
import ibis.expr.types as ir

from journeylens.errors import ParameterError
from journeylens.ingest.stitching import resolve_customers
from journeylens.journeys.definition import JourneyDefinition, rule_labels
from journeylens.warehouse import Warehouse
from journeylens.warehouse.durations import seconds_between
from journeylens.warehouse.schema import EVENTS, JOURNEY_EVENTS, JOURNEY_EVENTS_SCHEMA

log = logging.getLogger(__name__)

#: Table holding the materialised identity graph (schema ``schema.IDENTITIES``).
IDENTITIES_TABLE = "identities"
DEFAULT_EPISODE_GAP_MINUTES = 30
SYSTEM_PREFIX = "$"
#: Columns of ``events`` that may be absent from a table passed in (they become null).
OPTIONAL_COLUMNS = ("event_id", "anonymous_id", "channel", "properties")


def journey_events_expr(events: ir.Table, definition: JourneyDefinition, *, episode_gap_minutes: int,
                        graph: ir.Table | None = None) -> ir.Table:
    """The ``journey_events`` expression over a raw ``events`` table (nothing is stored).

    >>> import pyarrow as pa, ibis
    >>> from journeylens.journeys.definition import parse_definition
    >>> d = parse_definition("name: J\\nstages: [{name: S}]\\ntouchpoints: [{name: A, stage: S}]")
    >>> ev = ibis.memtable(pa.table({"customer_id": ["c", "c", "c"], "anonymous_id": [None] * 3,
    ...     "touchpoint": ["A", "$identify", "B"], "channel": [None, None, "web"],
    ...     "timestamp": pa.array([0, 60, 7200], pa.timestamp("s", "UTC")), "_seq": [1, 2, 3]}))
    >>> out = journey_events_expr(ev, d, episode_gap_minutes=30).to_pyarrow()
    >>> out.select(["touchpoint", "stage", "step", "seconds_since_previous", "episode"]).to_pylist()[1]
    {'touchpoint': 'B', 'stage': None, 'step': 2, 'seconds_since_previous': 7200.0, 'episode': 2}
    """
    if episode_gap_minutes < 1:
        raise ParameterError(f"episode_gap_minutes must be at least 1, got {episode_gap_minutes}.")
    missing = {c: ibis.null(EVENTS[c]) for c in OPTIONAL_COLUMNS if c not in events.columns}
    e = resolve_customers(events.mutate(**missing) if missing else events, graph)
    e = e.filter(e.touchpoint.notnull() & ~e.touchpoint.startswith(SYSTEM_PREFIX) & e.customer_id.notnull())
    e = _label(e, definition)
    order = [e.timestamp, e._seq]
    e = e.mutate(_previous=e.timestamp.lag().over(group_by=e.customer_id, order_by=order))
    e = e.mutate(seconds_since_previous=seconds_between(e.timestamp, e._previous))
    starts = ibis.cases((e.seconds_since_previous.isnull(), 1),
                        (e.seconds_since_previous > episode_gap_minutes * 60.0, 1), else_=0)
    e = e.mutate(_starts=starts.cast("int64"))
    # One running window for both: a running count, not row_number(), because Spark types
    # ROW_NUMBER() as INT and COUNT as BIGINT.
    upto_here = ibis.cumulative_window(group_by=e.customer_id, order_by=[e.timestamp, e._seq])
    e = e.mutate(step=e.customer_id.count().over(upto_here), episode=e._starts.sum().over(upto_here))
    return e.select(**{name: e[name].cast(typ) for name, typ in JOURNEY_EVENTS_SCHEMA.items()})


def _label(events: ir.Table, definition: JourneyDefinition) -> ir.Table:
    """Stage, category, criticality and channel from the rules, evaluated once per distinct
    event name (globs and regexes are not run per event) and joined back."""
    names = events.select("touchpoint").distinct()
    rules = rule_labels(definition, names, "touchpoint")
    labels = rules.select(_name=rules.touchpoint, stage=rules.stage, stage_order=rules.stage_order,
                          category=rules.category, critical=rules.critical, _rule_channel=rules.channel)
    joined = events.left_join(labels, events.touchpoint == labels._name)
    joined = joined.select(*[events[c] for c in events.columns], labels.stage, labels.stage_order,
                           labels.category, labels.critical, labels._rule_channel)
    return joined.mutate(channel=joined.channel.nullif("").coalesce(joined._rule_channel))


def build_journey_events(warehouse: Warehouse, definition: JourneyDefinition, *,
                         episode_gap_minutes: int | None = None) -> ir.Table:
    """Rebuild ``identities`` and ``journey_events`` in ``warehouse`` from scratch and return the latter.

    The new tables are built beside the current ones and swapped in atomically (see
    :mod:`journeylens.journeys.incremental`, which also updates them incrementally). The
    episode gap is ``episode_gap_minutes`` when given, else the definition's
    ``settings.episode_gap_minutes``, else 30 minutes.
    """
    from journeylens.journeys.incremental import update_journey_events

    update_journey_events(warehouse, definition, episode_gap_minutes=episode_gap_minutes, full=True)
    log.info("built %s with definition %r", JOURNEY_EVENTS, definition.name)
    return warehouse.table(JOURNEY_EVENTS)
