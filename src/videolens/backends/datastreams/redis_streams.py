"""The Redis Streams shard log: one Redis stream per shard, positions are the stream entry IDs.

Layout (prefix from the URL's `?prefix=`, default `videolens:ds:`): shard `n` of stream `sid` is the
stream `<prefix>{<sid>:<n>}`, each entry holding fields `k` (partition key) and `d` (data); the flag
`<prefix>{<sid>:<n>}:sealed` marks a closed shard. The `{...}` hash tag keeps both keys in one slot so
the scripts below also run on Redis Cluster.

Guarantees:
- An append is one Lua script per shard (all shards of a call in one pipeline, one round trip): the
  sealed check and every XADD run atomically on the server, so several videolens processes may write
  the same shard and `seal` is a clean cut — no append lands after the position `seal` returned.
- IDs are minted by the server (`XADD *`), not by the client: Redis never hands out an ID at or below
  the stream's last-generated ID, even when its clock steps back or a writer's clock is ahead, so
  positions (and the sequence numbers made from them) are strictly increasing per shard across
  processes and restarts. `ms` is the Redis server's clock: the arrival time.
- Retention is `XTRIM MINID <ms>-0` with exact trimming (never `~`), so no record younger than the
  cut is hidden and none older survives. The stream key (with its last-generated ID) outlives an
  empty stream, so trimming everything never resets positions.
- Durable means acknowledged by Redis; what survives a Redis crash is Redis' own policy (run it with
  `appendonly yes`, `appendfsync always` for fsync-per-write like the embedded log).
- `wait` is `XREAD BLOCK` on a pooled connection: it wakes when any process appends.
Connection failures and Redis errors surface as `ShardLogUnavailableError`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

import redis

from videolens.backends.datastreams.base import (
    NewRecord,
    Position,
    ShardLogUnavailableError,
    ShardSealedError,
    StoredRecord,
)

DEFAULT_PREFIX = "videolens:ds:"
#: entries fetched per XRANGE round trip when a read walks towards its limit / byte budget
READ_CHUNK = 1000
#: a Redis that answers nothing for this long is down; blocking reads stay well below it
SOCKET_TIMEOUT = 15.0
MAX_BLOCK_S = 5.0
MAX_SEQ = 2**64 - 1
_SEALED = 0  # what the append script answers for a sealed shard (an ID list otherwise)

# KEYS[1] stream, KEYS[2] sealed flag; ARGV = k1, d1, k2, d2, ...
_APPEND = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local ids = {}
for i = 1, #ARGV, 2 do
  ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'k', ARGV[i], 'd', ARGV[i + 1])
end
return ids
"""

# KEYS[1] stream, KEYS[2] sealed flag; ARGV[1] "1" to seal first. Answers the last-generated ID or false.
_LAST_ID = """
if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1') end
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then return info[i + 1] end
end
return false
"""


def split_url(url: str) -> tuple[str, str]:
    """(the URL redis-py understands, the key prefix): `?prefix=` is ours, redis-py would reject it."""
    parsed = urlparse(url)
    query = parse_qsl(parsed.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), DEFAULT_PREFIX)
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunparse(parsed._replace(query=rest)), prefix


def _position(raw: bytes | str) -> Position:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return Position(int(ms), int(seq))


def _stream_id(pos: Position) -> str:
    """A Position as an XRANGE start; `Position.next()` past the last seq of a ms rolls to the next ms."""
    if pos.seq > MAX_SEQ:
        return f"{pos.ms + 1}-0"
    return f"{pos.ms}-{pos.seq}"


def _id_before(pos: Position) -> str:
    """The largest ID below `pos` (XREAD is exclusive of the ID it is given)."""
    if pos.seq > MAX_SEQ:
        return f"{pos.ms}-{MAX_SEQ}"
    if pos.seq > 0:
        return f"{pos.ms}-{pos.seq - 1}"
    if pos.ms > 0:
        return f"{pos.ms - 1}-{MAX_SEQ}"
    return "0-0"


