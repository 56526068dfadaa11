"""A live dashboard for the browser tests: a demo bank (2,000 customers) behind uvicorn on a
loopback port, one admin, and Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EMAIL, PASSWORD = "admin@journeylens.local", "browser-test-password"
#: The longest any browser step may wait for the server (see the ``page`` fixture).
WAIT_MS = 120_000
ATTACK = "<script>alert(1)</script> logged me out twice"
#: Where the attack comment lands: not the customer and touchpoint of the README screenshots.
ATTACK_CUSTOMER, ATTACK_TOUCHPOINT = "C000077", "Transfer"


@dataclass
class LiveServer:
    url: str
    lens: Any
    app_database_url: str = ""
    attack: str = ATTACK
    attack_customer: str = ATTACK_CUSTOMER
    attack_touchpoint: str = ATTACK_TOUCHPOINT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    pytest.importorskip("playwright")
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Chromium is not installed (scripts/system-deps.sh installs Debian's chromium)")

    import journeylens
    from journeylens.demo import build_demo
    from journeylens.operations import users
    from journeylens.operations.appdb import AppDatabase
    from journeylens.settings import Settings
    from journeylens.surfaces.api.app import create_app

    workdir = tmp_path_factory.mktemp("browser")
    settings = Settings(warehouse=str(workdir / "demo.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        cache_dir=workdir / "cache", collector_spool=workdir / "spool")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=2_000, seed=11, out_dir=workdir / "data")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    lens.ingest("feedback", pd.DataFrame({"timestamp": [pd.Timestamp("2025-01-05T08:00", tz="UTC")],
                                          "customer_id": [ATTACK_CUSTOMER], "touchpoint": [ATTACK_TOUCHPOINT],
                                          "csat": [1], "comment": [ATTACK]}))
    database = AppDatabase(settings.app_database_url)
    with database.session() as session:
        users.create_user(session, EMAIL, PASSWORD, role="admin")
    database.dispose()
    with serving(create_app(settings, lens=lens)) as url:
        yield LiveServer(url, lens, app_database_url=settings.app_database_url)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# Module scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and every later asyncio.run() in the suite would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def signed_in_state(live_server: LiveServer) -> Any:
    """Cookies of a signed-in admin, reused by every test's fresh context. The server-side session
    is opened directly in the app database — what the sign-in form does once the password checks
    out — so no test waits for a password hash on a loaded machine (signing in through the form
    is exercised by test_loop_browser's agents and admins)."""
    from urllib.parse import urlparse

    from journeylens.operations import sessions, users
    from journeylens.operations.appdb import AppDatabase
    from journeylens.surfaces.api.deps import SESSION_COOKIE

    database = AppDatabase(live_server.app_database_url)
    try:
        with database.session() as session:
            user = users.find_user(session, EMAIL)
            assert user is not None
            token = sessions.start(session, user)
    finally:
        database.dispose()
    cookie = {"name": SESSION_COOKIE, "value": token, "domain": urlparse(live_server.url).hostname, "path": "/",
              "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}
    return {"cookies": [cookie], "origins": []}


@pytest.fixture
def page(browser: Any, live_server: LiveServer, signed_in_state: Any) -> Iterator[Any]:
    """A signed-in page (1280×900) that records console errors in ``page.console_errors``."""
    context = browser.new_context(storage_state=signed_in_state, viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url, accept_downloads=True)
    tab = context.new_page()
    # Ceilings for a loaded machine (CI shares it; a cold page computes its analyses first), not
    # pauses: every wait ends as soon as its condition holds. Playwright's default is 30 s.
    tab.set_default_navigation_timeout(WAIT_MS)
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.console_errors = errors
    yield tab
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    target = Path(__file__).parents[2] / "docs" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    return target
