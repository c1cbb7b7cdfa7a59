"""The shard-log interface every data-stream backend implements (embedded segment log, Redis Streams).

Model: a stream (`stream_key`, an opaque id chosen by the service, never reused) has shards numbered
0, 1, 2, ... (`shard`); each shard is an append-only log of records. A record's place in its shard is
a `Position(ms, seq)`: `ms` is the arrival time in epoch milliseconds (never decreasing within a
shard), `seq` breaks ties. Positions are strictly increasing per shard in tuple order — also across
restarts and, for Redis, across processes — exactly like a Redis stream ID `<ms>-<seq>`. The backend
mints positions; the service formats them into AWS-style 56-digit sequence numbers (and parses them
back), so the backend never sees sequence numbers.

Guarantees a backend must give:
- `append` returns only after the records are durable (fsync'd / acknowledged by the server). On
  return the records are visible to `read` from any thread (and any process sharing the backend).
- `append` for one shard is atomic with respect to `seal`: once `seal` returned, every later append
  to that shard raises `ShardSealedError` and the position `seal` returned is the shard's last one
  forever (the service closes parent shards on resharding this way).
- `trim_before(ms)` makes every record with `position.ms < ms` unreadable (retention). It may drop
  more storage lazily but must never hide a record with `ms >= ms`.
- `read` returns records in position order, starting at the first record whose position is
  `>= start`; at most `limit` records, and stops before exceeding `max_bytes` of data except that it
  always returns at least one record when one is there.
- `wait` blocks until a record with position `>= start` may exist, or `timeout` passes; it may
  return early spuriously (callers read again). In-process appends wake waiters at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable


class Position(NamedTuple):
    """Where a record sits in its shard; tuple order is log order (a Redis stream ID `ms-seq`)."""

    ms: int
    seq: int

    def next(self) -> Position:
        """The smallest position after this one (AFTER_SEQUENCE_NUMBER, LATEST)."""
        return Position(self.ms, self.seq + 1)


#: the position before every record of every shard (TRIM_HORIZON)
ORIGIN = Position(0, 0)


@dataclass(frozen=True, slots=True)
class NewRecord:
    """What the service hands to `append`: the routing already done, the data opaque bytes."""

    partition_key: str
    data: bytes
    #: the explicit hash key as given (decimal string), kept for readers that want it; else None
    explicit_hash_key: str | None = None


@dataclass(frozen=True, slots=True)
class StoredRecord:
    position: Position
    partition_key: str
    data: bytes

    @property
    def arrival_ms(self) -> int:
        return self.position.ms


class ShardSealedError(Exception):
    """Append to a shard that `seal` closed; the service re-routes with fresh shard metadata."""

    def __init__(self, stream_key: str, shard: int) -> None:
        super().__init__(f"shard {shard} of {stream_key} is sealed")
        self.stream_key = stream_key
        self.shard = shard


class ShardLogUnavailableError(Exception):
    """The backend cannot serve now (Redis down, disk full); the service answers InternalFailure."""


@runtime_checkable
class ShardLog(Protocol):
    """An append-only, position-addressed record log per shard. Thread-safe."""

    def create_shard(self, stream_key: str, shard: int) -> None:
        """Make an empty shard (idempotent: an existing shard is left as it is)."""
        ...

    def append(
        self, stream_key: str, batches: Mapping[int, Sequence[NewRecord]]
    ) -> dict[int, list[Position]]:
        """Append records to several shards of one stream, durably, and return their positions.

        One call is one group commit (one fsync per shard file, one round trip per shard) — the
        PutRecords path. Records of one shard get increasing positions in the order given. Raises
        `ShardSealedError` (nothing appended to that shard; other shards of the call may have been
        appended — their positions are lost to the caller, so the service sends sealed-shard
        records in a call of their own after re-routing).
        """
        ...

    def read(
        self, stream_key: str, shard: int, start: Position, limit: int, max_bytes: int
    ) -> list[StoredRecord]:
        """Records with position >= start, oldest first (see the module docstring for the bounds)."""
        ...

    def last_position(self, stream_key: str, shard: int) -> Position | None:
        """The position of the newest record ever appended (even if trimmed since); None if none."""
        ...

    def seal(self, stream_key: str, shard: int) -> Position | None:
        """Refuse every later append to the shard; return its last position (None: never written)."""
        ...

    def trim_before(self, stream_key: str, shard: int, ms: int) -> int:
        """Drop records that arrived before `ms` (epoch ms); return how many were dropped (approx.)."""
        ...

    def delete_stream(self, stream_key: str, shards: Sequence[int]) -> None:
        """Remove every shard of the stream and its data (idempotent)."""
        ...

    def wait(self, stream_key: str, shard: int, start: Position, timeout: float) -> bool:
        """Block until a record at or after `start` may be there (True) or `timeout` seconds pass."""
        ...

    def close(self) -> None:
        """Release files / connections; the object is unusable afterwards."""
        ...
