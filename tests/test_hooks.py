"""The hook points: plugins see landed rows and erase what they keep about a customer."""

from __future__ import annotations

from typing import Any

import pytest

from journeylens import hooks


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


def test_forget_customer_sums_counts_of_every_plugin() -> None:
    first, second = _Tickets(), _Tickets()
    manager = hooks.plugin_manager()
    manager.register(first)
    manager.register(second)
    try:
        assert hooks.forget_customer(None, "c1") == {"tickets": 4}
        assert hooks.forget_customer(None, "c1") == {"tickets": 0}
        assert first.rows == {"c2": 1}
    finally:
        manager.unregister(first)
        manager.unregister(second)


def test_a_failing_forget_plugin_is_not_swallowed() -> None:
    broken = _Broken()
    hooks.plugin_manager().register(broken)
    try:
        with pytest.raises(RuntimeError, match="table locked"):
            hooks.forget_customer(None, "c1")
    finally:
        hooks.plugin_manager().unregister(broken)
