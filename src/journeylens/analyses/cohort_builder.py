"""Cohorts built on the spot from conditions a person picks, written as one line of text so
they travel in a URL, a CLI option or a saved view and apply wherever a cohort name does.

A built cohort is a ``;``-separated list of conditions, all of which must hold (AND)::

    segment=smb|mid; performed=Card delivered; channels=blended; first_channel=web

``channels`` (online-only / offline-only / blended), ``performed`` (a touchpoint) and
``first_channel`` are behaviour conditions, as in the journey definition's ``cohorts:``;
any other key is a customer attribute (a ``customers`` column or a key of its ``attributes``),
its values separated by ``|``. A defined cohort's name always wins over reading it as a
built cohort.

>>> spec = parse_cohort("segment=smb|mid; performed=Card delivered")
>>> [c.kind for c in spec.conditions], spec.conditions[0].values
(['attribute', 'performed'], ('smb', 'mid'))
>>> cohort_text([("segment", ["smb"]), ("channels", ["blended"])])
'segment=smb; channels=blended'
>>> is_built("blended"), is_built("plan=premium")
(False, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ibis
import ibis.expr.types as ir

from journeylens.analyses.cohorts import CHANNEL_COHORTS, CUSTOMER_COLUMNS, CohortSpec, Condition
from journeylens.errors import ParameterError

BEHAVIOUR_KEYS: tuple[str, ...] = ("channels", "performed", "first_channel")
#: Attributes compared as numbers or flags (any value is allowed).
NUMERIC_ATTRIBUTES: tuple[str, ...] = ("value", "revenue", "churned")
#: The most conditions one built cohort may have (a longer one is surely a mistake).
MAX_CONDITIONS = 12


def is_built(text: str) -> bool:
    """Whether ``text`` reads as a built cohort (it has at least one ``key=value``)."""
    return "=" in text


def _condition(part: str) -> Condition:
    key, _, raw = part.partition("=")
    key, values = key.strip(), tuple(v.strip() for v in raw.split("|") if v.strip())
    if not key or not values:
        raise ParameterError(f"Cohort condition {part.strip()!r} needs a name and a value, such as "
                             "'segment=smb', 'performed=Card delivered' or 'channels=blended'.",
                             details={"condition": part.strip()})
    if key in BEHAVIOUR_KEYS and len(values) != 1:
        raise ParameterError(f"Cohort condition {key!r} takes one value, got {len(values)}.",
                             details={"condition": part.strip()})
    if key == "channels":
        if values[0] not in CHANNEL_COHORTS:
            raise ParameterError(f"Unknown channels value {values[0]!r}; allowed: {', '.join(CHANNEL_COHORTS)}.",
                                 details={"allowed": list(CHANNEL_COHORTS)})
        return Condition("channels", channels=values[0])
    if key == "performed":
        return Condition("performed", touchpoint=values[0])
    if key == "first_channel":
        return Condition("first_channel", channel=values[0])
    return Condition("attribute", attribute=key, values=values)


def parse_cohort(text: str) -> CohortSpec:
    """The :class:`CohortSpec` of a built cohort (named by its own text)."""
    parts = [p for p in text.split(";") if p.strip()]
    if not parts or len(parts) > MAX_CONDITIONS:
        raise ParameterError(f"A built cohort has 1 to {MAX_CONDITIONS} conditions separated by ';', "
                             f"got {len(parts)}.", details={"cohort": text})
    return CohortSpec(text.strip(), tuple(_condition(p) for p in parts))


def cohort_text(conditions: Iterable[tuple[str, Sequence[str]]]) -> str:
    """The canonical text of ``(key, values)`` pairs (pairs without a value are left out)."""
    parts = []
    for key, values in conditions:
        kept = [v.strip() for v in values if v and v.strip()]
        if kept:
            parts.append(f"{key.strip()}={'|'.join(kept)}")
    return "; ".join(parts)


def check_built(events: ir.Table, spec: CohortSpec, customers: ir.Table | None) -> None:
    """A built cohort's touchpoints, channels and attributes must exist (close matches listed)."""
    from journeylens.analyses.names import check_column_values

    for c in spec.conditions:
        if c.kind == "performed":
            check_column_values(events, "touchpoint", [c.touchpoint or ""])
        elif c.kind == "first_channel":
            check_column_values(events, "channel", [c.channel or ""])
        elif c.kind == "attribute" and customers is not None:
            _check_attribute(customers, c.attribute or "", [str(v) for v in c.values])


def _check_attribute(customers: ir.Table, attribute: str, values: list[str]) -> None:
    """The attribute must exist and each value must occur (a typo would give an empty cohort)."""
    from journeylens.analyses.names import check_names
    from journeylens.analyses.properties import has_key, json_value, known_properties

    if attribute in NUMERIC_ATTRIBUTES:
        return
    if attribute in CUSTOMER_COLUMNS and attribute in customers.columns:
        column = customers[attribute].cast("string")
    elif has_key(customers, "attributes", attribute):
        column = json_value(customers.attributes, attribute)
    else:
        check_names("attribute", [attribute], known_properties(None, None, customers))
        return
    seen = customers.select(v=column).filter(ibis._.v.notnull()).distinct().limit(10_000).v.to_pyarrow().to_pylist()
    check_names(f"{attribute} value", values, [str(v) for v in seen])
