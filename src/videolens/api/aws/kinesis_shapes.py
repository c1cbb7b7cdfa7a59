"""Kinesis wire shapes: the service's values as the `kinesis` output members (json 1.1 and CBOR alike)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from videolens.services.datastreams.models import (
    ChildShardInfo,
    ConsumerInfo,
    RecordOut,
    ShardInfo,
    StreamInfo,
)


def ts(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


def ref(p: dict[str, Any]) -> dict[str, Any]:
    return {"name": p.get("StreamName"), "arn": p.get("StreamARN")}


def mode(info: StreamInfo) -> dict[str, str]:
    return {"StreamMode": info.mode}


def shard(s: ShardInfo) -> dict[str, Any]:
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


def monitoring(info: StreamInfo) -> list[dict[str, Any]]:
    return [{"ShardLevelMetrics": list(info.enhanced_metrics)}]


def description(info: StreamInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "StreamName": info.name,
        "StreamARN": info.arn,
        "StreamStatus": info.status,
        "StreamModeDetails": mode(info),
        "RetentionPeriodHours": info.retention_hours,
        "StreamCreationTimestamp": ts(info.created_at),
        "EnhancedMonitoring": monitoring(info),
        "EncryptionType": info.encryption_type,
    }
    if info.key_id:
        out["KeyId"] = info.key_id
    return out


def record(r: RecordOut) -> dict[str, Any]:
    return {
        "SequenceNumber": r.sequence_number,
        "ApproximateArrivalTimestamp": ts(r.arrival),
        "Data": r.data,
        "PartitionKey": r.partition_key,
    }


def child(c: ChildShardInfo) -> dict[str, Any]:
    return {
        "ShardId": c.shard_id,
        "ParentShards": c.parent_shards,
        "HashKeyRange": {
            "StartingHashKey": str(c.starting_hash_key),
            "EndingHashKey": str(c.ending_hash_key),
        },
    }


def consumer(c: ConsumerInfo) -> dict[str, Any]:
    return {
        "ConsumerName": c.name,
        "ConsumerARN": c.arn,
        "ConsumerStatus": c.status,
        "ConsumerCreationTimestamp": ts(c.created_at),
    }


# -- streams ---------------------------------------------------------------------------------------
