"""Slow views do not block cheap ones, identical requests compute once, and the pre-warmer
computes the main pages' results in the background (at start and after each ingest)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

import journeylens
from journeylens.lens_pool import LensPool
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.web import views
from journeylens.surfaces.web.cache import ResultCache
from journeylens.surfaces.web.prewarm import Prewarmer, _results_of
from journeylens.surfaces.web.views import VIEWS, View

WAIT_SECONDS = 60


def _wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_identical_requests_compute_once() -> None:
    cache, calls, release = ResultCache(), [], threading.Event()

    def slow() -> int:
        calls.append(1)
        release.wait(WAIT_SECONDS)
        return 7

    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get("k", slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    assert _wait_for(lambda: cache.computing() == 1 and len(calls) == 1)
    time.sleep(0.1)  # the other three are waiting, not computing
    release.set()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert answers == [7, 7, 7, 7] and calls == [1]
    assert cache.stats()["misses"] == 1 and cache.computing() == 0


def test_a_slow_key_does_not_block_another() -> None:
    cache, release = ResultCache(), threading.Event()
    slow = threading.Thread(target=lambda: cache.get("slow", lambda: release.wait(WAIT_SECONDS)))
    slow.start()
    assert _wait_for(lambda: cache.computing() == 1)
    assert cache.get("cheap", lambda: 42) == 42  # answered while "slow" is still computing
    assert slow.is_alive()
    release.set()
    slow.join(WAIT_SECONDS)


def test_a_failed_computation_is_not_cached() -> None:
    cache = ResultCache()
    with pytest.raises(ValueError):
        cache.get("k", lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert cache.get("k", lambda: 1) == 1 and cache.computing() == 0


def test_each_thread_queries_through_its_own_cursor() -> None:
    pool = LensPool(journeylens.open("duckdb://"))
    seen: dict[str, Any] = {}
    barrier = threading.Barrier(3)

    def work(name: str) -> None:
        lens = pool.get()
        barrier.wait(WAIT_SECONDS)
        for _ in range(20):  # queries from three threads at once, each on its own connection
            lens.warehouse.con.con.execute("select sum(range) from range(200000)").fetchall()
        seen[name] = lens

    threads = [threading.Thread(target=work, args=(n,)) for n in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert len({id(lens) for lens in seen.values()}) == 3 and pool.base not in seen.values()
    assert len({id(lens.warehouse.con.con) for lens in seen.values()}) == 3
    pool.close()


def test_a_slow_view_does_not_block_other_pages(web_env: Any, signed_client: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    release, started = threading.Event(), threading.Event()

    def slow_conformance(results: Any, filters: Any) -> Any:
        started.set()
        release.wait(WAIT_SECONDS)
        return results.lens.conformance(filters=filters)

    monkeypatch.setitem(VIEWS, "conformance", View(slow_conformance, VIEWS["conformance"].parse, "slow"))
    slow_client, client = signed_client(web_env.app, "viewer"), signed_client(web_env.app, "viewer")
    slow = threading.Thread(target=lambda: slow_client.get("/journey-map/deviations?start=2020-01-03"))
    slow.start()
    try:
        assert started.wait(WAIT_SECONDS)
        began = time.monotonic()
        response = client.get("/variants?top=4&start=2020-01-03")  # not cached yet: computes now
        assert response.status_code == 200 and "Path variants" in response.text
        assert slow.is_alive(), "the cheap page had to wait for the slow one"
        assert time.monotonic() - began < WAIT_SECONDS
    finally:
        release.set()
        slow.join(WAIT_SECONDS)


MAIN_PAGES = ("/", "/journey-map", "/journey-map/deviations", "/channels", "/variants", "/data-health",
              "/micro-journeys")


def test_prewarm_computes_what_the_main_pages_show(web_env: Any, signed_client: Any) -> None:
    app = create_app(web_env.settings, lens=web_env.lens, web_prewarm=False)
    prewarmer = Prewarmer(lambda: _results_of(app))
    assert prewarmer.warm_once() is True
    assert prewarmer.warm_once() is False  # same data version: nothing to do
    cache = app.state.web_cache
    warmed = cache.stats()
    assert warmed["misses"] >= len(views.warm_plan())
    client = signed_client(app, "viewer")
    for path in MAIN_PAGES:
        assert client.get(path).status_code == 200, path
    assert cache.stats()["misses"] == warmed["misses"]  # every main page was served from the cache


def test_prewarm_runs_at_start_and_after_each_ingest(web_env: Any) -> None:
    app = create_app(web_env.settings, lens=web_env.lens, web_prewarm_poll_seconds=0.2)
    with TestClient(app):
        prewarmer = app.state.web_prewarmer
        assert _wait_for(lambda: prewarmer.passes >= 1, 120)
        first = prewarmer.warmed_key
        web_env.lens.ingest("feedback", pd.DataFrame({"timestamp": [pd.Timestamp("2025-01-03", tz="UTC")],
                                                      "customer_id": ["C000009"], "nps": [3]}))
        assert _wait_for(lambda: prewarmer.passes >= 2, 120)
        assert prewarmer.warmed_key != first
        assert prewarmer.warmed_key[0] == web_env.lens.warehouse.data_version()
    assert not prewarmer._thread.is_alive()  # stopped with the server


def test_prewarm_waits_for_data_and_never_writes(web_env: Any) -> None:
    lens = journeylens.open("duckdb://", settings=web_env.settings)  # empty: no journey_events, no definition
    app = create_app(web_env.settings, lens=lens, web_prewarm=False)
    prewarmer = Prewarmer(lambda: _results_of(app))
    assert prewarmer.warm_once() is False and prewarmer.passes == 0
    assert not lens.warehouse.has("journey_events")
