"""Kinesis Data Streams (json 1.1 and CBOR 1.1 `kinesis`). Parse → `container.datastreams` → encode.

SubscribeToShard answers an event stream: `initial-response`, then `SubscribeToShardEvent`s as the
service's subscription yields them (see services/datastreams/subscriptions.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from videolens.api.aws.errors import ParamValidationError
from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.datastreams.errors import (
    ExpiredIteratorError,
    ExpiredNextTokenError,
    InvalidArgumentError,
    ResourceInUseError,
    StorageUnavailableError,
    StreamLimitExceededError,
    StreamNotFoundError,
    ThroughputExceededError,
)
from videolens.services.datastreams.models import (
    ChildShardInfo,
    ConsumerInfo,
    PutRecordInput,
    RecordOut,
    ShardInfo,
    StreamInfo,
)
from videolens.services.datastreams.service import ShardFilter, StartingPosition
from videolens.services.errors import InvalidPaginationTokenError, InvalidParameterError, NotFoundError

KINESIS_ERRORS: dict[type[Exception], str | tuple[str, int]] = {
    NotFoundError: "ResourceNotFoundException",
    StreamNotFoundError: "ResourceNotFoundException",
    ResourceInUseError: "ResourceInUseException",
    InvalidParameterError: "InvalidArgumentException",
    InvalidArgumentError: "InvalidArgumentException",
    ExpiredIteratorError: "ExpiredIteratorException",
    ExpiredNextTokenError: "ExpiredNextTokenException",
    InvalidPaginationTokenError: "ExpiredNextTokenException",
    StreamLimitExceededError: "LimitExceededException",
    ThroughputExceededError: "ProvisionedThroughputExceededException",
    StorageUnavailableError: ("InternalFailureException", 500),
}


def _ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


def _ref(p: dict[str, Any]) -> dict[str, Any]:
    return {"name": p.get("StreamName"), "arn": p.get("StreamARN")}


def _mode(info: StreamInfo) -> dict[str, str]:
    return {"StreamMode": info.mode}


def _shard(s: ShardInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ShardId": s.shard_id,
        "HashKeyRange": {
            "StartingHashKey": str(s.starting_hash_key),
            "EndingHashKey": str(s.ending_hash_key),
        },
        "SequenceNumberRange": {"StartingSequenceNumber": s.starting_sequence_number},
    }
    if s.ending_sequence_number is not None:
        out["SequenceNumberRange"]["EndingSequenceNumber"] = s.ending_sequence_number
    if s.parent_shard_id:
        out["ParentShardId"] = s.parent_shard_id
    if s.adjacent_parent_shard_id:
        out["AdjacentParentShardId"] = s.adjacent_parent_shard_id
    return out


def _monitoring(info: StreamInfo) -> list[dict[str, Any]]:
    return [{"ShardLevelMetrics": list(info.enhanced_metrics)}]


def _description(info: StreamInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "StreamName": info.name,
        "StreamARN": info.arn,
        "StreamStatus": info.status,
        "StreamModeDetails": _mode(info),
        "RetentionPeriodHours": info.retention_hours,
        "StreamCreationTimestamp": _ts(info.created_at),
        "EnhancedMonitoring": _monitoring(info),
        "EncryptionType": info.encryption_type,
    }
    if info.key_id:
        out["KeyId"] = info.key_id
    return out


def _record(r: RecordOut) -> dict[str, Any]:
    return {
        "SequenceNumber": r.sequence_number,
        "ApproximateArrivalTimestamp": _ts(r.arrival),
        "Data": r.data,
        "PartitionKey": r.partition_key,
    }


def _child(c: ChildShardInfo) -> dict[str, Any]:
    return {
        "ShardId": c.shard_id,
        "ParentShards": c.parent_shards,
        "HashKeyRange": {
            "StartingHashKey": str(c.starting_hash_key),
            "EndingHashKey": str(c.ending_hash_key),
        },
    }


def _consumer(c: ConsumerInfo) -> dict[str, Any]:
    return {
        "ConsumerName": c.name,
        "ConsumerARN": c.arn,
        "ConsumerStatus": c.status,
        "ConsumerCreationTimestamp": _ts(c.created_at),
    }


# -- streams ---------------------------------------------------------------------------------------


def create_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    mode = (p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
    ctx.container.datastreams.create_stream(
        p["StreamName"],
        p.get("ShardCount"),
        mode=mode,
        tags=p.get("Tags"),
        max_record_size_kib=p.get("MaxRecordSizeInKiB"),
    )
    return {}


def delete_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.delete_stream(
        **_ref(p), enforce_consumer_deletion=bool(p.get("EnforceConsumerDeletion"))
    )
    return {}


def describe_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = ctx.container.datastreams.describe_stream(
        **_ref(p), limit=p.get("Limit", 100), exclusive_start_shard_id=p.get("ExclusiveStartShardId")
    )
    desc = _description(page.stream)
    desc["Shards"] = [_shard(s) for s in page.shards]
    desc["HasMoreShards"] = page.has_more_shards
    return {"StreamDescription": desc}


def describe_stream_summary(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info = ctx.container.datastreams.describe_stream_summary(**_ref(p))
    desc = _description(info)
    desc.update(
        StreamId=info.stream_id,
        OpenShardCount=info.open_shard_count,
        ConsumerCount=info.consumer_count,
        MaxRecordSizeInKiB=info.max_record_size_kib,
    )
    return {"StreamDescriptionSummary": desc}


def list_streams(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    streams, more, token = ctx.container.datastreams.list_streams(
        limit=p.get("Limit", 100),
        exclusive_start_stream_name=p.get("ExclusiveStartStreamName"),
        next_token=p.get("NextToken"),
    )
    out: dict[str, Any] = {
        "StreamNames": [s.name for s in streams],
        "HasMoreStreams": more,
        "StreamSummaries": [
            {
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": s.status,
                "StreamModeDetails": _mode(s),
                "StreamCreationTimestamp": _ts(s.created_at),
            }
            for s in streams
        ],
    }
    if token:
        out["NextToken"] = token
    return out


def list_shards(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    flt = p.get("ShardFilter")
    shards, token = ctx.container.datastreams.list_shards(
        **_ref(p),
        next_token=p.get("NextToken"),
        exclusive_start_shard_id=p.get("ExclusiveStartShardId"),
        max_results=p.get("MaxResults", 1000),
        shard_filter=ShardFilter(flt["Type"], flt.get("ShardId"), _epoch(flt.get("Timestamp")))
        if flt
        else None,
        stream_creation_timestamp=_epoch(p.get("StreamCreationTimestamp")),
    )
    out: dict[str, Any] = {"Shards": [_shard(s) for s in shards]}
    if token:
        out["NextToken"] = token
    return out


def increase_retention(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.increase_retention(p["RetentionPeriodHours"], **_ref(p))
    return {}


def decrease_retention(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.decrease_retention(p["RetentionPeriodHours"], **_ref(p))
    return {}


def add_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.add_tags(p["Tags"], **_ref(p))
    return {}


def remove_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.remove_tags(p["TagKeys"], **_ref(p))
    return {}


def list_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    tags, more = ctx.container.datastreams.list_tags(
        **_ref(p), exclusive_start_tag_key=p.get("ExclusiveStartTagKey"), limit=p.get("Limit", 50)
    )
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags], "HasMoreTags": more}


def start_encryption(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.start_encryption(p["EncryptionType"], p["KeyId"], **_ref(p))
    return {}


def stop_encryption(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.stop_encryption(p["EncryptionType"], p["KeyId"], **_ref(p))
    return {}


def update_stream_mode(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.update_stream_mode(p["StreamARN"], p["StreamModeDetails"]["StreamMode"])
    return {}


def describe_limits(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    svc = ctx.container.datastreams
    return {
        "ShardLimit": int(ctx.settings.datastreams_shard_limit),
        "OpenShardCount": svc.catalog.open_shard_total(),
        "OnDemandStreamCount": 0,
        "OnDemandStreamCountLimit": 50,
    }


# -- records ---------------------------------------------------------------------------------------


def put_record(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    res = ctx.container.datastreams.put_record(
        p["Data"],
        p.get("PartitionKey"),
        explicit_hash_key=p.get("ExplicitHashKey"),
        sequence_number_for_ordering=p.get("SequenceNumberForOrdering"),
        **_ref(p),
    )
    return {"ShardId": res.shard_id, "SequenceNumber": res.sequence_number, "EncryptionType": "NONE"}


def put_records(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    entries = [
        PutRecordInput(r["Data"], r.get("PartitionKey"), r.get("ExplicitHashKey")) for r in p["Records"]
    ]
    results = ctx.container.datastreams.put_records(entries, **_ref(p))
    out = []
    failed = 0
    for r in results:
        if r.error_code:
            failed += 1
            out.append({"ErrorCode": r.error_code, "ErrorMessage": r.error_message})
        else:
            out.append({"SequenceNumber": r.sequence_number, "ShardId": r.shard_id})
    return {"FailedRecordCount": failed, "Records": out, "EncryptionType": "NONE"}


def get_shard_iterator(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    token = ctx.container.datastreams.get_shard_iterator(
        p["ShardId"],
        p["ShardIteratorType"],
        starting_sequence_number=p.get("StartingSequenceNumber"),
        timestamp=_epoch(p.get("Timestamp")),
        **_ref(p),
    )
    return {"ShardIterator": token}


def get_records(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = ctx.container.datastreams.get_records(p["ShardIterator"], p.get("Limit", 10000))
    out: dict[str, Any] = {
        "Records": [_record(r) for r in page.records],
        "MillisBehindLatest": page.millis_behind_latest,
    }
    if page.next_iterator is not None:
        out["NextShardIterator"] = page.next_iterator
    if page.child_shards is not None:
        out["ChildShards"] = [_child(c) for c in page.child_shards]
    return out


# -- resharding ------------------------------------------------------------------------------------


def split_shard(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.split_shard(p["ShardToSplit"], p["NewStartingHashKey"], **_ref(p))
    return {}


def merge_shards(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.merge_shards(p["ShardToMerge"], p["AdjacentShardToMerge"], **_ref(p))
    return {}


def update_shard_count(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    svc = ctx.container.datastreams
    current, target = svc.update_shard_count(p["TargetShardCount"], **_ref(p))
    info = svc.describe_stream_summary(**_ref(p))
    return {
        "StreamName": info.name,
        "StreamARN": info.arn,
        "CurrentShardCount": current,
        "TargetShardCount": target,
    }


# -- enhanced fan-out ------------------------------------------------------------------------------


def register_consumer(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c = ctx.container.datastreams.register_consumer(p["StreamARN"], p["ConsumerName"])
    return {"Consumer": _consumer(c)}


def describe_consumer(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c = ctx.container.datastreams.describe_consumer(
        p.get("StreamARN"), p.get("ConsumerName"), p.get("ConsumerARN")
    )
    return {"ConsumerDescription": {**_consumer(c), "StreamARN": c.stream_arn}}


def list_consumers(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    consumers, token = ctx.container.datastreams.list_consumers(
        p["StreamARN"], max_results=p.get("MaxResults", 100), next_token=p.get("NextToken")
    )
    out: dict[str, Any] = {"Consumers": [_consumer(c) for c in consumers]}
    if token:
        out["NextToken"] = token
    return out


def deregister_consumer(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.deregister_consumer(
        p.get("StreamARN"), p.get("ConsumerName"), p.get("ConsumerARN")
    )
    return {}


def subscribe_to_shard(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    sp = p["StartingPosition"]
    start = StartingPosition(sp["Type"], sp.get("SequenceNumber"), _epoch(sp.get("Timestamp")))
    events = ctx.container.datastreams.subscribe(p["ConsumerARN"], p["ShardId"], start)

    def stream() -> Iterator[tuple[str, dict[str, Any]]]:
        for e in events:
            doc: dict[str, Any] = {
                "Records": [_record(r) for r in e.records],
                "ContinuationSequenceNumber": e.continuation_sequence_number,
                "MillisBehindLatest": e.millis_behind_latest,
            }
            if e.child_shards is not None:
                doc["ChildShards"] = [_child(c) for c in e.child_shards]
            yield "SubscribeToShardEvent", doc

    return {"EventStream": stream()}


# -- the hot path's validation -------------------------------------------------------------------

_NAME = re.compile(r"[a-zA-Z0-9_.-]+")
_ARN = re.compile(r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+")
_STREAM_ID = re.compile(r"[a-z0-9]{20}-[a-z0-9]{3}")
_HASH_KEY = re.compile(r"0|([1-9]\d{0,38})")
_SEQUENCE = re.compile(r"0|([1-9]\d{0,128})")
_MAX_DATA = 10 * 1024 * 1024


def _fail(where: str, what: str) -> None:
    raise ParamValidationError(f"Value at '{where}' failed to satisfy constraint: {what}")


def _check_str(value: Any, where: str, lo: int, hi: int, pattern: re.Pattern[str] | None = None) -> None:
    if not isinstance(value, str):
        raise ParamValidationError(f"{where}: expected a string")
    if not lo <= len(value) <= hi:
        _fail(where, f"Member must have length between {lo} and {hi}")
    if pattern is not None and not pattern.fullmatch(value):
        _fail(where, f"Member must satisfy regular expression pattern: {pattern.pattern}")


def _check_target(p: dict[str, Any]) -> None:
    if "StreamName" in p:
        _check_str(p["StreamName"], "streamName", 1, 128, _NAME)
    if "StreamARN" in p:
        _check_str(p["StreamARN"], "streamARN", 1, 2048, _ARN)
    if "StreamId" in p:
        _check_str(p["StreamId"], "streamId", 1, 24, _STREAM_ID)
    if "DryRun" in p and not isinstance(p["DryRun"], bool):
        raise ParamValidationError("DryRun: expected a boolean")


def _check_entry(r: Any, where: str) -> None:
    if not isinstance(r, dict):
        raise ParamValidationError(f"{where}: expected an object")
    data = r.get("Data")
    if data is None:
        raise ParamValidationError(f"Missing required parameter {where}.Data")
    if not isinstance(data, bytes):
        raise ParamValidationError(f"{where}.Data: expected bytes")
    if len(data) > _MAX_DATA:
        _fail(f"{where}.data", f"Member must have length less than or equal to {_MAX_DATA}")
    if "PartitionKey" in r:
        _check_str(r["PartitionKey"], f"{where}.partitionKey", 1, 256)
    if "ExplicitHashKey" in r:
        _check_str(r["ExplicitHashKey"], f"{where}.explicitHashKey", 0, 1 << 20, _HASH_KEY)


def _prevalidate(op: str, p: dict[str, Any]) -> None:
    """PutRecord(s): every model constraint of the input shape, without the generic walk (hot path)."""
    if op == "PutRecords":
        _check_target(p)
        records = p.get("Records")
        if records is None:
            raise ParamValidationError("Missing required parameter Records")
        if not isinstance(records, list):
            raise ParamValidationError("Records: expected a list")
        if not 1 <= len(records) <= 500:
            _fail("records", "Member must have length between 1 and 500")
        for i, r in enumerate(records):
            _check_entry(r, f"records.{i + 1}.member")
    elif op == "PutRecord":
        _check_target(p)
        _check_entry(p, "")
        if "SequenceNumberForOrdering" in p:
            _check_str(p["SequenceNumberForOrdering"], "sequenceNumberForOrdering", 0, 1 << 20, _SEQUENCE)


SERVICE = AwsService(
    model_name="kinesis",
    handlers={
        "CreateStream": create_stream,
        "DeleteStream": delete_stream,
        "DescribeStream": describe_stream,
        "DescribeStreamSummary": describe_stream_summary,
        "ListStreams": list_streams,
        "ListShards": list_shards,
        "IncreaseStreamRetentionPeriod": increase_retention,
        "DecreaseStreamRetentionPeriod": decrease_retention,
        "AddTagsToStream": add_tags,
        "RemoveTagsFromStream": remove_tags,
        "ListTagsForStream": list_tags,
        "StartStreamEncryption": start_encryption,
        "StopStreamEncryption": stop_encryption,
        "UpdateStreamMode": update_stream_mode,
        "DescribeLimits": describe_limits,
        "PutRecord": put_record,
        "PutRecords": put_records,
        "GetShardIterator": get_shard_iterator,
        "GetRecords": get_records,
        "SplitShard": split_shard,
        "MergeShards": merge_shards,
        "UpdateShardCount": update_shard_count,
        "RegisterStreamConsumer": register_consumer,
        "DescribeStreamConsumer": describe_consumer,
        "ListStreamConsumers": list_consumers,
        "DeregisterStreamConsumer": deregister_consumer,
        "SubscribeToShard": subscribe_to_shard,
    },
    error_map=KINESIS_ERRORS,
    validation_error="ValidationException",
    internal_error="InternalFailureException",
    prevalidate=_prevalidate,
    fully_prevalidated=frozenset({"PutRecord", "PutRecords"}),
)
