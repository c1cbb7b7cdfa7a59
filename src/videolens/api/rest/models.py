"""Native REST routes of the models capability: register, list, describe, delete and invoke models."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.errors import InvalidParameterError, PayloadTooLargeError
from videolens.services.models.models import ModelInfo, ModelInput

router = APIRouter(prefix="/v1/models", tags=["models"])
#: a JSON registration (http, kserve, builtin) is small; ONNX files come as multipart
MAX_JSON_BODY = 1024 * 1024

_CREATE_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": ["name", "kind"], "additionalProperties": True},
                "example": {
                    "name": "people",
                    "kind": "http",
                    "url": "http://127.0.0.1:9000/invocations",
                    "content_type": "image/jpeg",
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file", "spec"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string", "default": "onnx"},
                        "spec": {"type": "string", "description": "JSON: {input, decoder, ...}"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            },
        },
    }
}


class ModelView(BaseModel):
    name: str
    kind: str
    config: dict[str, Any]
    details: dict[str, Any]
    version: str
    created_at: datetime
    file_size: int | None = None
    file_sha256: str | None = None


class ModelPage(BaseModel):
    models: list[ModelView]
    next_token: str | None = None


def _view(info: ModelInfo) -> ModelView:
    return ModelView(**{k: getattr(info, k) for k in ModelView.model_fields})


def _json_object(raw: str | bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise InvalidParameterError(f"{what} is not valid JSON") from exc
    if not isinstance(doc, dict):
        raise InvalidParameterError(f"{what} must be a JSON object")
    return doc


async def _registration(request: Request) -> tuple[str, str, dict[str, Any], bytes | None]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        name, kind, spec, upload = (
            form.get("name"),
            form.get("kind") or "onnx",
            form.get("spec"),
            form.get("file"),
        )
        if not isinstance(upload, UploadFile):
            raise InvalidParameterError("multipart field 'file' (the model file) is missing")
        config = _json_object(spec, "multipart field 'spec'") if isinstance(spec, str) else {}
        return str(name or ""), str(kind), config, await upload.read()
    body = await request.body()
    if len(body) > MAX_JSON_BODY:
        raise PayloadTooLargeError("a JSON model registration is at most 1 MiB; upload files as multipart")
    doc = _json_object(body, "the request body")
    name, kind = doc.pop("name", None), doc.pop("kind", None)
    if not isinstance(name, str) or not isinstance(kind, str):
        raise InvalidParameterError("'name' and 'kind' are required strings")
    return name, kind, doc, None


@router.post(
    "",
    status_code=201,
    response_model=ModelView,
    openapi_extra=_CREATE_DOC,
    dependencies=[require_role(Role.OPERATOR)],
)
async def create_model(request: Request, container: ContainerDep) -> ModelView:
    """Register a model: JSON for http / kserve / builtin, multipart (file + spec) for onnx."""
    name, kind, config, file = await _registration(request)
    info = await run_in_threadpool(container.models_service.create, name, kind, config, file)
    return _view(info)


@router.get("", response_model=ModelPage, dependencies=[require_role(Role.VIEWER)])
async def list_models(
    container: ContainerDep,
    max_results: int = Query(100, ge=1, le=1000),
    next_token: str | None = None,
) -> ModelPage:
    page, token = await run_in_threadpool(container.models_service.list, max_results, next_token)
    return ModelPage(models=[_view(i) for i in page], next_token=token)


@router.get("/{name}", response_model=ModelView, dependencies=[require_role(Role.VIEWER)])
async def describe_model(name: str, container: ContainerDep) -> ModelView:
    return _view(await run_in_threadpool(container.models_service.get, name))


@router.delete("/{name}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
async def delete_model(name: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.models_service.delete, name)
    return Response(status_code=204)


@router.post(
    "/{name}/invoke",
    response_class=Response,
    openapi_extra={
        "requestBody": {"required": True, "content": {"image/jpeg": {}, "image/png": {}}},
    },
    dependencies=[require_role(Role.VIEWER)],
)
async def invoke_model(name: str, request: Request, container: ContainerDep) -> Response:
    """Run the model on the image in the body; the answer is the model's, with its content type."""
    limit = container.settings.max_image_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLargeError(f"the image is over {limit} bytes")
    inp = ModelInput.from_bytes(
        bytes(body), request.headers.get("content-type"), container.settings.max_image_pixels
    )
    answer = await container.models_service.ainvoke(name, inp, request.headers.get("accept"))
    return Response(answer.body, media_type=answer.content_type)
