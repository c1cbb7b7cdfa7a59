"""Native REST routes of the analyzers capability (`/v1/analyzers`): define, start, stop, watch, delete.

Roles (api/auth.py): reads need a viewer, every change an operator.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.analyzers.models import AnalyzerSpec
from videolens.services.auth.models import Role

router = APIRouter(prefix="/v1", tags=["analyzers"])
VIEWER = [require_role(Role.VIEWER)]
OPERATOR = [require_role(Role.OPERATOR)]


@router.post("/analyzers", status_code=201, dependencies=OPERATOR)
async def create_analyzer(body: AnalyzerSpec, container: ContainerDep) -> dict[str, Any]:
    info = await run_in_threadpool(container.analyzers.create, body.model_dump(mode="json"))
    return info.to_dict()


@router.get("/analyzers", dependencies=VIEWER)
async def list_analyzers(
    container: ContainerDep, max_results: int | None = None, next_token: str | None = None
) -> dict[str, Any]:
    page, token = await run_in_threadpool(container.analyzers.list_analyzers, max_results, next_token)
    return {"analyzers": [a.to_dict() for a in page], "next_token": token}


@router.get("/analyzers/{name}", dependencies=VIEWER)
async def describe_analyzer(name: str, container: ContainerDep) -> dict[str, Any]:
    return (await run_in_threadpool(container.analyzers.describe, name)).to_dict()


@router.post("/analyzers/{name}/start", dependencies=OPERATOR)
async def start_analyzer(
    name: str, container: ContainerDep, position: Literal["now", "oldest"] = "now"
) -> dict[str, Any]:
    """`position=now` (default): from each stream's next fragment; `oldest`: from its first stored one."""
    return {"session_id": await run_in_threadpool(container.analyzers.start, name, position)}


@router.post("/analyzers/{name}/stop", status_code=204, dependencies=OPERATOR)
async def stop_analyzer(name: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.analyzers.stop, name)
    return Response(status_code=204)


@router.delete("/analyzers/{name}", status_code=204, dependencies=OPERATOR)
async def delete_analyzer(name: str, container: ContainerDep) -> Response:
    await run_in_threadpool(container.analyzers.delete, name)
    return Response(status_code=204)
