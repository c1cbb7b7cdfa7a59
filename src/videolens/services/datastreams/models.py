"""Value types the data streams service returns (front doors turn them into their wire shapes)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ShardInfo:
    shard_id: str  # shardId-000000000000
    index: int
    parent_shard_id: str | None
    adjacent_parent_shard_id: str | None
    starting_hash_key: int
    ending_hash_key: int
    starting_sequence_number: str
    ending_sequence_number: str | None  # set once the shard is closed

    @property
    def is_open(self) -> bool:
        return self.ending_sequence_number is None


@dataclass(frozen=True, slots=True)
class StreamInfo:
    name: str
    arn: str
    stream_id: str  # [a-z0-9]{20}-[a-z0-9]{3}, the backend's stream_key
    status: str  # CREATING | ACTIVE | UPDATING | DELETING
    mode: str  # PROVISIONED | ON_DEMAND
    retention_hours: int
    created_at: float  # epoch seconds
    encryption_type: str  # NONE | KMS
    key_id: str | None
    max_record_size_kib: int
    open_shard_count: int
    consumer_count: int
    tags: dict[str, str] = field(default_factory=dict)
    enhanced_metrics: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StreamPage:
    """DescribeStream's answer: the stream plus one page of its shards."""

    stream: StreamInfo
    shards: list[ShardInfo]
    has_more_shards: bool


@dataclass(frozen=True, slots=True)
class PutRecordInput:
    data: bytes
    partition_key: str | None
    explicit_hash_key: str | None = None


@dataclass(frozen=True, slots=True)
class PutResult:
    """One PutRecords entry's outcome: a sequence number + shard, or an error code + message."""

    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None  # ProvisionedThroughputExceededException | InternalFailure
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class RecordOut:
    sequence_number: str
    arrival: float  # epoch seconds with ms precision
    data: bytes
    partition_key: str


@dataclass(frozen=True, slots=True)
class ChildShardInfo:
    shard_id: str
    parent_shards: list[str]
    starting_hash_key: int
    ending_hash_key: int


@dataclass(frozen=True, slots=True)
class RecordsPage:
    """GetRecords' answer; `next_iterator` None once a closed shard was read to its end."""

    records: list[RecordOut]
    next_iterator: str | None
    millis_behind_latest: int
    child_shards: list[ChildShardInfo] | None  # only at a closed shard's end


@dataclass(frozen=True, slots=True)
class ConsumerInfo:
    name: str
    arn: str
    status: str  # CREATING | DELETING | ACTIVE
    created_at: float  # epoch seconds
    stream_arn: str


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """One SubscribeToShardEvent: the records pushed plus where to continue."""

    records: list[RecordOut]
    continuation_sequence_number: str
    millis_behind_latest: int
    child_shards: list[ChildShardInfo] | None = None
