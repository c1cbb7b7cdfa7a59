"""Resharding plans: which shards a split, a merge or a uniform UpdateShardCount closes and opens.

The plans are pure (shard maps in, shard maps out); the service seals the parents' logs and commits
the plan in one metadata transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from videolens.services.datastreams.catalog import ShardState
from videolens.services.datastreams.hashing import even_ranges


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
