"""Redis Streams shard log, what only Redis has: several processes on one shard, exact MINID trimming,
a seal that is a clean cut against concurrent writers, blocking waits woken by another process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from tests.datastreams.conftest import drop_redis_prefix, unique_redis_url
from videolens.backends.datastreams.base import (
    ORIGIN,
    NewRecord,
    Position,
    ShardLog,
    ShardLogUnavailableError,
    ShardSealedError,
)
from videolens.backends.datastreams.redis_streams import RedisShardLog, split_url

STREAM = "abcdefghij0123456789-xyz"


@pytest.fixture
def url() -> Iterator[str]:
    url = unique_redis_url()
    yield url
    drop_redis_prefix(url)


@pytest.fixture
def log(url: str) -> Iterator[RedisShardLog]:
    shard_log = RedisShardLog(url)
    shard_log.create_shard(STREAM, 0)
    yield shard_log
    shard_log.close()


#: a writer process that imports only the backend (fast to start): appends PutRecords-sized batches
#: until done or sealed, then prints the positions it was acknowledged
WRITER = """
import json, sys
from videolens.backends.datastreams.base import NewRecord, ShardSealedError
from videolens.backends.datastreams.redis_streams import RedisShardLog
url, stream, name, batches, per_batch = sys.argv[1:6]
log = RedisShardLog(url)
positions = []
for b in range(int(batches)):
    n = int(per_batch)
    records = [NewRecord(name, f"{name}-{b * n + i}".encode()) for i in range(n)]
    try:
        positions += log.append(stream, {0: records})[0]
    except ShardSealedError:
        break
