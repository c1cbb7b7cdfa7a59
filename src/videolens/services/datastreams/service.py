"""The data streams capability: streams, shards, records, iterators, resharding, consumers, subscriptions.

Guarantees: PutRecord/PutRecords answer only after the shard log made the records durable (one
group commit per call); a sequence number is a 56-digit decimal string, strictly increasing per
shard and stable across restarts (see `sequence.py`); iterators are HMAC-signed and expire after
`settings.datastreams_iterator_ttl_s`; closing a parent shard on resharding seals its log first, so
the parent's last record is known exactly and every later record lands in a child.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from videolens.backends.datastreams.base import (
    ShardLog,
)
from videolens.backends.metadata.database import Database
from videolens.runtime.settings import Settings
from videolens.services.datastreams.catalog import Catalog, StreamState
from videolens.services.datastreams.errors import (
    InvalidArgumentError,
    ResourceInUseError,
    StreamLimitExceededError,
    StreamNotFoundError,
)
from videolens.services.datastreams.fanout import FanOut
from videolens.services.datastreams.hashing import even_ranges
from videolens.services.datastreams.iterators import IteratorCodec
from videolens.services.datastreams.limits import ShardLimits
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
from videolens.services.datastreams.records import RecordPlane
from videolens.services.datastreams.resharding import Resharder
from videolens.services.datastreams.sequence import parse_sequence, shard_index
from videolens.services.datastreams.shards import ShardFilter, filter_shards, shard_info, visible_shards
from videolens.services.datastreams.stream_settings import StreamSettingsMixin

#: GetRecords answers at most this much data (AWS: 10 MiB)
MAX_GET_BYTES = 10 * 1024 * 1024
ON_DEMAND_SHARDS = 4
_STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


@dataclass(frozen=True, slots=True)
class StartingPosition:
    """SubscribeToShard's StartingPosition (the iterator types, no AFTER for timestamps)."""

    type: str  # AT_SEQUENCE_NUMBER | AFTER_SEQUENCE_NUMBER | TRIM_HORIZON | LATEST | AT_TIMESTAMP
    sequence_number: str | None = None
    timestamp: float | None = None  # epoch seconds


