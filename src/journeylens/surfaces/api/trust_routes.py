"""HTTP routes that make numbers explain themselves: annotations, saved views, properties that
can split a number, and data freshness.

- ``GET /v1/annotations?start=&end=&touchpoint=`` · ``POST /v1/annotations`` · ``DELETE /v1/annotations/{id}``
- ``POST /v1/annotations/from-property?property=app_version`` (one marker per new value)
- ``GET /v1/views`` · ``POST /v1/views`` · ``GET /v1/views/{name}`` · ``DELETE /v1/views/{name}``
- ``GET /v1/properties?top=5`` · ``GET /v1/freshness``

Reading needs the ``read`` scope; writing needs ``ingest`` (admins and analysts).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from journeylens.operations import annotations as notes
from journeylens.surfaces.api import response_schemas as rs
from journeylens.surfaces.api.deps import DbSessionDep, LensDep, Principal, require_scope
from journeylens.surfaces.api.hardening import IsoDateTime, RowId

router = APIRouter(tags=["annotations and views"])
Reader = Annotated[Principal, Depends(require_scope("read"))]
Writer = Annotated[Principal, Depends(require_scope("ingest"))]


@router.get("/v1/annotations", response_model=list[notes.AnnotationPublic])
def get_annotations(session: DbSessionDep, principal: Reader, start: IsoDateTime | None = None,
                    end: IsoDateTime | None = None, touchpoint: str | None = None) -> list[notes.AnnotationPublic]:
    return notes.list_annotations(session, start=start, end=end, touchpoint=touchpoint)


@router.post("/v1/annotations", response_model=notes.AnnotationPublic, status_code=201)
def post_annotation(body: notes.AnnotationCreate, session: DbSessionDep, principal: Writer) -> notes.AnnotationPublic:
    return notes.create_annotation(session, body, actor=principal.actor, source="api")


@router.delete("/v1/annotations/{annotation_id}", status_code=204)
def remove_annotation(annotation_id: RowId, session: DbSessionDep, principal: Writer) -> None:
    notes.delete_annotation(session, annotation_id)


@router.post("/v1/annotations/from-property", response_model=list[notes.AnnotationPublic])
def annotations_from_property(session: DbSessionDep, lens: LensDep, principal: Writer,
                              property: Annotated[str, Query(min_length=1, max_length=64)],
                              kind: str = "release") -> list[notes.AnnotationPublic]:
    return notes.from_property(session, lens.events(), property, kind=kind, actor=principal.actor)


@router.get("/v1/views", response_model=list[notes.ViewPublic])
def get_views(session: DbSessionDep, principal: Reader) -> list[notes.ViewPublic]:
    return notes.list_views(session)


@router.post("/v1/views", response_model=notes.ViewPublic, status_code=201)
def post_view(body: notes.ViewCreate, session: DbSessionDep, principal: Writer) -> notes.ViewPublic:
    return notes.save_view(session, body, actor=principal.actor)


@router.get("/v1/views/{name}", response_model=notes.ViewPublic)
def get_view(name: str, session: DbSessionDep, principal: Reader) -> notes.ViewPublic:
    return notes.get_view(session, name)


@router.delete("/v1/views/{name}", status_code=204)
def remove_view(name: str, session: DbSessionDep, principal: Writer) -> None:
    notes.delete_view(session, name)


@router.get("/v1/properties", response_model=None, responses=rs.documented(list[rs.PropertyRow]))
async def get_properties(lens: LensDep, principal: Reader,
                         top: Annotated[int, Query(ge=0, le=50)] = 5) -> list[dict[str, Any]]:
    result = await run_in_threadpool(lambda: lens.properties(top=top))
    rows: list[dict[str, Any]] = result.to_dict()
    return rows


@router.get("/v1/freshness", response_model=None, responses=rs.documented(rs.FreshnessPublic))
async def get_freshness(lens: LensDep, principal: Reader) -> dict[str, Any]:
    result = await run_in_threadpool(lens.freshness)
    payload: dict[str, Any] = result.to_dict()
    return payload