log.close()
print(json.dumps(positions))
"""


def _run_writers(url: str, names: list[str], batches: int, per_batch: int) -> dict[str, list[Position]]:
    procs = {
        n: subprocess.Popen(
            [sys.executable, "-c", WRITER, url, STREAM, n, str(batches), str(per_batch)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in names
    }
    out = {}
    for n, proc in procs.items():
        stdout, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0
        out[n] = [Position(*pos) for pos in json.loads(stdout)]
    return out


def test_it_is_a_shard_log(log: RedisShardLog) -> None:
    assert isinstance(log, ShardLog)


def test_url_prefix_is_ours_and_the_rest_reaches_redis_py() -> None:
    assert split_url("redis://h:1/3?prefix=a:b:&socket_timeout=2") == (
        "redis://h:1/3?socket_timeout=2",
        "a:b:",
    )
    assert split_url("redis://h:1/0") == ("redis://h:1/0", "videolens:ds:")


def test_two_processes_write_one_shard(log: RedisShardLog, url: str) -> None:
    written = _run_writers(url, ["p1", "p2"], batches=400, per_batch=25)
    records = log.read(STREAM, 0, ORIGIN, 100_000, 64 * 1024 * 1024)
    assert len(records) == 20_000
    positions = [r.position for r in records]
    assert positions == sorted(positions) and len(set(positions)) == 20_000  # strictly increasing
    # the two really wrote at the same time: their appends interleave
    assert min(written["p2"]) < max(written["p1"]) and min(written["p1"]) < max(written["p2"])
    assert sorted(positions) == sorted(written["p1"] + written["p2"])
    for name in ("p1", "p2"):
        mine = [r.data.decode() for r in records if r.partition_key == name]
        assert mine == [f"{name}-{i}" for i in range(10_000)]  # each writer's order kept
        assert {r.position for r in records if r.partition_key == name} == set(written[name])
    assert log.last_position(STREAM, 0) == positions[-1]


def test_seal_is_a_clean_cut_against_writers_in_other_processes(log: RedisShardLog, url: str) -> None:
    result: dict[str, dict[str, list[Position]]] = {}
    thread = threading.Thread(
        target=lambda: result.update(w=_run_writers(url, ["p1", "p2"], batches=2000, per_batch=10))
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not log.read(STREAM, 0, ORIGIN, 300, 1 << 20)[299:] and time.monotonic() < deadline:
        time.sleep(0.01)
    last = log.seal(STREAM, 0)
    thread.join(120)
    acknowledged = result["w"]["p1"] + result["w"]["p2"]
    assert last is not None and max(acknowledged) == last  # nothing acknowledged after the cut
    stored = log.read(STREAM, 0, ORIGIN, 100_000, 1 << 30)
    assert [r.position for r in stored] == sorted(acknowledged)
    assert len(acknowledged) < 40_000  # the writers were stopped by the seal, not done before it
    with pytest.raises(ShardSealedError):
        log.append(STREAM, {0: [NewRecord("late", b"x")]})
    assert log.seal(STREAM, 0) == last  # idempotent


def test_minid_trim_is_exact(log: RedisShardLog) -> None:
    # 250 entries fit in few macro nodes: an approximate (~) trim would leave them all
    old = log.append(STREAM, {0: [NewRecord("k", b"old%d" % i) for i in range(250)]})[0]
    while int(time.time() * 1000) <= old[-1].ms:
        time.sleep(0.001)
    new = log.append(STREAM, {0: [NewRecord("k", b"new%d" % i) for i in range(7)]})[0]
    assert new[0].ms > old[-1].ms
    assert log.trim_before(STREAM, 0, new[0].ms) == 250
    kept = log.read(STREAM, 0, ORIGIN, 1000, 1 << 20)
    assert [r.position for r in kept] == new
    assert [r.data for r in kept] == [b"new%d" % i for i in range(7)]
    # trimming at the newest record's ms keeps it: only ms strictly below the cut goes
    assert log.trim_before(STREAM, 0, new[0].ms) == 0
    # everything trimmed: positions still continue above the old ones
    assert log.trim_before(STREAM, 0, new[-1].ms + 1) == 7
    assert log.read(STREAM, 0, ORIGIN, 1000, 1 << 20) == []
    assert log.last_position(STREAM, 0) == new[-1]
    again = log.append(STREAM, {0: [NewRecord("k", b"after")]})[0]
    assert again[0] > new[-1]


def test_a_new_process_sees_the_records_and_continues_the_positions(log: RedisShardLog, url: str) -> None:
    first = log.append(STREAM, {0: [NewRecord("a", b"1"), NewRecord("b", b"2")]})[0]
    log.close()
    reopened = RedisShardLog(url)
    try:
        assert [r.data for r in reopened.read(STREAM, 0, ORIGIN, 10, 1 << 20)] == [b"1", b"2"]
        assert reopened.last_position(STREAM, 0) == first[-1]
        later = _run_writers(url, ["p3"], batches=1, per_batch=3)["p3"]
        assert min(later) > first[-1]
    finally:
        reopened.close()


def test_wait_is_woken_by_another_process(log: RedisShardLog, url: str) -> None:
    start = ORIGIN
    assert log.wait(STREAM, 0, start, 0.05) is False
    woke: list[float] = []

    def waiter() -> None:
        if log.wait(STREAM, 0, start, 30):
            woke.append(time.monotonic())

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    _run_writers(url, ["p4"], batches=1, per_batch=1)
    done = time.monotonic()
    thread.join(30)
    assert woke and woke[0] <= done + 0.5
    pos = log.read(STREAM, 0, ORIGIN, 10, 100)[0].position
    assert log.wait(STREAM, 0, pos, 0.05) is True
    assert log.wait(STREAM, 0, pos.next(), 0.05) is False


def test_reads_respect_limit_and_byte_budget(log: RedisShardLog) -> None:
    pos = log.append(STREAM, {0: [NewRecord("k", bytes(1000)) for _ in range(2500)]})[0]
    assert len(log.read(STREAM, 0, ORIGIN, 2200, 1 << 30)) == 2200  # over several XRANGE chunks
    assert len(log.read(STREAM, 0, ORIGIN, 10_000, 10_500)) == 10
    assert len(log.read(STREAM, 0, ORIGIN, 10_000, 10)) == 1  # always one when one is there
    assert [r.position for r in log.read(STREAM, 0, pos[5], 3, 1 << 20)] == pos[5:8]
    assert log.read(STREAM, 0, pos[-1].next(), 10, 1 << 20) == []


def test_shards_and_streams_are_apart(log: RedisShardLog) -> None:
    log.append(STREAM, {0: [NewRecord("a", b"0")], 1: [NewRecord("b", b"1")]})
    log.append("other0123456789abcde-abc", {0: [NewRecord("c", b"2")]})
    assert [r.data for r in log.read(STREAM, 1, ORIGIN, 10, 100)] == [b"1"]
    log.delete_stream(STREAM, [0, 1])
    assert log.read(STREAM, 0, ORIGIN, 10, 100) == []
    assert log.last_position(STREAM, 1) is None
    assert [r.data for r in log.read("other0123456789abcde-abc", 0, ORIGIN, 10, 100)] == [b"2"]


def test_redis_down_is_unavailable_not_a_crash() -> None:
    with redis.Redis() as probe:
        probe.ping()  # the real server is up; the closed port below is what is unreachable
    dead = RedisShardLog("redis://127.0.0.1:1/0?prefix=vltest:dead:")
    try:
        with pytest.raises(ShardLogUnavailableError):
            dead.append(STREAM, {0: [NewRecord("a", b"x")]})
        with pytest.raises(ShardLogUnavailableError):
            dead.read(STREAM, 0, ORIGIN, 1, 1)
    finally:
        dead.close()
