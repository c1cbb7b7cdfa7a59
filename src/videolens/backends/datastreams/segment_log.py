"""The embedded shard log: append-only segment files per shard, a sparse in-memory index, fsync per batch.

Layout: `<root>/<stream_key>/<shard>/<ms:015>-<seq:020>.seg`, one file per segment, named after its
first record's position; `sealed` and `trim` marker files beside them. A record on disk is a 28-byte
header (ms, seq, key length, data length, CRC-32 of everything else) followed by the partition key
(UTF-8) and the data.

Durability: `append` writes the whole batch of a shard with one `write` and `fdatasync`s the file
(a new segment's directory entry is fsync'd too) before returning, so an acknowledged record survives
SIGKILL and power loss. On open, the last segment is scanned and a torn tail (a batch that was never
acknowledged) is cut off at the last record whose CRC checks. Positions go on from the last record on
disk, and the arrival ms never goes below it, so they keep increasing across restarts.

Retention: `trim_before` deletes whole segments that hold only older records and records a trim
floor (`trim` file) that hides the older records still sharing a segment with newer ones.
"""

from __future__ import annotations

import bisect
import os
import shutil
import struct
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from videolens.backends.datastreams.base import (
    NewRecord,
    Position,
    ShardLogUnavailableError,
    ShardSealedError,
    StoredRecord,
)

_HEADER = struct.Struct("<QQIII")  # ms, seq, key length, data length, crc32
_HEAD = struct.Struct("<QQII")
_CRC = struct.Struct("<I")
_INDEX_EVERY = 4096  # bytes of log between two sparse index entries
_READ_CHUNK = 256 * 1024


@dataclass
class _Segment:
    path: Path
    first: Position
    size: int = 0
    #: bytes known to be on disk (fdatasync'd); readers see only these
    synced: int = 0
    #: sparse index: positions and the file offsets where those records start
    index_pos: list[Position] = field(default_factory=list)
    index_off: list[int] = field(default_factory=list)
    last_indexed: int = -_INDEX_EVERY

    def note(self, pos: Position, offset: int) -> None:
        if offset - self.last_indexed >= _INDEX_EVERY:
            self.index_pos.append(pos)
            self.index_off.append(offset)
            self.last_indexed = offset

    def offset_for(self, start: Position) -> int:
        i = bisect.bisect_right(self.index_pos, start) - 1
        return self.index_off[i] if i >= 0 else 0


