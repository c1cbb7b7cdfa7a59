"""Kinesis Video archived media (rest-json): ListFragments, GetClip, GetImages, HLS, fragment lists."""

from __future__ import annotations

import base64
from typing import Any, cast

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.api.kvs_wire import KVS_ERRORS, hls_master_url
from videolens.services.errors import InvalidMediaError, InvalidParameterError
from videolens.services.streams.errors import (
    InvalidCodecPrivateDataError,
    MissingCodecPrivateDataError,
    UnsupportedMediaTypeError,
)
from videolens.services.streams.models import TimeKind


def _range(selector: dict[str, Any]) -> tuple[TimeKind, float, float]:
    window = selector["TimestampRange"]
    # botocore's model validated the enum before the handler runs
    return (
        cast(TimeKind, selector["FragmentSelectorType"]),
        window["StartTimestamp"].timestamp(),
        window["EndTimestamp"].timestamp(),
    )


def list_fragments(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    kind: TimeKind | None = None
    start = end = None
    if p.get("FragmentSelector"):
        kind, start, end = _range(p["FragmentSelector"])
    rows, token = ctx.container.streams.list_fragments(
        name=p.get("StreamName"),
        arn=p.get("StreamARN"),
        kind=kind,
        start=start,
        end=end,
        max_results=p.get("MaxResults", 1000),
        next_token=p.get("NextToken"),
    )
    out: dict[str, Any] = {
        "Fragments": [
            {
                "FragmentNumber": r.fragment_number,
                "FragmentSizeInBytes": r.size,
                "ProducerTimestamp": r.producer_ts,
                "ServerTimestamp": r.server_ts,
                "FragmentLengthInMilliseconds": r.duration_ms,
            }
            for r in rows
        ]
    }
    if token:
        out["NextToken"] = token
    return out


def get_clip(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    kind, start, end = _range(p["ClipFragmentSelector"])
    chunks, _info = ctx.container.streams.clip(
        name=p.get("StreamName"), arn=p.get("StreamARN"), kind=kind, start=start, end=end
    )
    return {"ContentType": "video/mp4", "Payload": chunks}


def get_media_for_fragment_list(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    documents = ctx.container.streams.media_for_fragments(
        p["Fragments"], name=p.get("StreamName"), arn=p.get("StreamARN")
    )
    return {"ContentType": "video/webm", "Payload": documents}


def get_hls_streaming_session_url(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    selector = p.get("HLSFragmentSelector") or {}
    window = selector.get("TimestampRange") or {}
    start = window.get("StartTimestamp")
    end = window.get("EndTimestamp")
    token = ctx.container.streams.hls_session(
        name=p.get("StreamName"),
        arn=p.get("StreamARN"),
        mode=p.get("PlaybackMode", "LIVE"),
        kind=selector.get("FragmentSelectorType", "SERVER_TIMESTAMP"),
        start=start.timestamp() if start is not None else None,
        end=end.timestamp() if end is not None else None,
        expires=p.get("Expires", 300),
        container=p.get("ContainerFormat", "FRAGMENTED_MP4"),
        max_results=p.get("MaxMediaPlaylistFragmentResults"),
        discontinuity=p.get("DiscontinuityMode", "ALWAYS"),
        issuer=ctx.access_key,
    )
    base = ctx.settings.public_base_url or ctx.base_url
    return {"HLSStreamingSessionURL": hls_master_url(str(base).rstrip("/"), token)}


def _jpeg_quality(config: dict[str, str]) -> int:
    # the model types the map's values as free strings: "abc" must be a 400, not an internal error
    raw = config.get("JPEGQuality", "80")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise InvalidParameterError(f"FormatConfig JPEGQuality must be an integer from 1 to 100, got {raw!r}")
    return int(raw)


def get_images(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    quality = _jpeg_quality(p.get("FormatConfig") or {})
    images, token = ctx.container.streams.images(
        name=p.get("StreamName"),
        arn=p.get("StreamARN"),
        kind=p["ImageSelectorType"],
        start=p["StartTimestamp"].timestamp(),
        end=p["EndTimestamp"].timestamp(),
        interval_ms=p.get("SamplingInterval", 3000),
        fmt=p["Format"],
        width=p.get("WidthPixels"),
        height=p.get("HeightPixels"),
        jpeg_quality=quality,
        max_results=p.get("MaxResults", 100),
        next_token=p.get("NextToken"),
    )
    out: dict[str, Any] = {
        "Images": [
            {"TimeStamp": i.timestamp, "ImageContent": base64.b64encode(i.data).decode()}
            if i.data
            else {"TimeStamp": i.timestamp, "Error": "NO_MEDIA"}
            for i in images
        ]
    }
    if token:
        out["NextToken"] = token
    return out


SERVICE = AwsService(
    model_name="kinesis-video-archived-media",
    handlers={
        "ListFragments": list_fragments,
        "GetClip": get_clip,
        "GetMediaForFragmentList": get_media_for_fragment_list,
        "GetHLSStreamingSessionURL": get_hls_streaming_session_url,
        "GetImages": get_images,
    },
    error_map={
        **KVS_ERRORS,
        UnsupportedMediaTypeError: "UnsupportedStreamMediaTypeException",
        MissingCodecPrivateDataError: "MissingCodecPrivateDataException",
        InvalidCodecPrivateDataError: "InvalidCodecPrivateDataException",
        InvalidMediaError: "InvalidMediaFrameException",
    },
    validation_error="InvalidArgumentException",
    internal_error="ClientLimitExceededException",
)
