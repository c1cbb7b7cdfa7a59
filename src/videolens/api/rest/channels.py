"""Native REST routes of live channels: list / describe / start / stop / delete, and the native HLS output."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from videolens.api.auth import require_role, token_in_query
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.channels.models import Channel, Input

router = APIRouter(prefix="/v1", tags=["channels"])
CORS = {"Access-Control-Allow-Origin": "*"}


def channel_doc(c: Any, channel: Channel, base_url: str) -> dict[str, Any]:
    stats = c.channels.stats(channel.id)
    base = c.channels.hls_base(channel)
    return {
        "id": channel.id,
        "arn": channel.arn,
        "name": channel.name,
        "state": channel.state,
        "inputs": channel.input_ids,
        "anonymize": c.channels.anonymize_spec(channel),
        "recording_stream": channel.recording_stream,
        "hls_url": f"{base_url}/v1/channels/{channel.id}/hls/{base}.m3u8?key={channel.playback_key}",
        "stats": None
        if stats is None
        else {
            "connections": stats.connections,
            "frames_in": stats.frames_in,
            "segments": stats.segments,
            "discontinuities": stats.discontinuities,
            "last_error": stats.last_error,
            "frames_dropped": stats.frames_dropped,
            "lag_s": round(stats.lag_s, 3),
        },
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


class CreateGroupRequest(BaseModel):
    cidrs: list[str] = Field(min_length=1)


class CreateInputRequest(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    type: str = "RTMP_PUSH"
    stream_name: str | None = None  # push inputs: "app/instance"
    source: str | None = None  # pull inputs: the URL
    security_groups: list[str] = Field(default_factory=list)


class CreateChannelRequest(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    input_id: str
    destination: str = Field(description="s3:// or s3ssl:// URL of a videolens bucket prefix")
    segment_seconds: int = Field(default=2, ge=1, le=60)
    #: {"mode": "pixelate"|"blur"|"solid"|"none", "spare_collection": ...}; absent: tag or server default
    anonymize: dict[str, Any] | None = None
    encoder_settings: dict[str, Any] | None = None  # MediaLive's EncoderSettings; default: one rendition


def input_doc(c: Any, item: Input, request: Request) -> dict[str, Any]:
    host = request.url.hostname or "127.0.0.1"
    return {
        "id": item.id,
        "arn": item.arn,
        "name": item.name,
        "type": item.type,
        "state": item.state,
        "push_urls": c.channels.push_urls(item, host),
        "sources": item.sources,
        "security_groups": item.security_groups,
        "attached_channels": item.attached_channels,
    }


@router.post("/channels/security-groups", dependencies=[require_role(Role.OPERATOR)], status_code=201)
def create_group(body: CreateGroupRequest, c: ContainerDep) -> dict[str, Any]:
    group = c.channels.inputs.create_group(body.cidrs)
    return {"id": group.id, "arn": group.arn, "cidrs": group.cidrs}


@router.post("/channels/inputs", dependencies=[require_role(Role.OPERATOR)], status_code=201)
def create_input(body: CreateInputRequest, c: ContainerDep, request: Request) -> dict[str, Any]:
    item = c.channels.inputs.create_input(
        body.name,
        body.type,
        stream_names=[body.stream_name] if body.stream_name else [],
        sources=[body.source] if body.source else [],
        security_groups=body.security_groups,
    )
    return input_doc(c, item, request)


@router.get("/channels/inputs", dependencies=[require_role(Role.VIEWER)])
def list_inputs(c: ContainerDep, request: Request) -> dict[str, Any]:
    return {"inputs": [input_doc(c, i, request) for i in c.channels.inputs.inputs()]}


@router.post("/channels", dependencies=[require_role(Role.OPERATOR)], status_code=201)
def create_channel(body: CreateChannelRequest, c: ContainerDep, request: Request) -> dict[str, Any]:
    channel = c.channels.create_channel(
        body.name,
        input_attachments=[{"InputId": body.input_id}],
        destinations=[{"Id": "destination", "Settings": [{"Url": body.destination}]}],
        encoder_settings=body.encoder_settings
        or c.channels.default_encoder_settings("destination", body.segment_seconds),
        anonymize=body.anonymize,
    )
    return channel_doc(c, channel, _base(request))


@router.get("/channels", dependencies=[require_role(Role.VIEWER)])
def list_channels(c: ContainerDep, request: Request) -> dict[str, Any]:
    return {"channels": [channel_doc(c, ch, _base(request)) for ch in c.channels.list_channels()]}


@router.get("/channels/{channel_id}", dependencies=[require_role(Role.VIEWER)])
def get_channel(channel_id: str, c: ContainerDep, request: Request) -> dict[str, Any]:
    return channel_doc(c, c.channels.channel(channel_id), _base(request))


@router.post("/channels/{channel_id}/start", dependencies=[require_role(Role.OPERATOR)])
def start_channel(channel_id: str, c: ContainerDep, request: Request) -> dict[str, Any]:
    return channel_doc(c, c.channels.start_channel(channel_id), _base(request))


@router.post("/channels/{channel_id}/stop", dependencies=[require_role(Role.OPERATOR)])
def stop_channel(channel_id: str, c: ContainerDep, request: Request) -> dict[str, Any]:
    return channel_doc(c, c.channels.stop_channel(channel_id), _base(request))


@router.delete("/channels/{channel_id}", dependencies=[require_role(Role.OPERATOR)])
def delete_channel(channel_id: str, c: ContainerDep, request: Request) -> dict[str, Any]:
    return channel_doc(c, c.channels.delete_channel(channel_id), _base(request))


@router.get("/channels/{channel_id}/hls/{name}", dependencies=[token_in_query("key")])
def channel_hls(channel_id: str, name: str, c: ContainerDep, key: Annotated[str, Query()]) -> Response:
    """The channel's native HLS output (playlists and segments), authorised by its playback key."""
    data = c.channels.native_file(channel_id, name, key)
    media = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else "video/mp2t"
    return Response(data, media_type=media, headers={**CORS, "Cache-Control": "no-cache"})
