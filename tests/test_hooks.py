"""The hook points: plugins see landed rows and erase what they keep about a customer."""

from __future__ import annotations

from typing import Any

import pytest

from journeylens import hooks
from journeylens.settings import Settings


class _Tickets:
    def __init__(self) -> None:
        self.rows = {"c1": 2, "c2": 1}

    @hooks.hookimpl
    def journeylens_forget_customer(self, customer_id: str) -> dict[str, int]:
        return {"tickets": self.rows.pop(customer_id, 0)}


class _Broken:
    @hooks.hookimpl
    def journeylens_forget_customer(self, lens: Any, customer_id: str) -> dict[str, int]:
        raise RuntimeError("table locked")


@pytest.fixture
def lens(tmp_path: Any) -> Any:
    """A real lens: the shipped plugins (tickets, survey invitations) erase from its app database."""
    import journeylens

    return journeylens.open("duckdb://", settings=Settings(app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                                                           warehouse="duckdb://"))


def test_forget_customer_sums_counts_of_every_plugin(lens: Any) -> None:
    first, second = _Tickets(), _Tickets()
    manager = hooks.plugin_manager()
    manager.register(first)
    manager.register(second)
    try:
        assert hooks.forget_customer(lens, "c1")["tickets"] == 4
        assert hooks.forget_customer(lens, "c1")["tickets"] == 0
        assert first.rows == {"c2": 1}
    finally:
        manager.unregister(first)
        manager.unregister(second)


def test_a_failing_forget_plugin_is_not_swallowed(lens: Any) -> None:
    broken = _Broken()
    hooks.plugin_manager().register(broken)
    try:
        with pytest.raises(RuntimeError, match="table locked"):
            hooks.forget_customer(lens, "c1")
    finally:
        hooks.plugin_manager().unregister(broken)
