"""Resharding plans: which shards a split, a merge or a uniform UpdateShardCount closes and opens.

The plans are pure (shard maps in, shard maps out); the service seals the parents' logs and commits
the plan in one metadata transaction.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from videolens.services.datastreams.catalog import ShardState, StreamState
from videolens.services.datastreams.errors import (
    InvalidArgumentError,
    ResourceInUseError,
    StreamNotFoundError,
)
from videolens.services.datastreams.hashing import even_ranges
from videolens.services.datastreams.sequence import shard_index

if TYPE_CHECKING:
    from videolens.services.datastreams.service import DataStreamsService


@dataclass(frozen=True)
class Plan:
    close: list[int]
    children: list[ShardState]


def split(parent: ShardState, new_start: int, first_index: int, now_ms: int) -> Plan:
    low = ShardState(first_index, parent.index, None, parent.start_hash, new_start - 1, now_ms)
    high = ShardState(first_index + 1, parent.index, None, new_start, parent.end_hash, now_ms)
    return Plan([parent.index], [low, high])


def adjacent(a: ShardState, b: ShardState) -> bool:
    return a.end_hash + 1 == b.start_hash or b.end_hash + 1 == a.start_hash


def merge(a: ShardState, b: ShardState, index: int, now_ms: int) -> Plan:
    lo, hi = (a, b) if a.start_hash < b.start_hash else (b, a)
    child = ShardState(index, a.index, b.index, lo.start_hash, hi.end_hash, now_ms)
    return Plan([a.index, b.index], [child])


def uniform(open_shards: list[ShardState], target: int, first_index: int, now_ms: int) -> Plan:
    """Close every open shard and open `target` even ranges; each child names the parent(s) it overlaps.

    A child overlapping one parent is that parent's split child; one overlapping two is their merge
    child (Parent + AdjacentParent). A child overlapping more parents than two cannot be expressed in
    the Kinesis shape, so the targets allowed (at most double, at least half) never produce one.
    """
    parents = sorted(open_shards, key=lambda s: s.start_hash)
    children: list[ShardState] = []
    for i, (start, end) in enumerate(even_ranges(target)):
        overlap = [p for p in parents if p.start_hash <= end and p.end_hash >= start]
        parent = overlap[0].index if overlap else None
        adj = overlap[1].index if len(overlap) > 1 else None
        if len(overlap) > 2:
            raise ValueError("uniform scaling child would have more than two parents")
        children.append(ShardState(first_index + i, parent, adj, start, end, now_ms))
    return Plan([p.index for p in parents], children)


class Resharder:
    """Split, merge and uniform rescale of one stream at a time (per process; SQL guards across)."""

    def __init__(self, service: DataStreamsService) -> None:
        self.svc = service
        self._reshard_lock = threading.Lock()

    def _apply(self, state: StreamState, plan: Plan) -> None:
        """Seal the parents' logs (no append lands after), then commit closed + children at once."""
        for child in plan.children:
            self.svc.log.create_shard(state.key, child.index)
        closed = [(index, self.svc.log.seal(state.key, index)) for index in plan.close]
        self.svc.catalog.reshard(state, closed, plan.children, int(time.time() * 1000))

    def _open_shard(self, state: StreamState, sid: str) -> ShardState:
        index = shard_index(sid)
        shard = state.shard(index) if index is not None else None
        if shard is None or not shard.is_open:
            raise StreamNotFoundError(
                f"Could not find shard {sid} in stream {state.name} under account {self.svc.account_id}."
            )
        return shard

    def split_shard(self, shard_to_split: str, new_starting_hash_key: str, state: StreamState) -> None:
        with self._reshard_lock:
            state = self.svc.catalog.get(state.name, fresh=True)  # a reshard may have run meanwhile
            self._require_active(state)
            parent = self._open_shard(state, shard_to_split)
            self.svc.check_shard_limit(1)
            new_start = int(new_starting_hash_key)
            if not parent.start_hash + 1 <= new_start <= parent.end_hash:
                raise InvalidArgumentError(
                    f"NewStartingHashKey {new_starting_hash_key} used in SplitShard() on shard "
                    f"{shard_to_split} in stream {state.name} under account {self.svc.account_id} "
                    "is not both greater than one plus the "
                    f"shard's StartingHashKey {parent.start_hash} and less than the shard's EndingHashKey "
                    f"{parent.end_hash}."
                )
            self._apply(state, split(parent, new_start, state.next_shard, int(time.time() * 1000)))

    def merge_shards(self, shard_to_merge: str, adjacent_shard: str, state: StreamState) -> None:
        with self._reshard_lock:
            state = self.svc.catalog.get(state.name, fresh=True)  # a reshard may have run meanwhile
            self._require_active(state)
            a = self._open_shard(state, shard_to_merge)
            b = self._open_shard(state, adjacent_shard)
            if a.index == b.index or not adjacent(a, b):
                raise InvalidArgumentError(
                    f"Shards {shard_to_merge} and {adjacent_shard} in stream {state.name} under account "
                    f"{self.svc.account_id} are not an adjacent pair of shards eligible for merging"
                )
            self._apply(state, merge(a, b, state.next_shard, int(time.time() * 1000)))

    def update_shard_count(self, target: int, state: StreamState) -> tuple[int, int]:
        """(current open shard count before, target) — uniform scaling only."""
        with self._reshard_lock:
            state = self.svc.catalog.get(state.name, fresh=True)  # a reshard may have run meanwhile
            self._require_active(state)
            current = len(state.open_shards)
            if target < 1 or target > 2 * current or 2 * target < current:
                raise InvalidArgumentError(
                    f"UpdateShardCount to {target} for stream {state.name}: the target must be between "
                    "half and "
                    f"double the current open shard count ({current})."
                )
            if target == current:
                return current, target
            self.svc.check_shard_limit(target, freed=current)
            try:
                plan = uniform(state.open_shards, target, state.next_shard, int(time.time() * 1000))
            except ValueError:
                raise InvalidArgumentError(
                    f"UpdateShardCount to {target} for stream {state.name}: the open shards are too "
                    "uneven for a "
                    "uniform rescale; split or merge them first."
                ) from None
            self._apply(state, plan)
            return current, target

    def _require_active(self, state: StreamState) -> None:
        if state.status != "ACTIVE":
            raise ResourceInUseError(
                f"Stream {state.name} under account {self.svc.account_id} not ACTIVE, "
                f"instead in state {state.status}"
            )
