"""Native REST routes of the streams capability, the PutMedia ingest endpoint and HLS playback URLs."""

from __future__ import annotations

import base64
import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.routing import Route

from videolens.api.auth import Access, declare, identity_of, require_role, token_in_query
from videolens.api.deps import ContainerDep
from videolens.api.kvs_wire import hls_master_url, serve_put_media
from videolens.services.auth.models import Role
from videolens.services.streams.models import FragmentInfo, StreamInfo
from videolens.services.streams.reading import StartSelector

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["streams"])
#: routes outside /v1 whose paths KVS clients expect (PutMedia data endpoint, HLS playback)
kvs_router = APIRouter(tags=["streams"])

TimeKind = Literal["PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP"]
CORS = {"Access-Control-Allow-Origin": "*"}


class CreateStreamRequest(BaseModel):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[a-zA-Z0-9_.\-]+$")
    retention_hours: int = Field(default=24, ge=0, le=87600)
    media_type: str | None = None
    device_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class StreamPage(BaseModel):
    streams: list[dict[str, Any]]
    next_token: str | None = None


class HlsRequest(BaseModel):
    mode: Literal["LIVE", "LIVE_REPLAY", "ON_DEMAND"] = "LIVE"
    kind: TimeKind = "SERVER_TIMESTAMP"
    start: float | None = None
    end: float | None = None
    expires: int = Field(default=3600, ge=300, le=43200)


def stream_doc(info: StreamInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "arn": info.arn,
        "status": info.status,
        "version": info.version,
        "retention_hours": info.retention_hours,
        "media_type": info.media_type,
        "device_name": info.device_name,
        "created_at": info.created_at,
        "tags": info.tags,
    }


def fragment_doc(f: FragmentInfo) -> dict[str, Any]:
    return {
        "fragment_number": f.fragment_number,
        "producer_timestamp": f.producer_ts,
        "server_timestamp": f.server_ts,
        "duration_ms": f.duration_ms,
        "size": f.size,
    }


@router.post("/streams", status_code=201, dependencies=[require_role(Role.OPERATOR)])
def create_stream(body: CreateStreamRequest, c: ContainerDep) -> dict[str, Any]:
    info = c.streams.create_stream(
        body.name,
        retention_hours=body.retention_hours,
        media_type=body.media_type,
        device_name=body.device_name,
        tags=body.tags,
    )
    return stream_doc(info)


@router.get("/streams", dependencies=[require_role(Role.VIEWER)])
def list_streams(
    c: ContainerDep,
    prefix: str | None = None,
    max_results: Annotated[int, Query(ge=1, le=10000)] = 1000,
    next_token: str | None = None,
) -> StreamPage:
    streams, token = c.streams.catalog.list_page(
        prefix=prefix, max_results=max_results, next_token=next_token
    )
    return StreamPage(streams=[stream_doc(s) for s in streams], next_token=token)


@router.get("/streams/{name}", dependencies=[require_role(Role.VIEWER)])
def describe_stream(name: str, c: ContainerDep) -> dict[str, Any]:
    return stream_doc(c.streams.describe_stream(name))


@router.delete("/streams/{name}", status_code=204, dependencies=[require_role(Role.OPERATOR)])
def delete_stream(name: str, c: ContainerDep) -> Response:
    info = c.streams.describe_stream(name)
    c.streams.delete_stream(info.arn)
    return Response(status_code=204)


@router.get("/streams/{name}/fragments", dependencies=[require_role(Role.VIEWER)])
def list_fragments(
    name: str,
    c: ContainerDep,
    kind: TimeKind = "PRODUCER_TIMESTAMP",
    start: float | None = None,
    end: float | None = None,
    max_results: Annotated[int, Query(ge=1, le=1000)] = 1000,
    next_token: str | None = None,
) -> dict[str, Any]:
    rows, token = c.streams.list_fragments(
        name=name, kind=kind, start=start, end=end, max_results=max_results, next_token=next_token
    )
    return {"fragments": [fragment_doc(r) for r in rows], "next_token": token}


