"""The served OpenAPI document: every operation declares the problem+json errors it can answer with.

FastAPI documents a 422 with its own error body, but `api/problems.py` turns every failure into an
RFC 9457 problem document (validation → 400). This module rewrites each operation's responses so the
document says what the server does (schemathesis checks every response against it):
- 422 goes; 400 comes for operations that take parameters or a body, 404 for those with path
  parameters or a body, 409 for writes on a named resource, 413 for those that take an upload, 507 for those
  that store data;
- a route adds its own cases with `responses={416: {"description": ...}}` in its decorator;
- every 4xx/5xx response without a body declaration gets the `Problem` schema as
  `application/problem+json`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "https://videolens.dev/problems/<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
    },
}
_DESCRIPTIONS = {
    400: "Invalid request (malformed body, a parameter out of range, an unknown option)",
    404: "No such resource",
    409: "The resource exists already or its state does not allow the operation",
    413: "The upload exceeds its size limit (checked while it streams)",
    507: "The server's storage is full; nothing was stored",
}
_UPLOAD_TYPES = ("application/octet-stream", "multipart/form-data", "image/")
_WRITES = ("post", "put", "delete", "patch")


def install_openapi(app: FastAPI) -> None:
    """Post-process FastAPI's generated document once, on first use."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None or not app.openapi_schema.get("x-problems"):
            schema = generate()
            describe_problems(schema)
            schema["x-problems"] = True
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if isinstance(operation, dict) and "responses" in operation:
                _describe_operation(method, operation, ref)


def _describe_operation(method: str, operation: dict[str, Any], ref: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    params = operation.get("parameters", [])
    body = operation.get("requestBody")
    has_path = any(p.get("in") == "path" for p in params)
    statuses = []
    if params or body:
        statuses.append(400)
    if has_path or body:  # a path names a resource; a body may name others (bucket, topic, ...)
        statuses.append(404)
    if method in _WRITES and (has_path or body):
        statuses.append(409)
    if body and any(t.startswith(_UPLOAD_TYPES) for t in body.get("content", {})):
        statuses.append(413)
    if method in ("post", "put"):
        statuses.append(507)
    for status in statuses:
        responses.setdefault(str(status), {"description": _DESCRIPTIONS[status]})
    for code, response in responses.items():
        if code[0] in "45" and not response.get("content"):
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": ref}}
