"""The demo dataset: a seeded omnichannel retail bank with planted CX problems.

>>> from journeylens.demo import generate, PLANTED_PROBLEMS
>>> data = generate(customers=200, seed=1)
>>> sorted(data.tables())
['customers', 'events', 'feedback', 'spend']
>>> sorted(PLANTED_PROBLEMS)
['app_release_csat_drop', 'kyc_drop_off', 'online_to_call_centre']
"""

from journeylens.demo.build import DemoReport, build_demo, ingest_files
from journeylens.demo.generator import (
    DemoDataset,
    DemoFiles,
    generate,
    journey_template,
    write_dataset,
)
from journeylens.demo.planted import PLANTED_PROBLEMS, DemoWindow, demo_window

__all__ = [
    "PLANTED_PROBLEMS",
    "DemoDataset",
    "DemoFiles",
    "DemoReport",
    "DemoWindow",
    "build_demo",
    "demo_window",
    "generate",
    "ingest_files",
    "journey_template",
    "write_dataset",
]
