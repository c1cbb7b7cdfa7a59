"""Hash-key space of a stream: 128-bit MD5 of the partition key, split into contiguous shard ranges."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MAX_HASH_KEY = 2**128 - 1


def hash_key(partition_key: str) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest(), "big")


def even_ranges(count: int, start: int = 0, end: int = MAX_HASH_KEY) -> list[tuple[int, int]]:
    """`count` contiguous ranges covering [start, end], as even as integers allow (AWS's layout)."""
    size = end - start + 1
    bounds = [start + size * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(count)]


class HashRouter:
    """Finds the open shard that owns a hash key (bisect over the sorted range starts)."""

    def __init__(self, ranges: Sequence[tuple[int, int, int]]) -> None:
        ordered = sorted(ranges)  # (start, end, shard index)
        self._starts = [r[0] for r in ordered]
        self._entries = ordered

    def shard_for(self, key: int) -> int:
        import bisect

        i = bisect.bisect_right(self._starts, key) - 1
        start, end, index = self._entries[i]
        if not start <= key <= end:
            raise LookupError(f"no open shard owns hash key {key}")
        return index
