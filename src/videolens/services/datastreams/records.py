"""The record path: routing puts to shards, group-committed appends, iterators and GetRecords.

A PutRecords call is validated whole first (any bad entry fails the call, like Kinesis), then its
records are routed by hash key and handed to the shard log in one `append` (one fsync per shard).
Records refused by the per-shard limit come back as per-entry ProvisionedThroughputExceededException.
If another process sealed a shard meanwhile (resharding), the shard map is reloaded and those
records are routed again, so nothing lands in a closed shard and nothing is acknowledged twice.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from videolens.backends.datastreams.base import (
    ORIGIN,
    NewRecord,
    Position,
    ShardLog,
    ShardLogUnavailableError,
    ShardSealedError,
)
from videolens.services.datastreams.catalog import Catalog, ShardState, StreamState
from videolens.services.datastreams.errors import (
    InvalidArgumentError,
    StorageUnavailableError,
    StreamNotFoundError,
    ThroughputExceededError,
)
from videolens.services.datastreams.hashing import MAX_HASH_KEY, hash_key
from videolens.services.datastreams.iterators import IteratorCodec
from videolens.services.datastreams.limits import ShardLimits
from videolens.services.datastreams.models import (
    ChildShardInfo,
    PutRecordInput,
    PutResult,
    RecordOut,
    RecordsPage,
)
from videolens.services.datastreams.sequence import format_sequence, parse_sequence, shard_id

MAX_GET_BYTES = 10 * 1024 * 1024
MAX_PUT_RECORDS_BYTES = 5 * 1024 * 1024
_THROTTLED = "ProvisionedThroughputExceededException"


def now_ms() -> int:
    return int(time.time() * 1000)


class RecordPlane:
    def __init__(
        self, catalog: Catalog, log: ShardLog, iterators: IteratorCodec, limits: ShardLimits
    ) -> None:
        self.catalog = catalog
        self.log = log
        self.iterators = iterators
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="datastreams-append")

    # -- puts ----------------------------------------------------------------------------------

    def check_entry(self, state: StreamState, rec: PutRecordInput, where: str = "") -> int:
        """Validate one record against the stream and return its hash key."""
        if rec.partition_key is None:
            raise InvalidArgumentError(
                f"1 validation error detected: Value null at '{where}partitionKey' failed to satisfy "
                "constraint: Member must not be null"
            )
        limit = state.max_record_kib * 1024
        size = len(rec.data) + len(rec.partition_key.encode())
        if size > limit:
            raise InvalidArgumentError(
                f"1 validation error detected: Value at '{where}data' failed to satisfy constraint: "
                f"Record size (data + partition key) {size} exceeds the maximum of {limit} bytes"
            )
        if rec.explicit_hash_key is not None:
            text = rec.explicit_hash_key
            value = int(text) if text.isdigit() else -1
            if not 0 <= value <= MAX_HASH_KEY:
                raise InvalidArgumentError(
                    "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                    f"Specified value was {text}"
                )
            return value
        return hash_key(rec.partition_key)

    def put(self, state: StreamState, records: Sequence[PutRecordInput], *, single: bool) -> list[PutResult]:
        if state.status not in ("ACTIVE", "UPDATING"):
            raise self.catalog.not_found(state.name)
        prefix = "" if single else "records.member."
        keys = [self.check_entry(state, r, prefix) for r in records]
        if not single:
            total = sum(len(r.data) + len((r.partition_key or "").encode()) for r in records)
            if total > MAX_PUT_RECORDS_BYTES:
                raise InvalidArgumentError(
                    f"Records size {total} exceeds the limit of {MAX_PUT_RECORDS_BYTES} bytes per "
                    "PutRecords request"
                )
        results: list[PutResult | None] = [None] * len(records)
        pending = list(range(len(records)))
        for _attempt in range(5):
            batches: dict[int, list[int]] = {}
            for i in pending:
                shard = state.router.shard_for(keys[i])
                rec = records[i]
                size = len(rec.data) + len(rec.partition_key or "")
                if not self.limits.admit_write(state.key, shard, size):
                    if single:
                        raise ThroughputExceededError(
                            f"Rate exceeded for shard {shard_id(shard)} in stream {state.name} under account "
                            f"{self.catalog.account_id}."
                        )
                    results[i] = PutResult(
                        error_code=_THROTTLED,
                        error_message=f"Rate exceeded for shard {shard_id(shard)} in stream {state.name} "
                        f"under account {self.catalog.account_id}.",
                    )
                    continue
                batches.setdefault(shard, []).append(i)
            sealed: list[int] = []
            append = functools.partial(self._append, state.key, records)
            items = list(batches.items())
            try:
                # shards commit in parallel: their fsyncs (or Redis round trips) overlap
                outcomes = (
                    list(self._pool.map(append, items)) if len(items) > 1 else [append(i) for i in items]
                )
            except ShardLogUnavailableError as exc:
                raise StorageUnavailableError(str(exc)) from exc
            for (shard, idxs), positions in zip(items, outcomes, strict=True):
                if positions is None:
                    sealed.extend(idxs)
                    continue
                sid = shard_id(shard)
                for i, pos in zip(idxs, positions, strict=True):
                    results[i] = PutResult(shard_id=sid, sequence_number=format_sequence(shard, pos))
            if not sealed:
                break
            # a reshard sealed the shard: its new map is committed right after the seal
            time.sleep(0.005 * (_attempt + 1))
            state = self.catalog.get(state.name, fresh=True)
            pending = sealed
        return [
            r or PutResult(error_code="InternalFailure", error_message="Internal service failure.")
            for r in results
        ]

    def _append(
        self, key: str, records: Sequence[PutRecordInput], item: tuple[int, list[int]]
    ) -> list[Position] | None:
        """Append one shard's share of a call; None when that shard was sealed meanwhile."""
        shard, idxs = item
        new = [NewRecord(records[i].partition_key or "", records[i].data) for i in idxs]
        try:
            return self.log.append(key, {shard: new})[shard]
        except ShardSealedError:
            return None

    # -- iterators -----------------------------------------------------------------------------

    def shard_of(self, state: StreamState, sid: str) -> ShardState:
        from videolens.services.datastreams.sequence import shard_index

        index = shard_index(sid)
        shard = state.shard(index) if index is not None else None
        if shard is None:
            raise StreamNotFoundError(
                f"Shard {sid} in stream {state.name} under account {self.catalog.account_id} does not exist"
            )
        return shard

    def iterator(
        self,
        state: StreamState,
        shard: ShardState,
        kind: str,
        sequence: str | None,
        timestamp: float | None,
    ) -> str:
        sid = shard_id(shard.index)
        if kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence is None:
                raise InvalidArgumentError(
                    "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                    "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. "
                    f"Request specified {kind} and no StartingSequenceNumber."
                )
            try:
                index, pos = parse_sequence(sequence)
            except InvalidArgumentError:
                raise InvalidArgumentError(
                    f"StartingSequenceNumber {sequence} used in GetShardIterator on shard {sid} in stream "
                    f"{state.name} under account {self.catalog.account_id} is invalid."
                ) from None
            if index != shard.index:
                raise InvalidArgumentError(
                    f"Invalid StartingSequenceNumber. It encodes {shard_id(index)}, while it was used in a "
                    f"call to a shard with {sid}"
                )
            start = pos if kind == "AT_SEQUENCE_NUMBER" else pos.next()
        elif sequence is not None:
            raise InvalidArgumentError(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                "StartingSequenceNumber "
                f"or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {kind} and "
                "also a StartingSequenceNumber."
            )
        elif kind == "TRIM_HORIZON":
            start = ORIGIN
        elif kind == "LATEST":
            last = self.log.last_position(state.key, shard.index)
            start = last.next() if last is not None else ORIGIN
        elif kind == "AT_TIMESTAMP":
            if timestamp is None:
                raise InvalidArgumentError(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                    "Current request has no timestamp parameter."
                )
            ms = int(round(timestamp * 1000))
            now = now_ms()
            if ms > now:
                raise InvalidArgumentError(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                    f"timestampInMillis: {ms}, currentTimestampInMillis: {now}"
                )
            start = Position(max(ms, 0), 0)
        else:
            raise InvalidArgumentError(f"Invalid ShardIteratorType {kind}")
        return self.iterators.encode(state.key, shard.index, start)

    # -- reads ---------------------------------------------------------------------------------

    def read(
        self, state: StreamState, shard: ShardState, start: Position, limit: int
    ) -> tuple[list[RecordOut], Position, bool, int]:
        """(records, next start, at the closed shard's end, millis behind latest)."""
        stored = self.log.read(state.key, shard.index, start, limit, MAX_GET_BYTES)
        if shard.end is not None:
            stored = [r for r in stored if r.position <= shard.end]
        index = shard.index
        out = [
            RecordOut(format_sequence(index, r.position), r.position.ms / 1000, r.data, r.partition_key)
            for r in stored
        ]
        nxt = stored[-1].position.next() if stored else start
        at_end = not shard.is_open and (shard.end is None or nxt > shard.end)
        last = self.log.last_position(state.key, index) if shard.is_open else shard.end
        behind = 0
        if last is not None and nxt <= last:
            behind = max(0, now_ms() - (stored[-1].position.ms if stored else start.ms))
        return out, nxt, at_end, behind

    def get_records(self, token: str, limit: int) -> RecordsPage:
        it = self.iterators.decode(token)
        try:
            state = self.catalog.get_by_key(it.stream_key)
        except StreamNotFoundError:
            raise StreamNotFoundError(
                f"Shard {shard_id(it.shard)} in stream with id {it.stream_key} under account "
                f"{self.catalog.account_id} does not exist"
            ) from None
        shard = state.shard(it.shard)
        if shard is None:
            raise StreamNotFoundError(
                f"Shard {shard_id(it.shard)} in stream {state.name} under account "
                f"{self.catalog.account_id} does not exist"
            )
        if not self.limits.admit_read(state.key, shard.index):
            raise ThroughputExceededError(
                f"Rate exceeded for shard {shard_id(shard.index)} in stream {state.name} under account "
                f"{self.catalog.account_id}."
            )
        records, nxt, at_end, behind = self.read(state, shard, it.start, limit)
        self.limits.count_read_bytes(state.key, shard.index, sum(len(r.data) for r in records))
        if at_end:
            return RecordsPage(records, None, 0, self.children(state, shard))
        return RecordsPage(records, self.iterators.encode(state.key, shard.index, nxt), behind, None)

    def children(self, state: StreamState, shard: ShardState) -> list[ChildShardInfo]:
        out = []
        for s in state.shards:
            if shard.index in (s.parent, s.adjacent_parent):
                parents = [shard_id(p) for p in (s.parent, s.adjacent_parent) if p is not None]
                out.append(ChildShardInfo(shard_id(s.index), parents, s.start_hash, s.end_hash))
        return out