class _Shard:
    """One shard's segments, its append file and the condition its waiters sleep on."""

    def __init__(self, directory: Path, segment_bytes: int) -> None:
        self.dir = directory
        self.segment_bytes = segment_bytes
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        #: one fdatasync at a time; writers that wrote meanwhile share the next one (group commit)
        self.sync_lock = threading.Lock()
        self.segments: list[_Segment] = []
        #: newest durable (acknowledgeable, visible) position, and newest written one
        self.last: Position | None = None
        self.written: Position | None = None
        self.fd: int | None = None  # append fd of the newest segment
        self.sealed = (directory / "sealed").exists()
        trim = directory / "trim"
        self.trim_ms = int(trim.read_text() or 0) if trim.exists() else 0
        self._load()

    # -- recovery ------------------------------------------------------------------------------

    def _load(self) -> None:
        for path in sorted(self.dir.glob("*.seg")):
            ms, _, seq = path.stem.partition("-")
            self.segments.append(_Segment(path, Position(int(ms), int(seq))))
        for i, seg in enumerate(self.segments):
            last_file = i == len(self.segments) - 1
            valid, last = self._scan(seg)
            if last_file:
                size = seg.path.stat().st_size
                if valid < size:  # torn tail of an unacknowledged batch
                    with open(seg.path, "r+b") as f:
                        f.truncate(valid)
                        os.fsync(f.fileno())
                if last is not None:
                    self.last = last
            seg.size = seg.synced = valid
        while self.segments and self.segments[-1].size == 0:
            self.segments.pop().path.unlink()
        if self.segments:
            self.fd = os.open(self.segments[-1].path, os.O_RDWR | os.O_APPEND)
            if self.last is None:
                self.last = self._scan(self.segments[-1])[1]
        self.written = self.last

    def _scan(self, seg: _Segment) -> tuple[int, Position | None]:
        """Index a segment; return (bytes of whole, CRC-valid records, last position)."""
        data = seg.path.read_bytes()
        offset, last = 0, None
        n = len(data)
        while offset + _HEADER.size <= n:
            ms, seq, klen, dlen, crc = _HEADER.unpack_from(data, offset)
            end = offset + _HEADER.size + klen + dlen
            if end > n:
                break
            body = memoryview(data)[offset + _HEADER.size : end]
            if zlib.crc32(body, zlib.crc32(data[offset : offset + 24])) != crc:
                break
            last = Position(ms, seq)
            seg.note(last, offset)
            offset = end
        return offset, last

    # -- writing -------------------------------------------------------------------------------

    def append(self, records: Sequence[NewRecord], stream_key: str, shard: int) -> list[Position]:
        with self.lock:
            if self.sealed:
                raise ShardSealedError(stream_key, shard)
            now = int(time.time() * 1000)
            last = self.written
            ms = max(now, last.ms) if last else now
            seq = last.seq + 1 if last else 0
            if self.fd is None or self.segments[-1].size >= self.segment_bytes:
                self._roll(Position(ms, seq))
            seg = self.segments[-1]
            fd = self.fd
            assert fd is not None
            buf = bytearray()
            positions: list[Position] = []
            offset = seg.size
            for rec in records:
                key = rec.partition_key.encode()
                head = _HEAD.pack(ms, seq, len(key), len(rec.data))
                crc = zlib.crc32(rec.data, zlib.crc32(key, zlib.crc32(head)))
                pos = Position(ms, seq)
                seg.note(pos, offset + len(buf))
                buf += head
                buf += _CRC.pack(crc)
                buf += key
                buf += rec.data
                positions.append(pos)
                seq += 1
            try:
                _write_all(fd, buf)
            except OSError as exc:
                # the bytes may be half there: cut them off so the log stays a clean sequence
                os.ftruncate(fd, seg.size)
                raise ShardLogUnavailableError(f"cannot write shard log: {exc}") from exc
            seg.size = end = offset + len(buf)
            if positions:
                self.written = positions[-1]
        try:
            self._sync(seg, fd, end)
        except OSError as exc:
            raise ShardLogUnavailableError(f"cannot sync shard log: {exc}") from exc
        with self.lock:
            if positions and (self.last is None or positions[-1] > self.last):
                self.last = positions[-1]
            self.cond.notify_all()
        return positions

    def _sync(self, seg: _Segment, fd: int, end: int) -> None:
        with self.sync_lock:
            if seg.synced >= end:
                return  # another writer's fdatasync covered our bytes
            target = seg.size  # everything written so far rides on this fdatasync
            os.fdatasync(fd)
            seg.synced = max(seg.synced, target)

    def _roll(self, first: Position) -> None:
        """Start a new segment (caller holds `lock`); the old one is synced and closed first."""
        with self.sync_lock:
            if self.fd is not None:
                os.fdatasync(self.fd)
                old = self.segments[-1]
                old.synced = old.size
                os.close(self.fd)
            path = self.dir / f"{first.ms:015d}-{first.seq:020d}.seg"
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            _fsync_dir(self.dir)
            self.segments.append(_Segment(path, first))

    def seal(self) -> Position | None:
        with self.lock:
            if not self.sealed:
                marker = self.dir / "sealed"
                marker.write_bytes(b"")
                _fsync_dir(self.dir)
                self.sealed = True
            self.cond.notify_all()
            # written, not durable: a record in flight is acknowledged after its sync, and is ≤ this
            return self.written

    def trim_before(self, ms: int) -> int:
        with self.lock:
            if ms <= self.trim_ms:
                return 0
            self.trim_ms = ms
            (self.dir / "trim").write_text(str(ms))
            dropped = 0
            # segment i holds only records older than its successor's first one
            while len(self.segments) > 1 and self.segments[1].first.ms < ms:
                seg = self.segments.pop(0)
                dropped += len(seg.index_pos)
                seg.path.unlink(missing_ok=True)
            return dropped

    # -- reading -------------------------------------------------------------------------------

    def read(self, start: Position, limit: int, max_bytes: int) -> list[StoredRecord]:
        with self.lock:
            if self.trim_ms and start < Position(self.trim_ms, 0):
                start = Position(self.trim_ms, 0)
            firsts = [s.first for s in self.segments]
            i = max(bisect.bisect_right(firsts, start) - 1, 0)
            plan = [
                (s.path, s.synced, s.offset_for(start) if j == i else 0)
                for j, s in enumerate(self.segments[i:], i)
            ]
        out: list[StoredRecord] = []
        total = 0
        for path, size, offset in plan:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # trimmed meanwhile: its records are past retention anyway
                continue
            try:
                while offset < size and len(out) < limit:
                    chunk = os.pread(fd, min(_READ_CHUNK, size - offset), offset)
                    pos_in = 0
                    while pos_in + _HEADER.size <= len(chunk):
                        ms, seq, klen, dlen, _crc = _HEADER.unpack_from(chunk, pos_in)
                        end = pos_in + _HEADER.size + klen + dlen
                        if end > len(chunk):
                            if pos_in == 0:  # one record bigger than the chunk
                                chunk = os.pread(fd, end, offset)
                                continue
                            break
                        pos = Position(ms, seq)
                        if pos >= start:
                            if out and total + dlen > max_bytes:
                                return out
                            k0 = pos_in + _HEADER.size
                            out.append(
                                StoredRecord(pos, chunk[k0 : k0 + klen].decode(), chunk[k0 + klen : end])
                            )
                            total += dlen
                            if len(out) >= limit:
                                return out
                        pos_in = end
                    offset += pos_in
            finally:
                os.close(fd)
        return out

    def wait(self, start: Position, timeout: float) -> bool:
        with self.cond:
            if self.last is not None and self.last >= start:
                return True
            if self.sealed:
                return False
            self.cond.wait(timeout)
            return self.last is not None and self.last >= start

    def close(self) -> None:
        with self.lock:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
            self.cond.notify_all()


