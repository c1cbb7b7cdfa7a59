"""Kinesis Video Streams control plane (rest-json `kinesisvideo`). Parse → `container.streams` → encode."""

from __future__ import annotations

from typing import Any

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.api.kvs_wire import KVS_ERRORS
from videolens.services.streams.models import StreamInfo


def stream_info(info: StreamInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "StreamName": info.name,
        "StreamARN": info.arn,
        "Version": info.version,
        "Status": info.status,
        "CreationTime": info.created_at,
        "DataRetentionInHours": info.retention_hours,
    }
    if info.device_name:
        out["DeviceName"] = info.device_name
    if info.media_type:
        out["MediaType"] = info.media_type
    if info.kms_key_id:
        out["KmsKeyId"] = info.kms_key_id
    return out


def create_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    tier = (p.get("StreamStorageConfiguration") or {}).get("DefaultStorageTier", "HOT")
    info = ctx.container.streams.create_stream(
        p["StreamName"],
        retention_hours=p.get("DataRetentionInHours", 0),
        device_name=p.get("DeviceName"),
        media_type=p.get("MediaType"),
        kms_key_id=p.get("KmsKeyId"),
        tags=p.get("Tags"),
        storage_tier=tier,
    )
    return {"StreamARN": info.arn}


def describe_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info = ctx.container.streams.describe_stream(p.get("StreamName"), p.get("StreamARN"))
    return {"StreamInfo": stream_info(info)}


def list_streams(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    condition = p.get("StreamNameCondition") or {}
    streams, token = ctx.container.streams.catalog.list_page(
        prefix=condition.get("ComparisonValue"),
        max_results=p.get("MaxResults", 10000),
        next_token=p.get("NextToken"),
    )
    out: dict[str, Any] = {"StreamInfoList": [stream_info(s) for s in streams]}
    if token is not None:
        out["NextToken"] = token
    return out


def delete_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.delete_stream(p["StreamARN"], p.get("CurrentVersion"))
    return {}


def update_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.catalog.update(
        name=p.get("StreamName"),
        arn=p.get("StreamARN"),
        current_version=p["CurrentVersion"],
        device_name=p.get("DeviceName"),
        media_type=p.get("MediaType"),
    )
    return {}


def update_data_retention(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.catalog.change_retention(
        name=p.get("StreamName"),
        arn=p.get("StreamARN"),
        current_version=p["CurrentVersion"],
        operation=p["Operation"],
        hours=p["DataRetentionChangeInHours"],
    )
    return {}


def get_data_endpoint(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.describe_stream(p.get("StreamName"), p.get("StreamARN"))
    # one server answers every data-plane API; a configured public URL wins over the Host header
    base = ctx.settings.public_base_url or ctx.base_url
    return {"DataEndpoint": str(base).rstrip("/")}


def tag_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.catalog.tag(p["Tags"], name=p.get("StreamName"), arn=p.get("StreamARN"))
    return {}


def untag_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.streams.catalog.untag(p["TagKeyList"], name=p.get("StreamName"), arn=p.get("StreamARN"))
    return {}


def list_tags_for_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info = ctx.container.streams.describe_stream(p.get("StreamName"), p.get("StreamARN"))
    return {"Tags": info.tags} if info.tags else {}


SERVICE = AwsService(
    model_name="kinesisvideo",
    handlers={
        "CreateStream": create_stream,
        "DescribeStream": describe_stream,
        "ListStreams": list_streams,
        "DeleteStream": delete_stream,
        "UpdateStream": update_stream,
        "UpdateDataRetention": update_data_retention,
        "GetDataEndpoint": get_data_endpoint,
        "TagStream": tag_stream,
        "UntagStream": untag_stream,
        "ListTagsForStream": list_tags_for_stream,
    },
    error_map=KVS_ERRORS,
    validation_error="InvalidArgumentException",
    internal_error="ClientLimitExceededException",
)
