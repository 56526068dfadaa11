"""The web dashboard: server-rendered pages (FastAPI + Jinja2 + HTMX, charts by Plotly.js).

Pages only render results of the analysis functions (the same :class:`journeylens.JourneyLens`
methods the CLI and the HTTP API call), cached per data version in :mod:`.cache`. The router
in :mod:`.routes` is listed in ``ROUTER_MODULES`` of :mod:`journeylens.surfaces.api.app`.
"""
