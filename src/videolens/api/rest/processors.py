"""Native REST routes of the live capability: stream processors (`/v1/processors`).

Roles (api/auth.py): reads need a viewer, every change an operator.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.live.models import ProcessorInfo

router = APIRouter(prefix="/v1", tags=["processors"])
VIEWER = [require_role(Role.VIEWER)]
OPERATOR = [require_role(Role.OPERATOR)]


class CreateProcessorRequest(BaseModel):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_.\-]+$")
    #: the Rekognition shapes: {"KinesisVideoStream": {"Arn": ...}}, {"KinesisDataStream": {"Arn": ...}}, ...
    input: dict[str, Any]
    output: dict[str, Any]
    settings: dict[str, Any]
    regions_of_interest: list[dict[str, Any]] | None = None
    lag_policy: Literal["catch-up", "live"] = "catch-up"
    tags: dict[str, str] = Field(default_factory=dict)


def _doc(p: ProcessorInfo) -> dict[str, Any]:
    return {
        "name": p.name,
        "arn": p.arn,
        "kind": p.kind,
        "status": p.status,
        "status_message": p.status_message,
        "lag_policy": p.lag_policy,
        "fragments_done": p.fragments_done,
        "fragments_skipped": p.fragments_skipped,
        "lag_fragments": p.lag_fragments,
        "records_out": p.records_out,
        "definition": p.definition,
        "tags": p.tags,
        "created_at": p.created_at.isoformat(),
        "updated_at": p.updated_at.isoformat(),
    }


@router.post("/processors", status_code=201, dependencies=OPERATOR)
async def create_processor(body: CreateProcessorRequest, container: ContainerDep) -> dict[str, Any]:
    definition: dict[str, Any] = {"Input": body.input, "Output": body.output, "Settings": body.settings}
    if body.regions_of_interest is not None:
        definition["RegionsOfInterest"] = body.regions_of_interest
    info = await run_in_threadpool(
        container.processors.create, body.name, definition, body.tags, body.lag_policy
    )
    return _doc(info)


@router.get("/processors", dependencies=VIEWER)
async def list_processors(
    container: ContainerDep, max_results: int | None = None, next_token: str | None = None
) -> dict[str, Any]:
    page, token = await run_in_threadpool(container.processors.list_processors, max_results, next_token)
    return {"processors": [_doc(p) for p in page], "next_token": token}


@router.get("/processors/{name}", dependencies=VIEWER)
async def describe_processor(name: str, container: ContainerDep) -> dict[str, Any]:
    return _doc(await run_in_threadpool(container.processors.describe, name))


@router.post("/processors/{name}/start", dependencies=OPERATOR)
async def start_processor(name: str, container: ContainerDep) -> dict[str, Any]:
    return {"session_id": await run_in_threadpool(container.processors.start, name)}


@router.post("/processors/{name}/stop", status_code=204, dependencies=OPERATOR)
async def stop_processor(name: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.processors.stop, name)
    return Response(status_code=204)


@router.delete("/processors/{name}", status_code=204, dependencies=OPERATOR)
async def delete_processor(name: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.processors.delete, name)
    return Response(status_code=204)
