"""MediaLive facade (rest-json `medialive`): inputs, security groups, channels → `container.channels`."""

from __future__ import annotations

import urllib.parse
from typing import Any

from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.channels.errors import ChannelStateError, UnprocessableSettingsError
from videolens.services.channels.models import PUSH_TYPES, Channel, Input, SecurityGroup
from videolens.services.errors import AlreadyExistsError, ConflictError, InvalidParameterError, NotFoundError


def _host(ctx: AwsContext) -> str:
    base = ctx.settings.public_base_url or ctx.base_url
    return urllib.parse.urlsplit(str(base)).hostname or "127.0.0.1"


def channel_doc(ctx: AwsContext, channel: Channel, summary: bool = False) -> dict[str, Any]:
    running = 1 if channel.state == "RUNNING" else 0
    doc: dict[str, Any] = {
        "Arn": channel.arn,
        "ChannelClass": channel.channel_class,
        "Destinations": channel.destinations,
        "EgressEndpoints": [{"SourceIp": _host(ctx)}],
        "Id": channel.id,
        "InputAttachments": channel.input_attachments,
        "InputSpecification": channel.input_specification
        or {"Codec": "AVC", "MaximumBitrate": "MAX_20_MBPS", "Resolution": "HD"},
        "LogLevel": channel.log_level,
        "Name": channel.name,
        "PipelinesRunningCount": running,
        "State": channel.state,
        "Tags": channel.tags,
    }
    if channel.role_arn:
        doc["RoleArn"] = channel.role_arn
    if not summary:
        doc["EncoderSettings"] = channel.encoder_settings
        doc["PipelineDetails"] = [{"PipelineId": "0"}] if running else []
    return doc


def input_doc(ctx: AwsContext, item: Input) -> dict[str, Any]:
    urls = ctx.container.channels.push_urls(item, _host(ctx))
    # the door of the node running the input's channel (this node's when none runs it)
    host, port = ctx.container.channels.push_endpoint(item, _host(ctx))
    return {
        "Arn": item.arn,
        "AttachedChannels": item.attached_channels,
        "Destinations": [{"Ip": host, "Port": str(port), "Url": u} for u in urls],
        "Id": item.id,
        "InputClass": "SINGLE_PIPELINE",
        "InputSourceType": "STATIC" if item.type in PUSH_TYPES else "DYNAMIC",
        "Name": item.name,
        "SecurityGroups": item.security_groups,
        "Sources": [{"Url": u} for u in item.sources],
        "State": item.state,
        "Tags": item.tags,
        "Type": item.type,
    }


def group_doc(ctx: AwsContext, group: SecurityGroup) -> dict[str, Any]:
    inputs = ctx.container.channels.inputs.group_inputs(group.id)
    return {
        "Arn": group.arn,
        "Id": group.id,
        "Inputs": inputs,
        "State": "IN_USE" if inputs else "IDLE",
        "Tags": group.tags,
        "WhitelistRules": [{"Cidr": c} for c in group.cidrs],
    }


# -- security groups --------------------------------------------------------------------------------


