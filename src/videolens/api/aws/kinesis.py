"""Kinesis Data Streams (json 1.1 and CBOR 1.1 `kinesis`). Parse → `container.datastreams` → encode.

SubscribeToShard answers an event stream: `initial-response`, then `SubscribeToShardEvent`s as the
service's subscription yields them (see services/datastreams/subscriptions.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from videolens.api.aws import kinesis_shapes as shapes
from videolens.api.aws.kinesis_validation import prevalidate
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
    PutRecordInput,
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
        **shapes.ref(p), enforce_consumer_deletion=bool(p.get("EnforceConsumerDeletion"))
    )
    return {}


def describe_stream(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = ctx.container.datastreams.describe_stream(
        **shapes.ref(p), limit=p.get("Limit", 100), exclusive_start_shard_id=p.get("ExclusiveStartShardId")
    )
    desc = shapes.description(page.stream)
    desc["Shards"] = [shapes.shard(s) for s in page.shards]
    desc["HasMoreShards"] = page.has_more_shards
    return {"StreamDescription": desc}


def describe_stream_summary(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    info = ctx.container.datastreams.describe_stream_summary(**shapes.ref(p))
    desc = shapes.description(info)
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
                "StreamModeDetails": shapes.mode(s),
                "StreamCreationTimestamp": shapes.ts(s.created_at),
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
        **shapes.ref(p),
        next_token=p.get("NextToken"),
        exclusive_start_shard_id=p.get("ExclusiveStartShardId"),
        max_results=p.get("MaxResults", 1000),
        shard_filter=ShardFilter(flt["Type"], flt.get("ShardId"), shapes.epoch(flt.get("Timestamp")))
        if flt
        else None,
        stream_creation_timestamp=shapes.epoch(p.get("StreamCreationTimestamp")),
    )
    out: dict[str, Any] = {"Shards": [shapes.shard(s) for s in shards]}
    if token:
        out["NextToken"] = token
    return out


def increase_retention(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.increase_retention(p["RetentionPeriodHours"], **shapes.ref(p))
    return {}


def decrease_retention(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.decrease_retention(p["RetentionPeriodHours"], **shapes.ref(p))
    return {}


def add_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.add_tags(p["Tags"], **shapes.ref(p))
    return {}


def remove_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.remove_tags(p["TagKeys"], **shapes.ref(p))
    return {}


def list_tags(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    tags, more = ctx.container.datastreams.list_tags(
        **shapes.ref(p), exclusive_start_tag_key=p.get("ExclusiveStartTagKey"), limit=p.get("Limit", 50)
    )
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags], "HasMoreTags": more}


def start_encryption(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.start_encryption(p["EncryptionType"], p["KeyId"], **shapes.ref(p))
    return {}


def stop_encryption(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.stop_encryption(p["EncryptionType"], p["KeyId"], **shapes.ref(p))
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
        **shapes.ref(p),
    )
    return {"ShardId": res.shard_id, "SequenceNumber": res.sequence_number, "EncryptionType": "NONE"}


def put_records(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    entries = [
        PutRecordInput(r["Data"], r.get("PartitionKey"), r.get("ExplicitHashKey")) for r in p["Records"]
    ]
    results = ctx.container.datastreams.put_records(entries, **shapes.ref(p))
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
        timestamp=shapes.epoch(p.get("Timestamp")),
        **shapes.ref(p),
    )
    return {"ShardIterator": token}


def get_records(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    page = ctx.container.datastreams.get_records(p["ShardIterator"], p.get("Limit", 10000))
    out: dict[str, Any] = {
        "Records": [shapes.record(r) for r in page.records],
        "MillisBehindLatest": page.millis_behind_latest,
    }
    if page.next_iterator is not None:
        out["NextShardIterator"] = page.next_iterator
    if page.child_shards is not None:
        out["ChildShards"] = [shapes.child(c) for c in page.child_shards]
    return out


# -- resharding ------------------------------------------------------------------------------------


def split_shard(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.split_shard(p["ShardToSplit"], p["NewStartingHashKey"], **shapes.ref(p))
    return {}


def merge_shards(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    ctx.container.datastreams.merge_shards(p["ShardToMerge"], p["AdjacentShardToMerge"], **shapes.ref(p))
    return {}


def update_shard_count(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    svc = ctx.container.datastreams
    current, target = svc.update_shard_count(p["TargetShardCount"], **shapes.ref(p))
    info = svc.describe_stream_summary(**shapes.ref(p))
    return {
        "StreamName": info.name,
        "StreamARN": info.arn,
        "CurrentShardCount": current,
        "TargetShardCount": target,
    }


# -- enhanced fan-out ------------------------------------------------------------------------------


def register_consumer(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c = ctx.container.datastreams.register_consumer(p["StreamARN"], p["ConsumerName"])
    return {"Consumer": shapes.consumer(c)}


def describe_consumer(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    c = ctx.container.datastreams.describe_consumer(
        p.get("StreamARN"), p.get("ConsumerName"), p.get("ConsumerARN")
    )
    return {"ConsumerDescription": {**shapes.consumer(c), "StreamARN": c.stream_arn}}


def list_consumers(ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
    consumers, token = ctx.container.datastreams.list_consumers(
        p["StreamARN"], max_results=p.get("MaxResults", 100), next_token=p.get("NextToken")
    )
    out: dict[str, Any] = {"Consumers": [shapes.consumer(c) for c in consumers]}
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
    start = StartingPosition(sp["Type"], sp.get("SequenceNumber"), shapes.epoch(sp.get("Timestamp")))
    events = ctx.container.datastreams.subscribe(p["ConsumerARN"], p["ShardId"], start)

    def stream() -> Iterator[tuple[str, dict[str, Any]] | None]:
        for e in events:
            if e is None:  # no event yet: the transport checks whether the subscriber is still there
                yield None
                continue
            doc: dict[str, Any] = {
                "Records": [shapes.record(r) for r in e.records],
                "ContinuationSequenceNumber": e.continuation_sequence_number,
                "MillisBehindLatest": e.millis_behind_latest,
            }
            if e.child_shards is not None:
                doc["ChildShards"] = [shapes.child(c) for c in e.child_shards]
            yield "SubscribeToShardEvent", doc

    return {"EventStream": stream()}


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
    prevalidate=prevalidate,
    fully_prevalidated=frozenset({"PutRecord", "PutRecords"}),
)
