"""Marketing analyses: where customers come from and what the spend returns.

- :mod:`.touches` — the journeys as arrays (one row per touch), and the aggregated path format
- :mod:`.paths` — building those journeys from ``journey_events`` with Ibis (DuckDB and Spark)
- :mod:`.heuristics`, :mod:`.markov`, :mod:`.shapley` — the attribution models
- :mod:`.attribution` — every model side by side (``journeylens attribution``)
- :mod:`.spend` — cost per acquisition, return on ad spend, marginal return, budget what-if
"""
