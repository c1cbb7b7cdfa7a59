"""Native REST routes of the sightings capability: search by image or face id, groups, enrol, thumbnails."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.errors import InvalidParameterError, PayloadTooLargeError
from videolens.services.sightings.service import Appearance

router = APIRouter(prefix="/v1/sightings", tags=["sightings"])
MAX_IMAGE = 5 * 1024 * 1024


def _clip_url(a: Appearance, base: str) -> str | None:
    """Where the appearance plays: the stream's clip.mp4 over its producer-time range; for a stored
    video, the object with a media-fragment time range (`#t=start,end`)."""
    if a.source_kind == "stream" and ":stream/" in a.source:
        name = a.source.split(":stream/", 1)[1].split("/", 1)[0]
        query = urlencode({"start": f"{a.start_s:.3f}", "end": f"{a.end_s:.3f}"})
        return f"{base}/v1/streams/{quote(name)}/clip.mp4?{query}"
    if a.source_kind == "video" and a.source.startswith("s3://"):
        bucket, _, key = a.source.removeprefix("s3://").partition("/")
        return f"{base}/v1/buckets/{quote(bucket)}/objects/{quote(key)}#t={a.start_s:.3f},{a.end_s:.3f}"
    return None


def _view(a: Appearance, base: str) -> dict[str, Any]:
    doc = asdict(a)
    doc.pop("has_thumbnail")
    doc["clip"] = a.clip
    doc["clip_url"] = _clip_url(a, base)
    doc["thumbnail_url"] = f"{base}/v1/sightings/{a.sighting_id}/thumbnail" if a.has_thumbnail else None
    return doc


def _since(hours: float | None) -> float | None:
    return None if hours is None else time.time() - hours * 3600


@router.post(
    "/search",
    # a read-only computation, like SearchFacesByImage
    dependencies=[require_role(Role.VIEWER)],
    openapi_extra={"requestBody": {"required": True, "content": {"image/jpeg": {}, "image/png": {}}}},
)
async def search_by_image(
    request: Request,
    container: ContainerDep,
    stream: str | None = Query(None, description="only this stream's sightings (its ARN)"),
    since_hours: float | None = Query(None, gt=0, description="only sightings of the last N hours"),
) -> dict[str, Any]:
    body = await request.body()
    if not body:
        raise InvalidParameterError("the request body must be a JPEG or PNG image")
    if len(body) > MAX_IMAGE:
        raise PayloadTooLargeError("the image is larger than 5 MiB")
    found = await run_in_threadpool(container.sightings.search_image, body, stream, _since(since_hours))
    base = str(request.base_url).rstrip("/")
    return {"Sightings": [_view(a, base) for a in found]}


@router.get("/search", dependencies=[require_role(Role.VIEWER)])
async def search_by_face(
    request: Request,
    container: ContainerDep,
    collection_id: str = Query(..., min_length=1),
    face_id: str = Query(..., min_length=1),
    stream: str | None = Query(None),
    since_hours: float | None = Query(None, gt=0),
) -> dict[str, Any]:
    found = await run_in_threadpool(
        container.sightings.search_face, collection_id, face_id, stream, _since(since_hours)
    )
    base = str(request.base_url).rstrip("/")
    return {"Sightings": [_view(a, base) for a in found]}


@router.get("/groups", dependencies=[require_role(Role.VIEWER)])
async def groups(container: ContainerDep) -> dict[str, Any]:
    return {"Groups": [asdict(g) for g in await run_in_threadpool(container.sightings.groups)]}


class EnrolRequest(BaseModel):
    collection_id: str = Field(min_length=1, max_length=255)
    name: str = Field(min_length=1, max_length=255, pattern=r"^[a-zA-Z0-9_.\-:]+$")


@router.post("/groups/{group_id}/enrol", dependencies=[require_role(Role.OPERATOR)])
async def enrol(group_id: str, body: EnrolRequest, container: ContainerDep) -> dict[str, Any]:
    ids = await run_in_threadpool(container.sightings.enrol, group_id, body.collection_id, body.name)
    return {"FaceIds": ids}


@router.get("/{sighting_id}/thumbnail", response_class=Response, dependencies=[require_role(Role.VIEWER)])
async def thumbnail(sighting_id: str, container: ContainerDep) -> Response:
    data = await run_in_threadpool(container.sightings.thumbnail, sighting_id)
    return Response(data, media_type="image/jpeg")
