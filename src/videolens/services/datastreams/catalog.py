"""SQL side of data streams: streams, their shard maps and consumers, with a short-lived cache.

Only metadata lives here (one row per stream, shard and consumer); records live in the shard log.
The put path reads shard maps from a per-process cache (refreshed after `CACHE_S`, and at once on a
local change); a put that hits a shard another process sealed reloads the map (see service.py).
"""

from __future__ import annotations

import os
import secrets
import string
import threading
import time
from dataclasses import dataclass, field, replace

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from videolens.backends.datastreams.base import Position
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.datastreams import (
    DataStreamConsumerRow,
    DataStreamRow,
    DataStreamSecretRow,
    DataStreamShardRow,
)
from videolens.services.datastreams.errors import ResourceInUseError, StreamNotFoundError
from videolens.services.datastreams.hashing import HashRouter

CACHE_S = 1.0
_ID_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class ShardState:
    index: int
    parent: int | None
    adjacent_parent: int | None
    start_hash: int
    end_hash: int
    created_ms: int
    closed_ms: int | None = None
    #: the last position of a closed shard (None: closed without ever holding a record, or open)
    end: Position | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_ms is None


@dataclass(frozen=True)
class StreamState:
    key: str
    name: str
    arn: str
    status: str
    mode: str
    retention_hours: int
    created_at: float
    encryption_type: str
    key_id: str | None
    max_record_kib: int
    tags: dict[str, str]
    enhanced_metrics: list[str]
    next_shard: int
    version: int
    shards: list[ShardState]
    router: HashRouter = field(compare=False, repr=False)

    def shard(self, index: int) -> ShardState | None:
        for s in self.shards:
            if s.index == index:
                return s
        return None

    @property
    def open_shards(self) -> list[ShardState]:
        return [s for s in self.shards if s.is_open]


def _state(row: DataStreamRow, shard_rows: list[DataStreamShardRow]) -> StreamState:
    shards = [
        ShardState(
            index=s.shard,
            parent=s.parent,
            adjacent_parent=s.adjacent_parent,
            start_hash=int(s.start_hash),
            end_hash=int(s.end_hash),
            created_ms=s.created_ms,
            closed_ms=s.closed_ms,
            end=Position(s.end_ms, s.end_seq) if s.end_ms is not None and s.end_seq is not None else None,
        )
        for s in sorted(shard_rows, key=lambda r: r.shard)
    ]
    router = HashRouter([(s.start_hash, s.end_hash, s.index) for s in shards if s.is_open])
    return StreamState(
        key=row.id,
        name=row.name,
        arn=row.arn,
        status=row.status,
        mode=row.mode,
        retention_hours=row.retention_hours,
        created_at=row.created_at,
        encryption_type=row.encryption_type,
        key_id=row.key_id,
        max_record_kib=row.max_record_kib,
        tags=dict(row.tags or {}),
        enhanced_metrics=list(row.enhanced_metrics or []),
        next_shard=row.next_shard,
        version=row.version,
        shards=shards,
        router=router,
    )


def new_stream_id() -> str:
    pick = secrets.choice
    return (
        "".join(pick(_ID_ALPHABET) for _ in range(20)) + "-" + "".join(pick(_ID_ALPHABET) for _ in range(3))
    )


