"""JourneyLens: customer-journey analytics and CX management.

>>> import journeylens
>>> jl = journeylens.open("duckdb://")          # in-memory warehouse
>>> jl.warehouse.engine
'duckdb'
"""

from __future__ import annotations

from journeylens.errors import JourneyLensError
from journeylens.lens import JourneyLens, open

__version__ = "0.1.0"

__all__ = ["JourneyLens", "JourneyLensError", "__version__", "open"]