def create_group(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    rules = [r["Cidr"] for r in p.get("WhitelistRules") or [] if "Cidr" in r]
    return {"SecurityGroup": group_doc(ctx, ctx.container.channels.inputs.create_group(rules, p.get("Tags")))}


def describe_group(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return group_doc(ctx, ctx.container.channels.inputs.group(p["InputSecurityGroupId"]))


def list_groups(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    groups = ctx.container.channels.inputs.groups()
    return {"InputSecurityGroups": [group_doc(ctx, g) for g in groups]}


def update_group(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    rules = [r["Cidr"] for r in p["WhitelistRules"]] if p.get("WhitelistRules") is not None else None
    group = ctx.container.channels.inputs.update_group(p["InputSecurityGroupId"], rules, p.get("Tags"))
    return {"SecurityGroup": group_doc(ctx, group)}


def delete_group(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.channels.inputs.delete_group(p["InputSecurityGroupId"])
    return {}


# -- inputs -----------------------------------------------------------------------------------------


#: input types beyond MediaLive's InputType enum (our extension: MediaLive has no RTSP push)
EXTENSION_INPUT_TYPES = ("RTSP_PUSH",)
_EXTENSION_TYPE = "videolens:Type"


def _prevalidate(op: str, p: dict[str, Any]) -> None:
    """Let an extension type past the model's enum (the service checks it like any other)."""
    if op == "CreateInput" and p.get("Type") in EXTENSION_INPUT_TYPES:
        p[_EXTENSION_TYPE] = p.pop("Type")


def create_input(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    item = ctx.container.channels.inputs.create_input(
        p.get("Name") or "",
        p.get(_EXTENSION_TYPE) or p.get("Type") or "",
        stream_names=[d["StreamName"] for d in p.get("Destinations") or [] if d.get("StreamName")],
        sources=[s["Url"] for s in p.get("Sources") or [] if s.get("Url")],
        security_groups=list(p.get("InputSecurityGroups") or []),
        tags=p.get("Tags"),
    )
    return {"Input": input_doc(ctx, item)}


def describe_input(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return input_doc(ctx, ctx.container.channels.inputs.input(p["InputId"]))


def list_inputs(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"Inputs": [input_doc(ctx, i) for i in ctx.container.channels.inputs.inputs()]}


def update_input(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    item = ctx.container.channels.inputs.update_input(
        p["InputId"], p.get("Name"), p.get("InputSecurityGroups")
    )
    return {"Input": input_doc(ctx, item)}


def delete_input(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.channels.inputs.delete_input(p["InputId"])
    return {}


# -- channels ---------------------------------------------------------------------------------------


def _channel_fields(p: dict[str, Any]) -> dict[str, Any]:
    return {
        "input_attachments": p.get("InputAttachments"),
        "destinations": p.get("Destinations"),
        "encoder_settings": p.get("EncoderSettings"),
        "role_arn": p.get("RoleArn"),
        "log_level": p.get("LogLevel"),
        "input_specification": p.get("InputSpecification"),
    }


def create_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    fields = {k: v for k, v in _channel_fields(p).items() if v is not None}
    fields.setdefault("input_attachments", [])
    fields.setdefault("destinations", [])
    fields.setdefault("encoder_settings", {})
    channel = ctx.container.channels.create_channel(
        p.get("Name") or "",
        channel_class=p.get("ChannelClass") or "SINGLE_PIPELINE",
        tags=dict(p.get("Tags") or {}),
        **fields,
    )
    return {"Channel": channel_doc(ctx, channel)}


def describe_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return channel_doc(ctx, ctx.container.channels.channel(p["ChannelId"]))


def list_channels(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"Channels": [channel_doc(ctx, c, summary=True) for c in ctx.container.channels.list_channels()]}


def update_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    fields = _channel_fields(p)
    fields["name"] = p.get("Name")
    channel = ctx.container.channels.update_channel(p["ChannelId"], **fields)
    return {"Channel": channel_doc(ctx, channel)}


def start_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return channel_doc(ctx, ctx.container.channels.start_channel(p["ChannelId"]))


def stop_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return channel_doc(ctx, ctx.container.channels.stop_channel(p["ChannelId"]))


def delete_channel(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return channel_doc(ctx, ctx.container.channels.delete_channel(p["ChannelId"]))


# -- tags (channels only) ---------------------------------------------------------------------------


def _channel_by_arn(ctx: AwsContext, arn: str) -> Channel:
    if ":channel:" not in arn:
        raise NotFoundError(f"resource {arn} not found (tags are kept on channels)")
    return ctx.container.channels.channel(arn.rsplit(":", 1)[1])


def create_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    channel = _channel_by_arn(ctx, p["ResourceArn"])
    ctx.container.channels.set_tags(channel.id, dict(p.get("Tags") or {}))
    return {}


def delete_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    channel = _channel_by_arn(ctx, p["ResourceArn"])
    ctx.container.channels.set_tags(channel.id, {}, list(p.get("TagKeys") or []))
    return {}


def list_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": _channel_by_arn(ctx, p["ResourceArn"]).tags}


SERVICE = AwsService(
    model_name="medialive",
    handlers={
        "CreateInputSecurityGroup": create_group,
        "DescribeInputSecurityGroup": describe_group,
        "ListInputSecurityGroups": list_groups,
        "UpdateInputSecurityGroup": update_group,
        "DeleteInputSecurityGroup": delete_group,
        "CreateInput": create_input,
        "DescribeInput": describe_input,
        "ListInputs": list_inputs,
        "UpdateInput": update_input,
        "DeleteInput": delete_input,
        "CreateChannel": create_channel,
        "DescribeChannel": describe_channel,
        "ListChannels": list_channels,
        "UpdateChannel": update_channel,
        "StartChannel": start_channel,
        "StopChannel": stop_channel,
        "DeleteChannel": delete_channel,
        "CreateTags": create_tags,
        "DeleteTags": delete_tags,
        "ListTagsForResource": list_tags,
    },
    error_map={
        NotFoundError: ("NotFoundException", 404),
        ChannelStateError: ("ConflictException", 409),
        ConflictError: ("ConflictException", 409),
        AlreadyExistsError: ("ConflictException", 409),
        UnprocessableSettingsError: ("UnprocessableEntityException", 422),
        InvalidParameterError: ("BadRequestException", 400),
    },
    validation_error="BadRequestException",
    internal_error="InternalServerErrorException",
    prevalidate=_prevalidate,
)
