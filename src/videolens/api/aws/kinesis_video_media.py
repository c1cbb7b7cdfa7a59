"""Kinesis Video Streams media plane (`kinesis-video-media`): GetMedia (streamed) and PutMedia (raw route)."""

from __future__ import annotations

from typing import Any

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.api.kvs_wire import KVS_ERRORS, serve_put_media
from videolens.services.streams.reading import StartSelector


def get_media(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    s = p["StartSelector"]
    start = s.get("StartTimestamp")
    selector = StartSelector(
        s["StartSelectorType"],
        after_fragment_number=s.get("AfterFragmentNumber"),
        start_timestamp=start.timestamp() if start is not None else None,
        continuation_token=s.get("ContinuationToken"),
    )
    documents = ctx.container.streams.media(selector, name=p.get("StreamName"), arn=p.get("StreamARN"))
    return {"ContentType": "video/webm", "Payload": documents}


async def put_media(ctx: AwsContext, scope: Any, receive: Any, send: Any) -> None:
    """PutMedia is no botocore operation: after SigV4 passed, the native endpoint speaks for itself."""
    await serve_put_media(ctx.container, ctx.headers, receive, send)


SERVICE = AwsService(
    model_name="kinesis-video-media",
    handlers={"GetMedia": get_media},
    error_map=KVS_ERRORS,
    validation_error="InvalidArgumentException",
    internal_error="ClientLimitExceededException",
    raw_routes={"/putMedia": put_media},
)
