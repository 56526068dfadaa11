"""Aspects and label corrections from the CLI, over HTTP and on the dashboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import journeylens
from journeylens.operations.appdb import AppDatabase
from journeylens.operations.keys import create_key
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.cli.main import app as cli
from journeylens.warehouse.schema import FEEDBACK

pytest.importorskip("sentence_transformers")
COMMENTS = ["Staff lovely, app keeps crashing", "The app logs me out after the update",
            "Waited forty minutes in the queue", "Fees are far too high", "Great service, thank you",
            "Die App stürzt ständig ab und niemand hilft mir"]


@pytest.fixture
def warehouse_file(tmp_path: Path) -> str:
    path = str(tmp_path / "wh.duckdb")
    rows = [{"response_id": f"r{i}", "customer_id": f"c{i}", "touchpoint": "Mobile app login", "nps": 3,
             "timestamp": datetime(2024, 1 + i % 2, 2 + i, tzinfo=UTC), "comment": text, "_seq": i + 1}
            for i, text in enumerate(COMMENTS)]
    schema = FEEDBACK.to_pyarrow()
    lens = journeylens.open(path, settings=Settings(warehouse=path))
    lens.warehouse.append("feedback", pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type)
                                                for f in schema}, schema=schema))
    lens.warehouse.close()
    return path


def test_cli_aspects_json(warehouse_file: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--warehouse", warehouse_file, "text", "aspects", "--json"],
                                env={"JOURNEYLENS_CACHE_DIR": str(tmp_path / "cache")})
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert list(payload) == ["model", "period", "comments", "with_aspects", "not_scored", "not_scored_languages",
                             "aspect_names", "aspects", "matrix", "responses"]
    assert payload["model"] == "minilm-3class" and payload["comments"] == 6
    assert payload["not_scored"] == 1 and payload["not_scored_languages"] == {"de": 1}
    first = next(r for r in payload["responses"] if r["response_id"] == "r0")
    assert first["aspect_staff"] == "pos" and first["aspect_app_website"] == "neg"
    assert first["negative_aspects"] == ["app_website"]
    app = next(a for a in payload["aspects"] if a["aspect"] == "app_website")
    assert set(app) == {"aspect", "name", "mentions", "positive", "neutral", "negative", "negative_share",
                        "mean_score", "trend"} and app["mentions"] == 2 and app["negative"] == 2
    assert payload["matrix"][0]["touchpoint"] == "Mobile app login"


@pytest.fixture
def client(tmp_path: Path, warehouse_file: str) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    settings = Settings(warehouse=warehouse_file, app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
                        cache_dir=tmp_path / "cache")
    db = AppDatabase(settings.app_database_url)
    with db.session() as session:
        _, reader = create_key(session, "reader", ["read"])
        _, writer = create_key(session, "labeller", ["ingest", "read"])
    lens = journeylens.open(warehouse_file, settings=settings)
    with TestClient(create_app(settings, lens=lens, app_db=db)) as test_client:
        yield test_client, {"Authorization": f"Bearer {reader}"}, {"Authorization": f"Bearer {writer}"}
    lens.warehouse.close()
    db.dispose()


def test_http_aspects_and_corrections(client: Any) -> None:
    http, reader, writer = client
    assert http.get("/v1/text/aspects").status_code == 401
    aspects = http.get("/v1/text/aspects?limit=2", headers=reader).json()
    assert len(aspects["responses"]) == 2 and aspects["with_aspects"] >= 4
    body = {"response_id": "r4", "comment": "Great service, thank you", "label": "neutral", "previous_label": "pos"}
    assert http.post("/v1/text/corrections", json=body, headers=reader).status_code == 403
    bad = http.post("/v1/text/corrections", json={**body, "label": "meh"}, headers=writer)
    assert bad.status_code == 422 and "negative, neutral, positive" in bad.text
    stored = http.post("/v1/text/corrections", json=body, headers=writer)
    assert stored.status_code == 201 and stored.json()["label"] == "neu"
    http.post("/v1/text/corrections", json={**body, "label": "positive"}, headers=writer)
    latest = http.get("/v1/text/corrections", headers=reader).json()
    assert [(c["response_id"], c["label"]) for c in latest] == [("r4", "pos")]  # the newest wins
    evaluation = http.get("/v1/text/corrections/evaluation", headers=reader).json()
    assert evaluation["n"] == 1 and evaluation["accuracy"] == 1.0 and evaluation["model"] == "minilm-3class"


def test_cli_fine_tune_from_corrections_alone(warehouse_file: str, tmp_path: Path) -> None:
    from journeylens.text.threeclass import ThreeClassModel, ThreeClassWeights

    env = {"JOURNEYLENS_CACHE_DIR": str(tmp_path / "cache"),
           "JOURNEYLENS_APP_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    corrected = {"r1": ("The card arrived after three weeks", "negative"),
                 "r4": ("I changed my address on Tuesday.", "neutral")}
    runner = CliRunner()
    for response_id, (comment, label) in corrected.items():
        done = runner.invoke(cli, ["--warehouse", warehouse_file, "text", "correct", response_id, comment, label,
                                   "--json"], env=env)
        assert done.exit_code == 0, done.output
    out = tmp_path / "tuned.npz"
    result = runner.invoke(cli, ["--warehouse", warehouse_file, "text", "fine-tune", "--out", str(out), "--json"],
                           env=env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["method"] == "from_corrections" and payload["corrections"] == 2 and payload["public"] == 0
    texts = [comment for comment, _ in corrected.values()]
    wanted = [{"negative": "neg", "neutral": "neu"}[label] for _, label in corrected.values()]
    before = [label for _, label in ThreeClassModel().score(texts)]
    after = [label for _, label in ThreeClassModel(ThreeClassWeights.load(out)).score(texts)]
    assert before == ["neu", "neu"] and after == wanted  # the shipped model misses the complaint
    # The prior keeps the rest of the model: unrelated comments keep their labels.
    others = ["I love this bank, everything was perfect", "Terrible, rude and slow", "I moved house in May.",
              "Thanks", "Quick and easy"]
    assert [label for _, label in ThreeClassModel(ThreeClassWeights.load(out)).score(others)] == \
        [label for _, label in ThreeClassModel().score(others)]