class SegmentLog:
    """`ShardLog` over segment files under one root directory (one process owns the directory)."""

    def __init__(self, root: Path, *, segment_bytes: int = 64 * 1024 * 1024) -> None:
        self.root = root
        self.segment_bytes = segment_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._shards: dict[tuple[str, int], _Shard] = {}
        self._lock = threading.Lock()

    def _shard(self, stream_key: str, shard: int, *, create: bool = False) -> _Shard:
        key = (stream_key, shard)
        found = self._shards.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._shards.get(key)
            if found is None:
                directory = self.root / stream_key / str(shard)
                if create:
                    directory.mkdir(parents=True, exist_ok=True)
                    _fsync_dir(directory.parent)
                elif not directory.is_dir():
                    raise KeyError(f"no shard {shard} in {stream_key}")
                found = self._shards[key] = _Shard(directory, self.segment_bytes)
            return found

    def create_shard(self, stream_key: str, shard: int) -> None:
        self._shard(stream_key, shard, create=True)

    def append(
        self, stream_key: str, batches: Mapping[int, Sequence[NewRecord]]
    ) -> dict[int, list[Position]]:
        return {
            shard: self._shard(stream_key, shard, create=True).append(records, stream_key, shard)
            for shard, records in batches.items()
            if records
        }

    def read(
        self, stream_key: str, shard: int, start: Position, limit: int, max_bytes: int
    ) -> list[StoredRecord]:
        try:
            return self._shard(stream_key, shard).read(start, limit, max_bytes)
        except KeyError:
            return []

    def last_position(self, stream_key: str, shard: int) -> Position | None:
        try:
            return self._shard(stream_key, shard).last
        except KeyError:
            return None

    def seal(self, stream_key: str, shard: int) -> Position | None:
        return self._shard(stream_key, shard, create=True).seal()

    def trim_before(self, stream_key: str, shard: int, ms: int) -> int:
        try:
            return self._shard(stream_key, shard).trim_before(ms)
        except KeyError:
            return 0

    def delete_stream(self, stream_key: str, shards: Sequence[int]) -> None:
        with self._lock:
            for key in [k for k in self._shards if k[0] == stream_key]:
                self._shards.pop(key).close()
        shutil.rmtree(self.root / stream_key, ignore_errors=True)

    def wait(self, stream_key: str, shard: int, start: Position, timeout: float) -> bool:
        try:
            return self._shard(stream_key, shard).wait(start, timeout)
        except KeyError:
            time.sleep(min(timeout, 0.05))
            return False

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()


def _write_all(fd: int, buf: bytearray) -> None:
    view = memoryview(buf)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
