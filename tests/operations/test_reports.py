"""The state-of-the-journey report: its numbers are the analyses' numbers, the HTML stands
alone, and the PDF looks right when rendered to an image."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import journeylens
from journeylens.analyses import stats
from journeylens.analyses.filters import Filters
from journeylens.demo import build_demo
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.maturity import assess, default_model
from journeylens.operations.reports import render_html, render_pdf, state_of_journey
from journeylens.operations.reports.schedules import add_schedule, due_schedules, mark_sent
from journeylens.settings import Settings


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, AppDatabase]]:
    workdir = tmp_path_factory.mktemp("report")
    settings = Settings(warehouse=str(workdir / "demo.duckdb"), app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        cache_dir=workdir / "cache", duckdb_memory_limit="1GB")
    report = build_demo(lambda journey: journeylens.open(settings.warehouse, journey, settings=settings),
                        customers=600, seed=11, out_dir=workdir / "data")
    lens = journeylens.open(settings.warehouse, report.journey, settings=settings)
    db = AppDatabase(settings.app_database_url)
    yield lens, db
    db.dispose()
    lens.warehouse.close()


def test_kpis_are_the_metrics_of_the_two_periods(demo: tuple[Any, AppDatabase]) -> None:
    lens, db = demo
    content = state_of_journey(lens, db, include_text=False).to_dict()
    period = content["period"]
    from datetime import datetime

    end = datetime.fromisoformat(period["end"]) + timedelta(microseconds=1)
    start, before = end - timedelta(days=30), end - timedelta(days=60)
    now = lens.metrics(by=[], filters=Filters(start=start, end=end)).to_dict(detail=True)[0]
    prev = lens.metrics(by=[], filters=Filters(start=before, end=start)).to_dict(detail=True)[0]
    nps = next(k for k in content["kpis"] if k["metric"] == "nps")
    assert nps["value"] == pytest.approx(now["nps"]) and nps["n"] == now["nps_n"]
    assert nps["change"] == pytest.approx(now["nps"] - prev["nps"])
    expected = stats.nps_ztest(prev["nps_promoters"] * prev["nps_n"], prev["nps_detractors"] * prev["nps_n"],
                               prev["nps_n"], now["nps_promoters"] * now["nps_n"],
                               now["nps_detractors"] * now["nps_n"], now["nps_n"]).p_value
    assert nps["p"] == pytest.approx(expected)
    assert nps["significant"] == (expected < 0.05)
    csat = next(k for k in content["kpis"] if k["metric"] == "csat")
    assert csat["low"] <= csat["value"] <= csat["high"]
    assert [s["stage"] for s in content["stages"]] == [s["stage"] for s in lens.journey_map().to_dict()["stages"]]


def test_html_is_self_contained_and_names_the_period(demo: tuple[Any, AppDatabase]) -> None:
    lens, db = demo
    assess(lens, db, default_model())
    html = render_html(state_of_journey(lens, db, include_text=False))
    import re

    assert "<script" not in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//|url\(\s*["\']?(https?:)?//', html), "no external asset"
    assert "Scores for the 30 days to" in html and "compared with the 30 days before" in html
    assert "Level " in html and "of 5" in html  # the maturity section is filled once assessed


def test_an_empty_warehouse_still_gives_a_report(tmp_path: Path) -> None:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{tmp_path / 'a.db'}")
    lens = journeylens.open("duckdb://", settings=settings)
    content = state_of_journey(lens, None, include_text=False).to_dict()
    assert content["kpis"] == [] and "No feedback has been loaded" in content["notes"][0]
    assert "No feedback yet." in render_html(state_of_journey(lens, None, include_text=False))


def test_schedules_fall_due_once_per_cadence(tmp_path: Path) -> None:
    db = AppDatabase(f"sqlite:///{tmp_path / 'a.db'}")
    row = add_schedule(db, name="Board", recipients="a@x.example", cadence="weekly")
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    assert [d["id"] for d in due_schedules(db, now)] == [row["id"]]
    mark_sent(db, row["id"], now)
    assert due_schedules(db, now + timedelta(days=6)) == []
    assert [d["id"] for d in due_schedules(db, now + timedelta(days=7))] == [row["id"]]


@pytest.mark.browser
def test_pdf_looks_right_as_an_image(demo: tuple[Any, AppDatabase]) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    lens, db = demo
    pdf = render_pdf(render_html(state_of_journey(lens, db, include_text=False)))
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1, "the state of the journey fits one page"
    width, height = document[0].get_size()
    assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
    image = np.asarray(document[0].render(scale=1).to_pil().convert("L"), dtype=float)
    ink = image < 128
    assert 0.01 < ink.mean() < 0.5, "text is drawn and the page is not a black box"
    rows = ink.any(axis=1)
    assert rows[: image.shape[0] // 10].any() and rows[image.shape[0] // 2:].any(), "content fills the page"
    # the status colours of the journey map are there (red/amber/green/grey cells), not only black text
    rgb = np.asarray(document[0].render(scale=1).to_pil().convert("RGB"), dtype=int)
    coloured = (np.abs(rgb[..., 0] - rgb[..., 1]) > 60) | (np.abs(rgb[..., 1] - rgb[..., 2]) > 60)
    assert coloured.mean() > 0.001
    assert not math.isnan(float(image.mean()))
    shots = Path(__file__).parents[2] / "docs" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    document[0].render(scale=1.4).to_pil().save(shots / "report.png")  # the README's picture of the PDF


@pytest.mark.browser
def test_scheduled_report_reaches_a_real_smtp_server_once(demo: tuple[Any, AppDatabase], smtp_server: Any,
                                                          tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from journeylens.operations import outbox
    from journeylens.operations.reports.delivery import send_due_reports

    lens, _ = demo
    db = AppDatabase(f"sqlite:///{tmp_path / 'sched.db'}")
    add_schedule(db, name="Board", recipients="cxo@bank.example, cfo@bank.example", cadence="weekly", fmt="pdf")
    add_schedule(db, name="Team", recipients="team@bank.example", cadence="monthly", fmt="html")
    now = datetime.now(UTC)
    assert send_due_reports(db, lens, now) == {"schedules": 2, "emails": 3}
    assert send_due_reports(db, lens, now + timedelta(hours=1)) == {"schedules": 0, "emails": 0}
    report = outbox.deliver_due(db, smtp_server.settings())
    assert report.sent == 3
    by_to = {m["To"]: m for m in smtp_server.messages}
    assert set(by_to) == {"cxo@bank.example", "cfo@bank.example", "team@bank.example"}
    [attachment] = list(by_to["cxo@bank.example"].iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    html = by_to["team@bank.example"].get_body(("html",)).get_content()
    assert "The journey map against its targets" in html
    # a week later only the weekly schedule is due again
    assert send_due_reports(db, lens, now + timedelta(days=7, minutes=1)) == {"schedules": 1, "emails": 2}
    db.dispose()


def test_close_the_loop_kpis_appear_in_the_report(demo: tuple[Any, AppDatabase], tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from journeylens.operations.tickets.service import contact, create_ticket

    lens, _ = demo
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    db = AppDatabase(f"sqlite:///{tmp_path / 'loop.db'}")
    with db.session() as session:
        for i in range(3):
            t = create_ticket(session, rule_id=None, rule_name="detractor", response_key=f"r{i}", response={"nps": 2},
                              priority="high", owner=None, team="care", first_contact_hours=24, close_hours=72,
                              now=two_days_ago)
            if i < 2:  # the third waits past 24 h uncontacted
                contact(session, t.id, actor="agent@bank.example", now=two_days_ago + timedelta(hours=3))
    content = state_of_journey(lens, db, include_text=False).to_dict()
    rows = {r["label"]: r["value"] for r in content["sections"]["closing_the_loop"]["rows"]}
    assert rows["Tickets (open / closed)"] == "3 (3 / 0)"
    assert rows["Detractors contacted within 24 h"] == "67 %"
    assert "Closing the loop (hot tickets)" in render_html(state_of_journey(lens, db, include_text=False))
    db.dispose()