class RedisShardLog:
    """`ShardLog` on Redis Streams; thread-safe (redis-py's connection pool), shareable by processes."""

    def __init__(self, url: str) -> None:
        redis_url, self.prefix = split_url(url)
        self.redis: redis.Redis = redis.Redis.from_url(
            redis_url, socket_connect_timeout=5, socket_timeout=SOCKET_TIMEOUT, health_check_interval=30
        )
        self._append = self.redis.register_script(_APPEND)
        self._last_id = self.redis.register_script(_LAST_ID)

    def keys(self, stream_key: str, shard: int) -> tuple[str, str]:
        stream = f"{self.prefix}{{{stream_key}:{shard}}}"
        return stream, stream + ":sealed"

    def create_shard(self, stream_key: str, shard: int) -> None:
        # a Redis stream comes into being with its first XADD; stream keys are never reused, so
        # there is nothing to reset — only check that the server is there
        with _unavailable():
            self.redis.ping()

    def append(
        self, stream_key: str, batches: Mapping[int, Sequence[NewRecord]]
    ) -> dict[int, list[Position]]:
        shards = [shard for shard, records in batches.items() if records]
        with _unavailable():
            pipe = self.redis.pipeline(transaction=False)
            for shard in shards:
                args: list[Any] = []
                for record in batches[shard]:
                    args += (record.partition_key, record.data)
                self._append(keys=self.keys(stream_key, shard), args=args, client=pipe)
            answers = pipe.execute()
        out: dict[int, list[Position]] = {shard: [] for shard in batches}
        sealed: int | None = None
        for shard, answer in zip(shards, answers, strict=True):
            if answer == _SEALED:
                sealed = shard
                continue
            out[shard] = [_position(raw) for raw in answer]
        if sealed is not None:
            raise ShardSealedError(stream_key, sealed)
        return out

    def read(
        self, stream_key: str, shard: int, start: Position, limit: int, max_bytes: int
    ) -> list[StoredRecord]:
        key = self.keys(stream_key, shard)[0]
        out: list[StoredRecord] = []
        size = 0
        low = _stream_id(start)
        with _unavailable():
            while len(out) < limit:
                want = min(READ_CHUNK, limit - len(out))
                # decode_responses is off: IDs and field values are bytes
                entries = cast(list[Any], self.redis.xrange(key, min=low, max="+", count=want))
                for raw_id, fields in entries:
                    data = fields.get(b"d", b"")
                    if out and size + len(data) > max_bytes:
                        return out
                    size += len(data)
                    out.append(StoredRecord(_position(raw_id), fields.get(b"k", b"").decode(), data))
                if len(entries) < want:
                    break
                low = "(" + entries[-1][0].decode()  # exclusive start after the last entry read
        return out

    def last_position(self, stream_key: str, shard: int) -> Position | None:
        return self._last(stream_key, shard, seal=False)

    def seal(self, stream_key: str, shard: int) -> Position | None:
        return self._last(stream_key, shard, seal=True)

    def _last(self, stream_key: str, shard: int, *, seal: bool) -> Position | None:
        with _unavailable():
            raw = self._last_id(keys=self.keys(stream_key, shard), args=["1" if seal else "0"])
        if not raw:
            return None
        pos = _position(raw)
        return None if pos == (0, 0) else pos

    def trim_before(self, stream_key: str, shard: int, ms: int) -> int:
        with _unavailable():
            dropped = self.redis.xtrim(
                self.keys(stream_key, shard)[0], minid=f"{max(ms, 0)}-0", approximate=False
            )
        return int(dropped)

    def delete_stream(self, stream_key: str, shards: Sequence[int]) -> None:
        names = [name for shard in shards for name in self.keys(stream_key, shard)]
        if names:
            with _unavailable():
                self.redis.delete(*names)

    def wait(self, stream_key: str, shard: int, start: Position, timeout: float) -> bool:
        if timeout <= 0:
            return bool(self.read(stream_key, shard, start, 1, 1))
        key = self.keys(stream_key, shard)[0]
        deadline = time.monotonic() + timeout
        with _unavailable():
            while True:
                left = deadline - time.monotonic()
                # BLOCK 0 would mean forever: at least 1 ms, at most MAX_BLOCK_S per round trip
                block_ms = max(1, int(min(left, MAX_BLOCK_S) * 1000))
                if self.redis.xread({key: _id_before(start)}, count=1, block=block_ms):
                    return True
                if left <= MAX_BLOCK_S:
                    return False

    def close(self) -> None:
        self.redis.close()
        self.redis.connection_pool.disconnect()


@contextmanager
def _unavailable() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise ShardLogUnavailableError(f"Redis: {exc}") from exc
