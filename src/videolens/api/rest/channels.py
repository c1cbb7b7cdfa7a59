"""Native REST routes of live channels: list / describe / start / stop / delete, and the native HLS output."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from videolens.api.auth import require_role, token_in_query
from videolens.api.deps import ContainerDep
from videolens.services.auth.models import Role
from videolens.services.channels.models import Channel

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
        },
    }


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


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
