"""Per-shard throughput limits like AWS's (1 MiB/s or 1000 records/s in; 2 MiB/s, 5 calls/s out).

One-second fixed windows per shard, in this process only (a scale-out deployment limits per process).
Disabled with `VIDEOLENS_DATASTREAMS_ENFORCE_LIMITS=false`.
"""

from __future__ import annotations

import threading
import time

WRITE_RECORDS_PER_S = 1000
WRITE_BYTES_PER_S = 1024 * 1024
READ_CALLS_PER_S = 5
READ_BYTES_PER_S = 2 * 1024 * 1024


class _Window:
    __slots__ = ("second", "records", "bytes", "calls")

    def __init__(self) -> None:
        self.second = 0
        self.records = 0
        self.bytes = 0
        self.calls = 0

    def roll(self, now: int) -> None:
        if now != self.second:
            self.second, self.records, self.bytes, self.calls = now, 0, 0, 0


class ShardLimits:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._writes: dict[tuple[str, int], _Window] = {}
        self._reads: dict[tuple[str, int], _Window] = {}
        self._lock = threading.Lock()

    def admit_write(self, stream_key: str, shard: int, size: int) -> bool:
        """Count one record of `size` bytes against the shard; False: over the limit (not counted)."""
        if not self.enabled:
            return True
        with self._lock:
            w = self._writes.setdefault((stream_key, shard), _Window())
            w.roll(int(time.time()))
            if w.records + 1 > WRITE_RECORDS_PER_S or w.bytes + size > WRITE_BYTES_PER_S:
                return False
            w.records += 1
            w.bytes += size
            return True

    def admit_read(self, stream_key: str, shard: int) -> bool:
        """Count one GetRecords call; False when the shard had 5 calls (or 2 MiB) this second."""
        if not self.enabled:
            return True
        with self._lock:
            w = self._reads.setdefault((stream_key, shard), _Window())
            w.roll(int(time.time()))
            if w.calls >= READ_CALLS_PER_S or w.bytes >= READ_BYTES_PER_S:
                return False
            w.calls += 1
            return True

    def count_read_bytes(self, stream_key: str, shard: int, size: int) -> None:
        if self.enabled:
            with self._lock:
                self._reads.setdefault((stream_key, shard), _Window()).bytes += size
