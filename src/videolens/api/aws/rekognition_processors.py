"""Rekognition stream-processor ops (§2.3) and their tags: parameters → `container.processors` → shapes.

Merged into the Rekognition facade through `PROCESSOR_HANDLERS` (see rekognition.py).
"""

from __future__ import annotations

from typing import Any

from videolens.api.aws.registry import AwsContext
from videolens.services.live.models import ProcessorInfo

_DEFINITION = (
    "Input",
    "Output",
    "Settings",
    "RoleArn",
    "NotificationChannel",
    "KmsKeyId",
    "RegionsOfInterest",
    "DataSharingPreference",
)


def _describe(info: ProcessorInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": info.name,
        "StreamProcessorArn": info.arn,
        "Status": info.status,
        "CreationTimestamp": info.created_at,
        "LastUpdateTimestamp": info.updated_at,
    }
    if info.status_message:
        out["StatusMessage"] = info.status_message
    for key in _DEFINITION:
        if info.definition.get(key) is not None:
            out[key] = info.definition[key]
    return out


def create_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    definition = {k: p[k] for k in _DEFINITION if p.get(k) is not None}
    info = ctx.container.processors.create(p["Name"], definition, p.get("Tags"))
    return {"StreamProcessorArn": info.arn}


def describe_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return _describe(ctx.container.processors.describe(p["Name"]))


def list_stream_processors(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page, token = ctx.container.processors.list_processors(p.get("MaxResults"), p.get("NextToken"))
    out: dict[str, Any] = {"StreamProcessors": [{"Name": i.name, "Status": i.status} for i in page]}
    if token:
        out["NextToken"] = token
    return out


def start_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    session = ctx.container.processors.start(p["Name"], p.get("StartSelector"), p.get("StopSelector"))
    return {"SessionId": session}


def stop_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.processors.stop(p["Name"])
    return {}


def delete_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.processors.delete(p["Name"])
    return {}


def update_stream_processor(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if p.get("RegionsOfInterestForUpdate") is not None:
        changes["RegionsOfInterest"] = p["RegionsOfInterestForUpdate"]
    if p.get("DataSharingPreferenceForUpdate") is not None:
        changes["DataSharingPreference"] = p["DataSharingPreferenceForUpdate"]
    home = (p.get("SettingsForUpdate") or {}).get("ConnectedHomeForUpdate")
    ctx.container.processors.update(p["Name"], changes, p.get("ParametersToDelete"), home)
    return {}


def tag_resource(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.processors.tag(p["ResourceArn"], p.get("Tags") or {})
    return {}


def untag_resource(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.processors.untag(p["ResourceArn"], p.get("TagKeys") or [])
    return {}


def list_tags_for_resource(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": ctx.container.processors.tags(p["ResourceArn"])}


PROCESSOR_HANDLERS = {
    "CreateStreamProcessor": create_stream_processor,
    "DescribeStreamProcessor": describe_stream_processor,
    "ListStreamProcessors": list_stream_processors,
    "StartStreamProcessor": start_stream_processor,
    "StopStreamProcessor": stop_stream_processor,
    "DeleteStreamProcessor": delete_stream_processor,
    "UpdateStreamProcessor": update_stream_processor,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}
