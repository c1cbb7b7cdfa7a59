"""Native REST routes of the storage capability: buckets and streamed object upload / download."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from anyio import from_thread
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from videolens.api.auth import require_role
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.storage.models import Bucket, ObjectInfo

router = APIRouter(prefix="/v1/buckets", tags=["buckets"])

META_PREFIX = "x-amz-meta-"


class BucketList(BaseModel):
    buckets: list[Bucket]


class ObjectPage(BaseModel):
    objects: list[ObjectInfo]
    common_prefixes: list[str]
    next_token: str | None = None


def _sync_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body as a sync iterator for a worker thread (memory stays one chunk deep)."""

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


def _object_headers(info: ObjectInfo) -> dict[str, str]:
    headers = {
        "ETag": info.etag,
        "Last-Modified": info.last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "Accept-Ranges": "bytes",
        "Content-Type": info.content_type,
    }
    headers.update({META_PREFIX + k: v for k, v in info.metadata.items()})
    return headers


@router.get("", response_model=BucketList, dependencies=[require_role(Role.VIEWER)])
def list_buckets(c: ContainerDep) -> BucketList:
    return BucketList(buckets=c.storage.list_buckets())


@router.put("/{bucket}", status_code=201, response_model=Bucket, dependencies=[require_role(Role.OPERATOR)])
def create_bucket(bucket: str, c: ContainerDep) -> Bucket:
    result: Bucket = c.storage.create_bucket(bucket)
    return result


@router.delete("/{bucket}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
def delete_bucket(bucket: str, c: ContainerDep) -> Response:
    c.storage.delete_bucket(bucket)
    return Response(status_code=204)


@router.get("/{bucket}/objects", response_model=ObjectPage, dependencies=[require_role(Role.VIEWER)])
def list_objects(
    bucket: str,
    c: ContainerDep,
    prefix: str = "",
    delimiter: str | None = None,
    max_keys: Annotated[int, Query(ge=1, le=1000)] = 1000,
    next_token: str | None = None,
) -> ObjectPage:
    page = c.storage.list_objects(bucket, prefix, delimiter, max_keys, next_token)
    return ObjectPage(objects=page.objects, common_prefixes=page.common_prefixes, next_token=page.next_token)


@router.put(
    "/{bucket}/objects/{key:path}",
    status_code=201,
    response_model=ObjectInfo,
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        }
    },
    dependencies=[require_role(Role.OPERATOR)],
)
async def put_object(bucket: str, key: str, request: Request, c: ContainerDep) -> ObjectInfo:
    """Upload an object; the body streams to the blob store (any size, bounded memory)."""
    metadata = {k[len(META_PREFIX) :]: v for k, v in request.headers.items() if k.startswith(META_PREFIX)}
    info: ObjectInfo = await run_in_threadpool(
        c.storage.put_object,
        bucket,
        key,
        _sync_chunks(request.stream()),
        request.headers.get("content-type"),
        metadata,
    )
    return info


@router.get(
    "/{bucket}/objects/{key:path}",
    response_class=StreamingResponse,
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
def get_object(bucket: str, key: str, request: Request, c: ContainerDep) -> Response:
    """Download an object (`Range: bytes=a-b` answers 206 with that slice)."""
    info, byte_range, chunks = c.storage.read_object(
        bucket, key, request.headers.get("range"), request.headers.get("if-match")
    )
    start, end = byte_range if byte_range else (0, info.size)
    headers = _object_headers(info)
    headers["Content-Length"] = str(end - start)
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    return StreamingResponse(chunks, status_code=status, headers=headers, media_type=info.content_type)


@router.head("/{bucket}/objects/{key:path}", dependencies=[require_role(Role.VIEWER, signed_url=True)])
def head_object(bucket: str, key: str, c: ContainerDep) -> Response:
    info = c.storage.head_object(bucket, key)
    headers = _object_headers(info)
    headers["Content-Length"] = str(info.size)
    return Response(status_code=200, headers=headers)


@router.delete("/{bucket}/objects/{key:path}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
def delete_object(bucket: str, key: str, c: ContainerDep) -> Response:
    c.storage.delete_object(bucket, key)
    return Response(status_code=204)
