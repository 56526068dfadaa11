"""Every JSON answer of every read route, on the demo bank, matches the schema the OpenAPI
document gives for it — closed schemas included, so a key that drifts into an answer fails.

The fuzzer checks answers too, but with a few generated requests per operation it mostly
reaches refusals; this test asks each route a well-formed question on real-looking data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
from fastapi.testclient import TestClient

#: Required parameters (and a few variants) for routes that cannot answer without them.
QUERIES: dict[str, list[dict[str, str]]] = {
    "/v1/journey/funnel": [{"steps": "Open account online,KYC document upload"},
                           {"steps": "Open account online,KYC document upload", "by": "channel"}],
    "/v1/journey/funnel-vs-map": [{"steps": "Open account online,KYC document upload"}],
    "/v1/cohorts/compare": [{"cohorts": "online-only,blended", "analysis": analysis}
                            for analysis in ("journey_map", "channels", "conformance", "retention", "time_to_stage",
                                             "transitions", "variants")],
    "/v1/journey/map": [{}, {"by": "online-only,blended"}],
    "/v1/journey/channels": [{}, {"by": "online-only,blended"}],
    "/v1/journey/conformance": [{}, {"by": "online-only,blended"}],
    "/v1/journey/retention": [{}, {"period": "week"}],
    "/v1/journey/transitions": [{}, {"level": "stage"}],
    "/v1/journey/variants": [{}, {"level": "stage", "outcome": "churn"}],
    "/v1/metrics": [{}, {"by": "touchpoint,week", "detail": "true"}, {"by": "channel", "metric": "nps"}],
    "/v1/metrics/changes": [{}, {"period": "week", "every_period": "true"}],
    "/v1/journey/outcomes": [{}, {"period": "week"}],
    "/v1/text/topics": [{}, {"period": "week"}],
    "/v1/text/aspects": [{}, {"period": "quarter"}],
    "/v1/what-if": [{"change": "nps_driver=1"}],
    "/v1/predict/purchases": [],  # the demo bank has no purchase touchpoint; covered by the model tests
}
#: Routes whose answer is not JSON or needs a path parameter are skipped by construction.


def _validator(doc: dict[str, Any], path: str, answer_status: int) -> Any:
    responses = doc["paths"][path]["get"]["responses"]
    content = responses.get(str(answer_status), {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def test_every_read_answer_matches_its_documented_schema(client_for: Callable[[str], TestClient]) -> None:
    client = client_for("admin")
    doc = client.get("/openapi.json").json()
    asked, drifted = 0, []
    for path, operations in doc["paths"].items():
        if "get" not in operations or "{" in path:
            continue
        for query in QUERIES.get(path, [{}]):
            answer = client.get(path, params=query)
            if answer.status_code != 200 or not answer.headers["content-type"].startswith("application/json"):
                continue
            validator = _validator(doc, path, 200)
            assert validator is not None, f"GET {path} answers 200 but documents no JSON schema for it"
            asked += 1
            errors = sorted(validator.iter_errors(answer.json()), key=lambda e: list(map(str, e.absolute_path)))[:6]
            drifted += [f"GET {path} {query}: {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors]
    assert asked >= 40  # the demo answers most read routes
    assert drifted == []
