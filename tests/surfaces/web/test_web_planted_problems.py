"""A person who opens the dashboard on the demo bank finds the three planted problems
(docs/demo.md, "Finding the planted problems in the dashboard"): the Mobile app login CSAT
drop on the overview, the KYC drop-off on the journey map, the online → call centre switch on
the overview and the channels page. 10,000 customers: the smallest demo on which all three are
significant after the false-discovery adjustment (the default demo has 50,000)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from tests.surfaces.web.page_fragments import with_fragments

import journeylens
from journeylens.demo import PLANTED_PROBLEMS, build_demo, demo_window
from journeylens.operations import auth, users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app

pytestmark = pytest.mark.slow
SEED = 42


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from argon2 import PasswordHasher

    workdir = tmp_path_factory.mktemp("planted")
    settings = Settings(warehouse=str(workdir / "demo.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        cache_dir=workdir / "cache", collector_spool=workdir / "spool")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=10_000, seed=SEED, out_dir=workdir / "data")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        database = AppDatabase(settings.app_database_url)
        with database.session() as session:
            users.create_user(session, "cx@example.com", "cx-manager-password", role="viewer")
        database.dispose()
        client = TestClient(create_app(settings, lens=lens, web_prewarm=False))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"email": "cx@example.com", "password": "cx-manager-password",
                                    "csrf_token": token.group(1)})
        yield client
    client.close()
    lens.warehouse.close()


def _section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("<section", start)
    return html[start:end if end > 0 else None]


def test_app_release_drop_is_flagged_on_the_overview(demo_client: TestClient) -> None:
    problem = PLANTED_PROBLEMS["app_release_csat_drop"]
    release = demo_window(SEED).release
    changes = _section(with_fragments(demo_client, "/"), "changes-title")
    before, after = f"{release.replace(day=1) - timedelta(days=1):%Y-%m}", f"{release:%Y-%m}"  # the release month
    row = re.search(rf"{re.escape(problem.touchpoint)}</a></td><td>CSAT</td>\s*<td>{before} → {after}</td>(.*?)</tr>",
                    changes, flags=re.S)
    assert row, changes[:3000]
    assert "▼" in row.group(1)


def test_kyc_drop_off_leads_the_journey_map(demo_client: TestClient) -> None:
    callout = _section(demo_client.get("/journey-map").text, "drops-title")
    first = re.search(r"<li><a [^>]*>([^<]+)</a>", callout)
    assert first and first.group(1) == "KYC document upload"


def test_channel_switch_problem_on_overview_and_channels(demo_client: TestClient) -> None:
    hurts = _section(with_fragments(demo_client, "/"), "harm-title")
    assert "service: web → call centre" in hurts and "service: chat → call centre" in hurts
    assert 'href="/channels#switch-impact"' in hurts
    channels = with_fragments(demo_client, "/channels")
    table = _section(channels, "impact-title")
    rows = re.findall(r'<tr class="harm"><th scope="row">([^<]+)</th>', table)
    assert rows[:2] == ["service: web → call centre", "service: chat → call centre"]
    exported = demo_client.get("/export/switch_impact.csv").text.splitlines()
    assert exported[0].startswith("stage,from_channel,to_channel,customers") and exported[1].startswith(
        "service,web,call_centre")
