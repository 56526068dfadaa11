"""Demo datasets shared by the demo tests (generated once per session; generation takes ~1 s)."""

from __future__ import annotations

import pytest

from journeylens.demo import DemoDataset, generate


@pytest.fixture(scope="session")
def small_demo() -> DemoDataset:
    return generate(customers=2_000, seed=7)


@pytest.fixture(scope="session")
def medium_demo() -> DemoDataset:
    """Large enough for the planted effects to stand clear of sampling noise."""
    return generate(customers=10_000, seed=42)
