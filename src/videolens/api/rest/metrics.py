"""`GET /metrics`: the Prometheus exposition of this server (process metrics + store-wide state)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from videolens.api.auth import public
from videolens.api.deps import ContainerDep
from videolens.services.telemetry import CONTENT_TYPE

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    summary="Prometheus metrics",
    dependencies=[public(when="metrics_public")],
)
async def metrics(container: ContainerDep) -> Response:
    body = await run_in_threadpool(container.telemetry.exposition)
    return Response(body, media_type=CONTENT_TYPE)
