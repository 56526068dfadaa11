"""The OpenAPI document says which error answers each operation can give, in the one shape.

FastAPI documents only a route's success answer (and a 422 in its own ``detail`` shape, which
this API never sends: :mod:`journeylens.surfaces.api.errors` answers every error as
``{"error": {"code", "message", "details"}}``). :func:`install_openapi` adds the error answers
every operation can give — bad input, not signed in, not allowed, not found, conflicts,
throttling and what the engine cannot do — with that shape, so a client (and the API fuzzer's
status-code and schema checks) knows every answer it can get.

>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> @app.get("/x")
... def x() -> dict[str, int]:
...     return {"n": 1}
>>> install_openapi(app)
>>> sorted(app.openapi()["paths"]["/x"]["get"]["responses"])[:4]
['200', '400', '401', '403']
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable error code (see docs/errors.md).")
    message: str = Field(description="What was wrong and what is allowed.")
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """Every error answer of the API."""

    error: ErrorDetail


#: Error answers any operation can give (authorisation runs on every route; filters, ids and
#: bodies are checked; the engine may refuse what it cannot do).
COMMON_ERRORS: dict[str, str] = {
    "400": "Bad input (for example a NUL character in the path or query).",
    "401": "Not signed in, or the key or session is not valid.",
    "403": "Signed in, but the role or key scope does not allow this.",
    "404": "Not found, or no data for the request.",
    "409": "Conflicts with what exists.",
    "413": "The request body is too large.",
    "415": "The body's encoding is not supported.",
    "422": "A parameter or the body is not valid.",
    "429": "Too many attempts; see Retry-After.",
    "501": "The warehouse engine cannot do this.",
    "503": "The warehouse ran out of memory for this request; try a narrower one.",
}
_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def _document_errors(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error_schema.pop("$defs", {}))
    schemas["ErrorResponse"] = error_schema
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's shape, never sent here
        schemas.pop(name, None)
    for operations in doc.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_ERRORS.items():
                responses[status] = {"description": description, "content": {"application/json": {"schema": _REF}}}
    return doc


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` document the error answers (built once, then cached by FastAPI)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_errors(get_openapi(
                title=app.title, version=app.version, openapi_version=app.openapi_version,
                description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
