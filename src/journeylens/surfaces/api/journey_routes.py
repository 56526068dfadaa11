"""HTTP routes for the journey definition and identity stitching (thin: one function call each).

- ``GET  /v1/journey/definition`` — the definition in use, as JSON
- ``POST /v1/journey/check``      — body: a journey YAML (or JSON) text; validation + coverage
- ``GET  /v1/journey/suggest``    — a proposed definition (``?format=yaml`` for the YAML text)
- ``GET  /v1/identities``         — stitching stats, most active links, conflicts
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from journeylens.errors import InputError
from journeylens.ingest.stitching import identity_report
from journeylens.journeys.check import check_definition
from journeylens.journeys.definition import JourneyDefinition, parse_definition
from journeylens.journeys.suggest import suggest_definition
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import LensDep

router = APIRouter(tags=["journey"])  # who may call what: surfaces/policy.py (identities: customer lookup)

MAX_DEFINITION_BYTES = 1_000_000


@router.get("/v1/journey/definition", response_model=None, responses={200: {"model": JourneyDefinition}})
def get_definition(lens: LensDep) -> dict[str, Any]:
    """The journey definition in use (the configured YAML, else one suggested from the events)."""
    return lens.definition.to_dict()


@router.post("/v1/journey/check", response_model=None, responses=rs.documented(rs.DefinitionCheckPublic),
             openapi_extra=rs.DEFINITION_BODY)
async def post_check(request: Request, lens: LensDep) -> dict[str, Any]:
    """Validate a journey YAML sent as the request body; 400 with line-numbered ``details.errors``."""
    body = await request.body()
    if len(body) > MAX_DEFINITION_BYTES:
        raise InputError(f"The definition is {len(body):,} bytes; at most {MAX_DEFINITION_BYTES:,} are accepted.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("The definition must be UTF-8 text (YAML or JSON).") from exc
    definition = parse_definition(text, source="request body")
    result = await run_in_threadpool(check_definition, lens.warehouse.table("events"), definition)
    return result.to_dict()


@router.get("/v1/journey/suggest", response_model=None, responses={200: {
    "model": JourneyDefinition, "content": {"application/yaml": {}}}})  # format=yaml: the same definition as YAML
def get_suggest(
    lens: LensDep,
    stages: Annotated[int, Query(ge=1, le=20)] = 4,
    max_touchpoints: Annotated[int, Query(ge=1, le=500)] = 40,
    format: Annotated[Literal["json", "yaml"], Query()] = "json",
) -> dict[str, Any] | PlainTextResponse:
    """A definition proposed from the events, for a person to edit."""
    definition = suggest_definition(lens.warehouse.table("events"), stages=stages,
                                    max_touchpoints=max_touchpoints)
    if format == "yaml":
        return PlainTextResponse(definition.to_yaml(), media_type="application/yaml")
    return definition.to_dict()


@router.get("/v1/identities", response_model=None, responses=rs.documented(rs.IdentityReportPublic))
def get_identities(lens: LensDep, limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> dict[str, Any]:
    """Identity stitching stats, the most active anonymous ids and conflicting ids."""
    return identity_report(lens.warehouse.table("events"), limit=limit).to_dict()
