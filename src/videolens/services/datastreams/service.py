"""The data streams capability: streams, shards, records, iterators, resharding, consumers, subscriptions.

Guarantees: PutRecord/PutRecords answer only after the shard log made the records durable (one
group commit per call); a sequence number is a 56-digit decimal string, strictly increasing per
shard and stable across restarts (see `sequence.py`); iterators are HMAC-signed and expire after
`settings.datastreams_iterator_ttl_s`; closing a parent shard on resharding seals its log first, so
the parent's last record is known exactly and every later record lands in a child.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from videolens.backends.datastreams.base import ShardLog
from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.datastreams.models import (
    ConsumerInfo,
    PutRecordInput,
    PutResult,
    RecordsPage,
    ShardInfo,
    StreamInfo,
    StreamPage,
    SubscriptionEvent,
)


@dataclass(frozen=True, slots=True)
class ShardFilter:
    """ListShards' ShardFilter: AFTER_SHARD_ID | AT_TRIM_HORIZON | FROM_TRIM_HORIZON | AT_LATEST |
    AT_TIMESTAMP | FROM_TIMESTAMP."""

    type: str
    shard_id: str | None = None
    timestamp: float | None = None  # epoch seconds


@dataclass(frozen=True, slots=True)
class StartingPosition:
    """SubscribeToShard's StartingPosition (the iterator types, no AFTER for timestamps)."""

    type: str  # AT_SEQUENCE_NUMBER | AFTER_SEQUENCE_NUMBER | TRIM_HORIZON | LATEST | AT_TIMESTAMP
    sequence_number: str | None = None
    timestamp: float | None = None  # epoch seconds


class DataStreamsService:
    """Public entry point; every front door (kinesis, REST, CLI, consumer helper) goes through it.

    Streams are addressed by `name` or `arn` (either or both, like the Kinesis API).
    """

    def __init__(self, settings: Settings, db: Database, log: ShardLog) -> None:
        self.settings = settings
        self.db = db
        self.log = log

    # -- streams -------------------------------------------------------------------------------

    def create_stream(
        self,
        name: str,
        shard_count: int | None = None,
        *,
        mode: str = "PROVISIONED",
        tags: dict[str, str] | None = None,
        max_record_size_kib: int | None = None,
    ) -> StreamInfo:
        raise NotImplementedError

    def delete_stream(
        self, name: str | None = None, arn: str | None = None, *, enforce_consumer_deletion: bool = False
    ) -> None:
        raise NotImplementedError

    def describe_stream(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        limit: int = 100,
        exclusive_start_shard_id: str | None = None,
    ) -> StreamPage:
        raise NotImplementedError

    def describe_stream_summary(self, name: str | None = None, arn: str | None = None) -> StreamInfo:
        raise NotImplementedError

    def list_streams(
        self,
        *,
        limit: int = 100,
        exclusive_start_stream_name: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[StreamInfo], bool, str | None]:
        """(streams, has_more, next_token)."""
        raise NotImplementedError

    def list_shards(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        next_token: str | None = None,
        exclusive_start_shard_id: str | None = None,
        max_results: int = 1000,
        shard_filter: ShardFilter | None = None,
        stream_creation_timestamp: float | None = None,
    ) -> tuple[list[ShardInfo], str | None]:
        raise NotImplementedError

    def increase_retention(self, hours: int, name: str | None = None, arn: str | None = None) -> None:
        raise NotImplementedError

    def decrease_retention(self, hours: int, name: str | None = None, arn: str | None = None) -> None:
        raise NotImplementedError

    def add_tags(self, tags: dict[str, str], name: str | None = None, arn: str | None = None) -> None:
        raise NotImplementedError

    def remove_tags(self, keys: Sequence[str], name: str | None = None, arn: str | None = None) -> None:
        raise NotImplementedError

    def list_tags(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        exclusive_start_tag_key: str | None = None,
        limit: int = 50,
    ) -> tuple[list[tuple[str, str]], bool]:
        raise NotImplementedError

    def start_encryption(
        self, encryption_type: str, key_id: str, name: str | None = None, arn: str | None = None
    ) -> None:
        """Recorded and reported (EncryptionType KMS); data at rest is not encrypted by videolens."""
        raise NotImplementedError

    def stop_encryption(
        self, encryption_type: str, key_id: str, name: str | None = None, arn: str | None = None
    ) -> None:
        raise NotImplementedError

    def update_stream_mode(self, arn: str, mode: str) -> None:
        raise NotImplementedError

    # -- records -------------------------------------------------------------------------------

    def put_record(
        self,
        data: bytes,
        partition_key: str | None,
        *,
        explicit_hash_key: str | None = None,
        sequence_number_for_ordering: str | None = None,
        name: str | None = None,
        arn: str | None = None,
    ) -> PutResult:
        """Durable before it returns; raises ThroughputExceededError when the shard is over its limit."""
        raise NotImplementedError

    def put_records(
        self, records: Sequence[PutRecordInput], name: str | None = None, arn: str | None = None
    ) -> list[PutResult]:
        """Per-record outcomes in request order; the durable ones are fsync'd together (group commit)."""
        raise NotImplementedError

    def get_shard_iterator(
        self,
        shard_id: str,
        iterator_type: str,
        *,
        starting_sequence_number: str | None = None,
        timestamp: float | None = None,
        name: str | None = None,
        arn: str | None = None,
    ) -> str:
        raise NotImplementedError

    def get_records(self, iterator: str, limit: int = 10000) -> RecordsPage:
        raise NotImplementedError

    # -- resharding ----------------------------------------------------------------------------

    def split_shard(
        self, shard_to_split: str, new_starting_hash_key: str, name: str | None = None, arn: str | None = None
    ) -> None:
        raise NotImplementedError

    def merge_shards(
        self, shard_to_merge: str, adjacent_shard: str, name: str | None = None, arn: str | None = None
    ) -> None:
        raise NotImplementedError

    def update_shard_count(
        self, target: int, name: str | None = None, arn: str | None = None
    ) -> tuple[int, int]:
        """(current open shard count before, target) — uniform scaling only."""
        raise NotImplementedError

    # -- enhanced fan-out ----------------------------------------------------------------------

    def register_consumer(self, stream_arn: str, consumer_name: str) -> ConsumerInfo:
        raise NotImplementedError

    def describe_consumer(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> ConsumerInfo:
        raise NotImplementedError

    def list_consumers(
        self, stream_arn: str, *, max_results: int = 100, next_token: str | None = None
    ) -> tuple[list[ConsumerInfo], str | None]:
        raise NotImplementedError

    def deregister_consumer(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> None:
        raise NotImplementedError

    def subscribe(
        self, consumer_arn: str, shard_id: str, start: StartingPosition
    ) -> Iterator[SubscriptionEvent]:
        """Validate at once (raises before the first event), then yield events as records arrive.

        Blocking generator (run it in a thread); ends after `settings.datastreams_subscription_s`
        (5 minutes) or after the event that carries a closed shard's ChildShards.
        """
        raise NotImplementedError

    # -- upkeep --------------------------------------------------------------------------------

    def trim_expired(self) -> int:
        """Apply retention to every shard of every stream; return records dropped (approx.)."""
        raise NotImplementedError