class DataStreamsService(StreamSettingsMixin):
    """Public entry point; every front door (kinesis, REST, CLI, consumer helper) goes through it.

    Streams are addressed by `name` or `arn` (either or both, like the Kinesis API).
    """

    def __init__(self, settings: Settings, db: Database, log: ShardLog) -> None:
        self.settings = settings
        self.db = db
        self.log = log
        self.catalog = Catalog(db, settings.region, settings.account_id)
        self.iterators = IteratorCodec(self.catalog.iterator_key(), settings.datastreams_iterator_ttl_s)
        self.limits = ShardLimits(settings.datastreams_enforce_limits)
        self.records = RecordPlane(self.catalog, log, self.iterators, self.limits)
        self.resharder = Resharder(self)
        self.fanout = FanOut(self)

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
        if not _STREAM_NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"Stream name {name!r} is not valid: 1 to 128 characters of a-z, A-Z, 0-9, '_', '.', '-'."
            )
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise InvalidArgumentError(f"StreamMode must be PROVISIONED or ON_DEMAND, not {mode!r}.")
        if tags is not None and len(tags) > 50:
            raise InvalidArgumentError("A stream cannot have more than 50 tags.")
        if max_record_size_kib is not None and not 1024 <= max_record_size_kib <= 10240:
            raise InvalidArgumentError("MaxRecordSizeInKiB must be between 1024 and 10240.")
        if mode == "ON_DEMAND":
            count = shard_count or ON_DEMAND_SHARDS
        elif shard_count is None:
            raise InvalidArgumentError("ShardCount is required for a PROVISIONED stream.")
        else:
            count = shard_count
        if count < 1:
            raise InvalidArgumentError("ShardCount must be at least 1.")
        self.check_shard_limit(count)
        state = self.catalog.create(
            name,
            even_ranges(count),
            mode=mode,
            tags=dict(tags or {}),
            max_record_kib=max_record_size_kib or 1024,
            retention_hours=24,
        )
        for shard in state.shards:
            self.log.create_shard(state.key, shard.index)
        return self._info(state)

    def check_shard_limit(self, extra: int, freed: int = 0) -> None:
        current = self.catalog.open_shard_total()
        limit = self.settings.datastreams_shard_limit
        if current - freed + extra > limit:
            raise StreamLimitExceededError(
                f"This request would exceed the shard limit for the account {self.account_id} in "
                f"{self.settings.region}. Current shard count for the account: {current}. Limit: {limit}. "
                f"Number of additional shards that would have resulted from this request: {extra}."
            )

    def delete_stream(
        self, name: str | None = None, arn: str | None = None, *, enforce_consumer_deletion: bool = False
    ) -> None:
        state = self.stream_state(name, arn, fresh=True)
        if self.catalog.consumers(state.key) and not enforce_consumer_deletion:
            raise ResourceInUseError(
                f"Stream {state.name} under account {self.account_id} has registered consumers; "
                "deregister them or set EnforceConsumerDeletion."
            )
        self.catalog.delete(state.name)
        self.log.delete_stream(state.key, [s.index for s in state.shards])

    def _info(self, state: StreamState) -> StreamInfo:
        return StreamInfo(
            name=state.name,
            arn=state.arn,
            stream_id=state.key,
            status=state.status,
            mode=state.mode,
            retention_hours=state.retention_hours,
            created_at=state.created_at,
            encryption_type=state.encryption_type,
            key_id=state.key_id,
            max_record_size_kib=state.max_record_kib,
            open_shard_count=len(state.open_shards),
            consumer_count=len(self.catalog.consumers(state.key)),
            tags=dict(state.tags),
            enhanced_metrics=list(state.enhanced_metrics),
        )

    def describe_stream(
        self,
        name: str | None = None,
        arn: str | None = None,
        *,
        limit: int = 100,
        exclusive_start_shard_id: str | None = None,
    ) -> StreamPage:
        state = self.stream_state(name, arn, fresh=True)
        shards = visible_shards(state)
        if exclusive_start_shard_id is not None:
            after = shard_index(exclusive_start_shard_id)
            shards = [s for s in shards if after is None or s.index > after]
        page = shards[:limit]
        return StreamPage(self._info(state), [shard_info(s) for s in page], len(shards) > limit)

    def describe_stream_summary(self, name: str | None = None, arn: str | None = None) -> StreamInfo:
        return self._info(self.stream_state(name, arn, fresh=True))

    def list_streams(
        self,
        *,
        limit: int = 100,
        exclusive_start_stream_name: str | None = None,
        next_token: str | None = None,
    ) -> tuple[list[StreamInfo], bool, str | None]:
        """(streams, has_more, next_token)."""
        from videolens.services.datastreams.paging import decode_after, encode_after

        names = self.catalog.names()
        after = decode_after("streams", next_token) if next_token else exclusive_start_stream_name
        if after is not None:
            names = [n for n in names if n > after]
        page = names[:limit]
        infos = []
        for n in page:
            try:
                infos.append(self._info(self.catalog.get(n)))
            except StreamNotFoundError:
                continue
        more = len(names) > limit
        return infos, more, encode_after("streams", page[-1]) if more and page else None

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
        from videolens.services.datastreams.paging import decode_shards_token, encode_shards_token

        after: int | None
        if next_token is not None:
            if name or arn or stream_creation_timestamp is not None:
                raise InvalidArgumentError(
                    "NextToken and StreamName (or StreamARN, StreamCreationTimestamp) cannot be provided "
                    "together."
                )
            stream_name, after = decode_shards_token(next_token)
            state = self.catalog.get(stream_name, fresh=True)
        else:
            state = self.stream_state(name, arn, fresh=True)
            after = shard_index(exclusive_start_shard_id) if exclusive_start_shard_id else None
        shards = filter_shards(visible_shards(state), shard_filter)
        if after is not None:
            shards = [s for s in shards if s.index > after]
        page = shards[:max_results]
        token = (
            encode_shards_token(state.name, page[-1].index) if len(shards) > max_results and page else None
        )
        return [shard_info(s) for s in page], token

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
        state = self.stream_state(name, arn)
        if sequence_number_for_ordering is not None:
            try:
                parse_sequence(sequence_number_for_ordering)
            except InvalidArgumentError:
                raise InvalidArgumentError(
                    f"ExclusiveMinimumSequenceNumber {sequence_number_for_ordering} used in PutRecord on "
                    "stream "
                    f"{state.name} under account {self.account_id} is invalid."
                ) from None
        return self.records.put(state, [PutRecordInput(data, partition_key, explicit_hash_key)], single=True)[
            0
        ]

    def put_records(
        self, records: Sequence[PutRecordInput], name: str | None = None, arn: str | None = None
    ) -> list[PutResult]:
        """Per-record outcomes in request order; the durable ones are fsync'd together (group commit)."""
        if not 1 <= len(records) <= 500:
            raise InvalidArgumentError(
                f"1 validation error detected: Value '{len(records)}' at 'records' failed to satisfy "
                "constraint: Member must have length less than or equal to 500"
            )
        return self.records.put(self.stream_state(name, arn), records, single=False)

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
        state = self.stream_state(name, arn, fresh=True)
        shard = self.records.shard_of(state, shard_id)
        return self.records.iterator(state, shard, iterator_type, starting_sequence_number, timestamp)

    def get_records(self, iterator: str, limit: int = 10000) -> RecordsPage:
        return self.records.get_records(iterator, limit)

    # -- resharding (services/datastreams/resharding.py) --------------------------------------

    def split_shard(
        self, shard_to_split: str, new_starting_hash_key: str, name: str | None = None, arn: str | None = None
    ) -> None:
        self.resharder.split_shard(
            shard_to_split, new_starting_hash_key, self.stream_state(name, arn, fresh=True)
        )

    def merge_shards(
        self, shard_to_merge: str, adjacent_shard: str, name: str | None = None, arn: str | None = None
    ) -> None:
        self.resharder.merge_shards(shard_to_merge, adjacent_shard, self.stream_state(name, arn, fresh=True))

    def update_shard_count(
        self, target: int, name: str | None = None, arn: str | None = None
    ) -> tuple[int, int]:
        """(current open shard count before, target) — uniform scaling only."""
        return self.resharder.update_shard_count(target, self.stream_state(name, arn, fresh=True))

    # -- enhanced fan-out (services/datastreams/fanout.py) -------------------------------------

    def register_consumer(self, stream_arn: str, consumer_name: str) -> ConsumerInfo:
        return self.fanout.register(self.stream_state(None, stream_arn, fresh=True), consumer_name)

    def describe_consumer(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> ConsumerInfo:
        return self.fanout.describe(stream_arn, consumer_name, consumer_arn)

    def list_consumers(
        self, stream_arn: str, *, max_results: int = 100, next_token: str | None = None
    ) -> tuple[list[ConsumerInfo], str | None]:
        return self.fanout.list(self.stream_state(None, stream_arn, fresh=True), max_results, next_token)

    def deregister_consumer(
        self,
        stream_arn: str | None = None,
        consumer_name: str | None = None,
        consumer_arn: str | None = None,
    ) -> None:
        self.fanout.deregister(stream_arn, consumer_name, consumer_arn)

    def subscribe(
        self, consumer_arn: str, shard_id: str, start: StartingPosition
    ) -> Iterator[SubscriptionEvent | None]:
        """Validate at once (raises before the first event), then yield events as records arrive
        (and None about once a second between them: a point where the caller may stop).

        Blocking generator (run it in a thread); ends after `settings.datastreams_subscription_s`
        (5 minutes) or after the event that carries a closed shard's ChildShards.
        """
        return self.fanout.subscribe(consumer_arn, shard_id, start)

    # -- upkeep --------------------------------------------------------------------------------

    def trim_expired(self) -> int:
        """Apply retention to every shard of every stream; return records dropped (approx.)."""
        dropped = 0
        for name in self.catalog.names():
            try:
                state = self.catalog.get(name, fresh=True)
            except StreamNotFoundError:
                continue
            cutoff = int((time.time() - state.retention_hours * 3600) * 1000)
            for shard in state.shards:
                dropped += self.log.trim_before(state.key, shard.index, cutoff)
        return dropped
