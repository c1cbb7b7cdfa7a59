"""Shard views: a shard's Kinesis description, which shards are visible, ListShards' ShardFilter."""

from __future__ import annotations

import time
from dataclasses import dataclass

from videolens.backends.datastreams.base import Position
from videolens.services.datastreams.catalog import ShardState, StreamState
from videolens.services.datastreams.errors import InvalidArgumentError
from videolens.services.datastreams.models import ShardInfo
from videolens.services.datastreams.sequence import format_sequence, shard_id, shard_index


@dataclass(frozen=True, slots=True)
class ShardFilter:
    """ListShards' ShardFilter: AFTER_SHARD_ID | AT_TRIM_HORIZON | FROM_TRIM_HORIZON | AT_LATEST |
    AT_TIMESTAMP | FROM_TIMESTAMP."""

    type: str
    shard_id: str | None = None
    timestamp: float | None = None  # epoch seconds


def shard_info(shard: ShardState) -> ShardInfo:
    start = format_sequence(shard.index, Position(shard.created_ms, 0))
    end = None
    if not shard.is_open:
        end = format_sequence(shard.index, shard.end or Position(shard.closed_ms or shard.created_ms, 0))
    return ShardInfo(
        shard_id=shard_id(shard.index),
        index=shard.index,
        parent_shard_id=shard_id(shard.parent) if shard.parent is not None else None,
        adjacent_parent_shard_id=shard_id(shard.adjacent_parent)
        if shard.adjacent_parent is not None
        else None,
        starting_hash_key=shard.start_hash,
        ending_hash_key=shard.end_hash,
        starting_sequence_number=start,
        ending_sequence_number=end,
    )


def visible_shards(state: StreamState) -> list[ShardState]:
    """Open shards plus closed ones still within retention (AWS drops expired parents)."""
    horizon = int((time.time() - state.retention_hours * 3600) * 1000)
    return [s for s in state.shards if s.is_open or (s.closed_ms or 0) >= horizon]


def filter_shards(shards: list[ShardState], flt: ShardFilter | None) -> list[ShardState]:
    if flt is None:
        return shards
    kind = flt.type
    if kind == "AFTER_SHARD_ID":
        if not flt.shard_id:
            raise InvalidArgumentError("ShardId is required for the AFTER_SHARD_ID ShardFilter.")
        after = shard_index(flt.shard_id)
        return [s for s in shards if after is not None and s.index > after]
    if kind == "AT_LATEST":
        return [s for s in shards if s.is_open]
    if kind in ("AT_TRIM_HORIZON", "FROM_TRIM_HORIZON"):
        return shards
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        if flt.timestamp is None:
            raise InvalidArgumentError(f"Timestamp is required for the {kind} ShardFilter.")
        ms = int(flt.timestamp * 1000)
        if kind == "AT_TIMESTAMP":
            return [s for s in shards if s.created_ms <= ms and (s.is_open or (s.closed_ms or 0) > ms)]
        return [s for s in shards if s.is_open or (s.closed_ms or 0) > ms]
    raise InvalidArgumentError(f"Invalid ShardFilter type {kind}")