class Catalog:
    def __init__(self, db: Database, region: str, account_id: str) -> None:
        self.db = db
        self.region = region
        self.account_id = account_id
        self._cache: dict[str, tuple[float, StreamState]] = {}  # by name
        self._names_by_key: dict[str, str] = {}
        self._lock = threading.Lock()

    def stream_arn(self, name: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/{name}"

    def not_found(self, name: str) -> StreamNotFoundError:
        return StreamNotFoundError(f"Stream {name} under account {self.account_id} not found.")

    # -- reading -------------------------------------------------------------------------------

    def resolve_name(self, name: str | None, arn: str | None) -> str:
        if arn:
            prefix = f"arn:aws:kinesis:{self.region}:{self.account_id}:stream/"
            from_arn = arn.split(":stream/", 1)[1] if ":stream/" in arn else ""
            if not arn.startswith(prefix) or not from_arn:
                raise StreamNotFoundError(
                    f"Stream {from_arn or arn} under account {self.account_id} not found."
                )
            if name and name != from_arn:
                from videolens.services.datastreams.errors import InvalidArgumentError

                raise InvalidArgumentError("StreamARN and StreamName do not name the same stream.")
            return from_arn
        if not name:
            from videolens.services.datastreams.errors import InvalidArgumentError

            raise InvalidArgumentError("Either StreamName or StreamARN must be provided.")
        return name

    def get(self, name: str, *, fresh: bool = False) -> StreamState:
        now = time.monotonic()
        if not fresh:
            hit = self._cache.get(name)
            if hit is not None and now - hit[0] < CACHE_S:
                return hit[1]
        with self.db.session() as s:
            row = s.scalars(select(DataStreamRow).where(DataStreamRow.name == name)).first()
            if row is None:
                self._cache.pop(name, None)
                raise self.not_found(name)
            shards = list(s.scalars(select(DataStreamShardRow).where(DataStreamShardRow.stream_id == row.id)))
            state = _state(row, shards)
        self._cache[name] = (now, state)
        return state

    def get_by_key(self, key: str) -> StreamState:
        name = self._names_by_key.get(key)
        if name is None:
            with self.db.session() as s:
                name = s.scalar(select(DataStreamRow.name).where(DataStreamRow.id == key))
            if name is None:
                raise StreamNotFoundError(f"Stream with id {key} under account {self.account_id} not found.")
            self._names_by_key[key] = name
        state = self.get(name)
        if state.key != key:  # deleted and created again under the same name: the old one is gone
            self._names_by_key.pop(key, None)
            raise StreamNotFoundError(f"Stream with id {key} under account {self.account_id} not found.")
        return state

    def names(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(DataStreamRow.name).order_by(DataStreamRow.name)))

    def open_shard_total(self) -> int:
        with self.db.session() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(DataStreamShardRow)
                    .where(DataStreamShardRow.closed_ms.is_(None))
                )
                or 0
            )

    # -- writing -------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        ranges: list[tuple[int, int]],
        *,
        mode: str,
        tags: dict[str, str],
        max_record_kib: int,
        retention_hours: int,
    ) -> StreamState:
        key = new_stream_id()
        now = time.time()
        now_ms = int(now * 1000)
        try:
            with self.db.session() as s:
                s.add(
                    DataStreamRow(
                        id=key,
                        name=name,
                        arn=self.stream_arn(name),
                        status="ACTIVE",
                        mode=mode,
                        retention_hours=retention_hours,
                        created_at=now,
                        encryption_type="NONE",
                        key_id=None,
                        max_record_kib=max_record_kib,
                        tags=tags,
                        enhanced_metrics=[],
                        next_shard=len(ranges),
                        version=0,
                    )
                )
                s.flush()
                for i, (start, end) in enumerate(ranges):
                    s.add(
                        DataStreamShardRow(
                            stream_id=key,
                            shard=i,
                            start_hash=str(start),
                            end_hash=str(end),
                            created_ms=now_ms,
                        )
                    )
        except IntegrityError:
            raise ResourceInUseError(
                f"Stream {name} under account {self.account_id} already exists."
            ) from None
        return self.get(name, fresh=True)

    def update(self, name: str, **values: object) -> StreamState:
        with self.db.session() as s:
            row = s.scalars(select(DataStreamRow).where(DataStreamRow.name == name)).first()
            if row is None:
                raise self.not_found(name)
            for k, v in values.items():
                setattr(row, k, v)
        return self.get(name, fresh=True)

    def delete(self, name: str) -> None:
        with self.db.session() as s:
            key = s.scalar(select(DataStreamRow.id).where(DataStreamRow.name == name))
            if key is None:
                raise self.not_found(name)
            s.execute(delete(DataStreamConsumerRow).where(DataStreamConsumerRow.stream_id == key))
            s.execute(delete(DataStreamShardRow).where(DataStreamShardRow.stream_id == key))
            s.execute(delete(DataStreamRow).where(DataStreamRow.id == key))
        self._cache.pop(name, None)

    def reshard(
        self,
        state: StreamState,
        closed: list[tuple[int, Position | None]],
        children: list[ShardState],
        closed_ms: int,
    ) -> StreamState:
        """Close `closed` shards (with their sealed last positions) and add `children`, atomically."""
        with self.db.session() as s:
            row = s.get(DataStreamRow, state.key, with_for_update=True)
            if row is None:
                raise self.not_found(state.name)
            for index, end in closed:
                shard = s.get(DataStreamShardRow, (state.key, index))
                if shard is None or shard.closed_ms is not None:
                    raise ResourceInUseError(
                        f"Stream {state.name} under account {self.account_id} not ACTIVE, "
                        "instead in state UPDATING"
                    )
                shard.closed_ms = closed_ms
                shard.end_ms = end.ms if end else None
                shard.end_seq = end.seq if end else None
            for child in children:
                s.add(
                    DataStreamShardRow(
                        stream_id=state.key,
                        shard=child.index,
                        parent=child.parent,
                        adjacent_parent=child.adjacent_parent,
                        start_hash=str(child.start_hash),
                        end_hash=str(child.end_hash),
                        created_ms=child.created_ms,
                    )
                )
            row.next_shard = max([row.next_shard] + [c.index + 1 for c in children])
            row.version += 1
        return self.get(state.name, fresh=True)

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)

    # -- consumers -----------------------------------------------------------------------------

    def add_consumer(self, state: StreamState, name: str) -> DataStreamConsumerRow:
        now = time.time()
        row = DataStreamConsumerRow(
            arn=f"{state.arn}/consumer/{name}:{int(now)}",
            stream_id=state.key,
            name=name,
            status="ACTIVE",
            created_at=now,
        )
        try:
            with self.db.session() as s:
                s.add(row)
        except IntegrityError:
            raise ResourceInUseError(
                f"Consumer {name} under stream {state.name} already exists for account {self.account_id}."
            ) from None
        return row

    def consumers(self, stream_key: str) -> list[DataStreamConsumerRow]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(DataStreamConsumerRow)
                    .where(DataStreamConsumerRow.stream_id == stream_key)
                    .order_by(DataStreamConsumerRow.created_at, DataStreamConsumerRow.name)
                )
            )

    def consumer(self, arn: str) -> DataStreamConsumerRow | None:
        with self.db.session() as s:
            return s.get(DataStreamConsumerRow, arn)

    def consumer_stream(self, row: DataStreamConsumerRow) -> StreamState:
        return self.get_by_key(row.stream_id)

    def remove_consumer(self, arn: str) -> None:
        with self.db.session() as s:
            s.execute(delete(DataStreamConsumerRow).where(DataStreamConsumerRow.arn == arn))

    # -- the iterator key ----------------------------------------------------------------------

    def iterator_key(self) -> bytes:
        with self.db.session() as s:
            row = s.get(DataStreamSecretRow, "iterators")
            if row is not None:
                return bytes(row.value)
        try:
            with self.db.session() as s:
                s.add(DataStreamSecretRow(name="iterators", value=os.urandom(32)))
        except IntegrityError:
            pass  # another process made it first: use theirs
        with self.db.session() as s:
            row = s.get(DataStreamSecretRow, "iterators")
            assert row is not None
            return bytes(row.value)


def with_shards(state: StreamState, shards: list[ShardState]) -> StreamState:
    return replace(state, shards=shards)
