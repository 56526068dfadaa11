"""The whole OpenAPI document, fuzzed with schemathesis: no request makes a server error, and
every answer is one the document promises (its status code, content type and schema).

Every operation is called with generated parameters and bodies (the collector and ingest
routes declare real request bodies) as each caller — a read key, an ingest key and a
session of every role — so both the refusals and the work behind them are exercised.
Examples per operation: ``JOURNEYLENS_FUZZ_EXAMPLES`` (default 3, so the suite stays within a
few minutes; ``make fuzz`` runs a deeper pass).

Where the API must refuse (every operation but the collector's, which quarantines bad records
one by one by design), schemathesis's negative-data check is on: a request that breaks the
document must get a 4xx. The run is reproducible: derandomized (the same examples every run,
no example database), or seeded with ``JOURNEYLENS_FUZZ_SEED`` for a different deterministic
pass; each case picks its caller from its own content, and no case may sign out, deactivate or
re-password a caller, so a failing example replays exactly (no ``Flaky``).
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Any

import pandas as pd
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

import journeylens
from journeylens.operations import keys, sessions, users
from journeylens.operations.appdb import AppDatabase
from journeylens.settings import Settings
from journeylens.surfaces.api.app import create_app
from journeylens.surfaces.api.deps import CSRF_HEADER, SESSION_COOKIE

# Schemathesis builds the negative cases while pytest collects, deep in the collector's stack;
# hypothesis then parses a large module's source to describe a filter. With Python 3.11's default
# limit of 1,000 frames that conversion can run out of room in a full-suite collection and
# surfaces as "SystemError: AST constructor recursion depth mismatch" (a CPython 3.11 bug that
# reports the recursion error wrongly). More room for the collection, nothing else changes.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

ROLES = ("admin", "analyst", "agent", "viewer")
EXAMPLES_PER_OPERATION = int(os.environ.get("JOURNEYLENS_FUZZ_EXAMPLES", "3"))
SEED = os.environ.get("JOURNEYLENS_FUZZ_SEED")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: The collector judges each record on its own when it loads it (a bad one is quarantined, its
#: batch still acknowledged), so an invalid record there is accepted by design.
PER_ROW_QUARANTINE = {"/v1/events", "/v1/feedback", "/v1/track", "/v1/identify", "/v1/page", "/v1/screen",
                      "/v1/alias", "/v1/group", "/v1/batch"}
T0 = pd.Timestamp("2025-03-01T10:00:00Z")


def _app(workdir: Path) -> tuple[Any, list[dict[str, str]]]:
    settings = Settings(warehouse="duckdb://", app_database_url=f"sqlite:///{workdir / 'app.db'}",
                        cache_dir=workdir / "cache", collector_spool=workdir / "spool", duckdb_memory_limit="1GB")
    lens = journeylens.open("duckdb://", settings=settings)
    rows = [{"customer_id": f"c{i % 7}", "touchpoint": ["visit", "browse", "buy", "call"][i % 4],
             "channel": ["web", "app", "store", "phone"][i % 4], "timestamp": T0 + pd.Timedelta(hours=i)}
            for i in range(60)]
    lens.ingest("events", pd.DataFrame(rows))
    lens.ingest("feedback", pd.DataFrame({"customer_id": [f"c{i}" for i in range(7)], "timestamp": [T0] * 7,
                                          "nps": [0, 3, 6, 7, 8, 9, 10], "comment": ["slow app"] * 7}))
    db = AppDatabase(settings.app_database_url)
    callers: list[dict[str, str]] = []
    with db.session() as session:
        for scope in ("read", "ingest"):
            callers.append({"authorization": f"Bearer {keys.create_key(session, scope, [scope])[1]}"})
        for role in ROLES:
            user = users.create_user(session, f"{role}@example.com", "correct horse battery", role=role)
            callers.append({"cookie": f"{SESSION_COOKIE}={sessions.start(session, user)}"})
            CALLER_USER_IDS.add(user.id)
        SPARE_USER_ID.append(users.create_user(session, "spare@example.com", "correct horse battery",
                                               role="viewer").id)
    # No pre-warmer: this app is built while pytest collects, and the pre-warmer's text-model thread
    # would import and run torch/transformers next to hypothesis parsing lambda sources with `ast`
    # (CPython 3.11.7 then raises "AST constructor recursion depth mismatch"; and a thread still in
    # native code at exit aborts the process). The fuzzer checks answers, not warming.
    app = create_app(settings, lens=lens, app_db=db, web_prewarm=False)
    client = TestClient(app)
    for caller in callers:  # a session caller also sends its CSRF token, so writes get past it
        if "cookie" in caller:
            caller[CSRF_HEADER] = client.get("/v1/auth/me", headers=caller).json()["csrf_token"]
    return app, callers


#: The callers' own user ids, and a user that the fuzzer may change in their place.
CALLER_USER_IDS: set[int] = set()
SPARE_USER_ID: list[int] = []
_WORKDIR = Path(__import__("tempfile").mkdtemp(prefix="journeylens-fuzz-"))
APP, CALLERS = _app(_WORKDIR)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


def _reproducible(test: Any) -> Any:
    return seed(int(SEED))(test) if SEED else test


@schema.parametrize()
@_reproducible
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=SEED is None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_answer_is_documented_and_none_is_a_server_error(case: Any) -> None:
    # the callers take turns by the case's own content, so a replayed example gets the same caller
    caller = CALLERS[zlib.crc32(repr((case.operation.label, case.path_parameters, case.query,
                                      case.body)).encode()) % len(CALLERS)]
    if case.path == "/v1/auth/logout" and "cookie" in caller:
        caller = CALLERS[0]  # a session's sign-out would end it for the operations after it
    if case.path == "/v1/users/{user_id}" and case.path_parameters.get("user_id") in CALLER_USER_IDS:
        case.path_parameters["user_id"] = SPARE_USER_ID[0]  # deactivating a caller would change later answers
    # no read deadline: a report with models on a busy 2-core runner takes longer than the default 10 s
    checks = CHECKS if case.path in PER_ROW_QUARANTINE else [*CHECKS, negative_data_rejection]
    case.call_and_validate(headers={**(case.headers or {}), **caller}, checks=checks, timeout=900)
