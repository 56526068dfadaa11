"""A small demo bank (generated once per session) behind the full app, and signed-in clients per role."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

import journeylens
from journeylens.demo import build_demo
from journeylens.operations import auth, users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

PASSWORD = "correct horse battery"
ROLES = ("admin", "analyst", "agent", "viewer")


@dataclass
class WebEnv:
    app: FastAPI
    settings: Settings
    lens: Any
    journey: Path
    workdir: Path
    password: str = PASSWORD


@pytest.fixture(scope="session")
def web_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    workdir = tmp_path_factory.mktemp("web")
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", lambda: cheap)
        settings = Settings(warehouse=str(workdir / "demo.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                            cache_dir=workdir / "cache", collector_spool=workdir / "spool",
                            duckdb_memory_limit="1GB")
        report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                            customers=400, seed=5, out_dir=workdir / "data")
        lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
        database = AppDatabase(settings.app_database_url)
        with database.session() as session:
            for role in ROLES:
                users.create_user(session, f"{role}@example.com", PASSWORD, role=role)
        database.dispose()
        app = create_app(settings, lens=lens)
        yield WebEnv(app, settings, lens, report.journey, workdir)
        lens.warehouse.close()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, role: str) -> TestClient:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD,
                                           "csrf_token": token, "next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def client_for(web_env: WebEnv) -> Iterator[Callable[[str], TestClient]]:
    """``client_for("viewer")`` → a TestClient signed in with that role."""
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(web_env.app)
        clients.append(client)
        return sign_in(client, role)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def anonymous(web_env: WebEnv) -> Iterator[TestClient]:
    client = TestClient(web_env.app)
    yield client
    client.close()


@pytest.fixture
def csrf() -> Callable[[str], str]:
    """``csrf(html)`` → the CSRF token of the page's first form."""
    return csrf_from


@pytest.fixture
def signed_client() -> Iterator[Callable[[FastAPI, str], TestClient]]:
    """``signed_client(app, "viewer")`` → a TestClient of ``app`` signed in with that role."""
    clients: list[TestClient] = []

    def make(app: FastAPI, role: str) -> TestClient:
        client = TestClient(app)
        clients.append(client)
        return sign_in(client, role)

    yield make
    for client in clients:
        client.close()