@router.get(
    "/streams/{name}/clip.mp4",
    response_class=StreamingResponse,
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
async def get_clip(
    name: str, c: ContainerDep, start: float, end: float, kind: TimeKind = "PRODUCER_TIMESTAMP"
) -> StreamingResponse:
    chunks, _info = await run_in_threadpool(c.streams.clip, name=name, kind=kind, start=start, end=end)
    return StreamingResponse(chunks, media_type="video/mp4")


@router.get(
    "/streams/{name}/media",
    response_class=StreamingResponse,
    dependencies=[require_role(Role.VIEWER, signed_url=True)],
)
async def get_media(
    name: str,
    c: ContainerDep,
    selector: Literal[
        "EARLIEST", "NOW", "FRAGMENT_NUMBER", "PRODUCER_TIMESTAMP", "SERVER_TIMESTAMP"
    ] = "EARLIEST",
    fragment_number: str | None = None,
    timestamp: float | None = None,
    follow: bool = False,
) -> StreamingResponse:
    """The GetMedia stream (Matroska documents with KVS tags); follow=true keeps tailing a live stream."""
    start = StartSelector(selector, after_fragment_number=fragment_number, start_timestamp=timestamp)
    documents = await run_in_threadpool(c.streams.media, start, name=name, follow=follow)
    return StreamingResponse(documents, media_type="video/webm")


@router.get("/streams/{name}/images", dependencies=[require_role(Role.VIEWER)])
async def get_images(
    name: str,
    c: ContainerDep,
    start: float,
    end: float,
    interval_ms: Annotated[int, Query(ge=200)] = 1000,
    format: Literal["JPEG", "PNG"] = "JPEG",
    width: Annotated[int | None, Query(ge=1, le=3840)] = None,
    height: Annotated[int | None, Query(ge=1, le=2160)] = None,
    kind: TimeKind = "PRODUCER_TIMESTAMP",
    max_results: Annotated[int, Query(ge=1, le=100)] = 100,
) -> dict[str, Any]:
    images, token = await run_in_threadpool(
        c.streams.images,
        name=name,
        kind=kind,
        start=start,
        end=end,
        interval_ms=interval_ms,
        fmt=format,
        width=width,
        height=height,
        max_results=max_results,
    )
    return {
        "images": [
            {"timestamp": i.timestamp, "content": base64.b64encode(i.data).decode() if i.data else None}
            for i in images
        ],
        "next_token": token,
    }


@router.post("/streams/{name}/hls", dependencies=[require_role(Role.VIEWER)])
def create_hls_session(name: str, body: HlsRequest, c: ContainerDep, request: Request) -> dict[str, str]:
    """A playback URL for hls.js / Safari / VLC: it carries a signed session token, so no header."""
    token = c.streams.hls_session(
        name=name,
        mode=body.mode,
        kind=body.kind,
        start=body.start,
        end=body.end,
        expires=body.expires,
        issuer=identity_of(request).id,
    )
    return {"url": hls_master_url(str(request.base_url).rstrip("/"), token)}


class PullRequest(BaseModel):
    url: str = Field(min_length=1, description="rtsp://, rtmp://, http(s):// or a file path PyAV can open")
    listen: bool = Field(
        default=False, description="wait for a publisher on this URL (e.g. rtmp://0.0.0.0:1935/live/x)"
    )


def pull_doc(status: Any) -> dict[str, Any]:
    return {
        "stream": status.stream,
        "url": status.url,
        "listen": status.listen,
        "state": status.state,
        "sessions": status.sessions,
        "fragments": status.fragments,
        "reconnects": status.reconnects,
        "last_error": status.last_error,
        "owner": status.owner,
    }


@router.put("/streams/{name}/pull", dependencies=[require_role(Role.OPERATOR)])
def start_pull(name: str, body: PullRequest, c: ContainerDep) -> dict[str, Any]:
    """Attach a camera to the stream: stored, pulled by one server at a time, reconnects until deleted."""
    c.streams.describe_stream(name)
    return pull_doc(c.streams.pulls.add(name, body.url, listen=body.listen))


@router.get("/streams/{name}/pull", dependencies=[require_role(Role.VIEWER)])
def get_pull(name: str, c: ContainerDep) -> dict[str, Any]:
    return pull_doc(c.streams.pulls.get(name))


@router.delete("/streams/{name}/pull", status_code=204, dependencies=[require_role(Role.OPERATOR)])
def stop_pull(name: str, c: ContainerDep) -> Response:
    c.streams.pulls.remove(name)
    return Response(status_code=204)


# -- HLS playback (unsigned, authorised by the session token) -----------------------------------------


def hls_issuer(c: Any, token: str) -> str | None:
    """The credential that asked for an HLS session (AuthError when the token is forged or expired)."""
    issuer: str | None = c.streams.tokens.read(token).issuer
    return issuer


M3U8 = "application/vnd.apple.mpegurl"
#: what the session-token routes declare: the playlist/segment type and a refused or expired token
HLS_TOKEN_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "The session token is invalid or has expired"}
}


def _hls_responses(media_type: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"content": {media_type: {"schema": {"type": "string"}}}}, **HLS_TOKEN_REFUSED}


@kvs_router.get(
    "/hls/v1/getHLSMasterPlaylist.m3u8",
    response_class=Response,
    responses=_hls_responses(M3U8),
    dependencies=[token_in_query("SessionToken", check=hls_issuer)],
)
def hls_master(c: ContainerDep, session_token: Annotated[str, Query(alias="SessionToken")]) -> Response:
    text = c.streams.hls_master(token := session_token, f"getHLSMediaPlaylist.m3u8?SessionToken={token}")
    return Response(text, media_type=M3U8, headers=CORS)


@kvs_router.get(
    "/hls/v1/getHLSMediaPlaylist.m3u8",
    response_class=Response,
    responses=_hls_responses(M3U8),
    dependencies=[token_in_query("SessionToken", check=hls_issuer)],
)
def hls_media(c: ContainerDep, session_token: Annotated[str, Query(alias="SessionToken")]) -> Response:
    uri = f"getTSFragment.ts?SessionToken={session_token}&FragmentNumber={{number}}"
    return Response(c.streams.hls_media(session_token, uri), media_type=M3U8, headers=CORS)


@kvs_router.get(
    "/hls/v1/getTSFragment.ts",
    response_class=Response,
    responses=_hls_responses("video/mp2t"),
    dependencies=[token_in_query("SessionToken", check=hls_issuer)],
)
def hls_ts(
    c: ContainerDep,
    session_token: Annotated[str, Query(alias="SessionToken")],
    fragment_number: Annotated[str, Query(alias="FragmentNumber")],
) -> Response:
    data = c.streams.hls_segment(session_token, fragment_number)
    return Response(data, media_type="video/mp2t", headers=CORS)


class _PutMediaApp:
    """Raw ASGI endpoint: FastAPI's request/response cycle cannot answer while the body still flows."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        container = scope["app"].state.container
        await serve_put_media(container, headers, receive, send)


kvs_router.routes.append(
    Route(
        "/putMedia",
        endpoint=declare(_PutMediaApp(), Access(Role.OPERATOR)),
        methods=["POST"],
        include_in_schema=False,
    )
)
