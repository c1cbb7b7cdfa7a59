"""Scale-out on Redis: two `videolens serve` processes (one PostgreSQL metadata store, one Redis) write
and reshard the same stream; SIGKILL of a server during a put loop loses no acknowledged record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import free_port
from tests.datastreams.conftest import drop_redis_prefix, kinesis_client, unique_redis_url
from videolens.consumer import KinesisSource, StreamConsumer

pytestmark = pytest.mark.postgres


class Serve:
    """A `videolens serve` child process on the shared PostgreSQL + Redis."""

    def __init__(self, data_dir: Path, db_url: str, ds_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VIDEOLENS_DATA_DIR": str(data_dir),
            "VIDEOLENS_DATABASE_URL": db_url,
            "VIDEOLENS_DATASTREAMS_URL": ds_url,
            "VIDEOLENS_DATASTREAMS_ENFORCE_LIMITS": "false",
            "VIDEOLENS_JOB_WORKERS": "0",
            "VIDEOLENS_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Serve:
        binary = str(Path(sys.executable).parent / "videolens")
        self.process = subprocess.Popen([binary, "serve", "--port", str(self.port)], env=self.env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("videolens serve did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def shared(postgres_url: str) -> Iterator[tuple[str, str]]:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:  # every test from an empty schema
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    ds_url = unique_redis_url()
    yield postgres_url, ds_url
    drop_redis_prefix(ds_url)


@pytest.fixture
def servers(shared: tuple[str, str], tmp_path: Path) -> Iterator[list[Serve]]:
    db_url, ds_url = shared
    first = Serve(tmp_path / "a", db_url, ds_url).start()  # migrates the schema alone
    second = Serve(tmp_path / "b", db_url, ds_url).start()
    yield [first, second]
    for s in (first, second):
        s.stop()


def test_two_servers_write_and_reshard_one_stream(servers: list[Serve]) -> None:
    a, b = (kinesis_client(s.url) for s in servers)
    a.create_stream(StreamName="shared", ShardCount=2)
    sent: dict[str, list[bytes]] = defaultdict(list)
    lock = threading.Lock()
    errors: list[str] = []

    def produce(client: Any, tag: str) -> None:
        for i in range(40):
            batch = [(f"{tag}-key-{j % 8}", f"{tag}-{i}-{j}".encode()) for j in range(25)]
            try:
                answer = client.put_records(
                    StreamName="shared", Records=[{"PartitionKey": k, "Data": d} for k, d in batch]
                )
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(exc))
                continue
            with lock:
                for (k, d), r in zip(batch, answer["Records"], strict=True):
                    if "SequenceNumber" in r:
                        sent[k].append(d)
                    else:
                        errors.append(r["ErrorCode"])

    writers = [threading.Thread(target=produce, args=(c, t)) for c, t in ((a, "a"), (b, "b"))]
    for w in writers:
        w.start()
    time.sleep(0.5)
    # server A reshards while B (with its own view of the shards) keeps writing
    a.split_shard(StreamName="shared", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    for w in writers:
        w.join(120)
    assert not errors
    assert sum(len(v) for v in sent.values()) == 2000

    got = list(StreamConsumer(KinesisSource(b, "shared")).records(follow=False))
    per_key: dict[str, list[bytes]] = defaultdict(list)
    for r in got:
        per_key[r.partition_key].append(r.data)
    assert per_key == sent  # every acknowledged record once, in order per key, whichever server took it
    by_shard: dict[str, list[int]] = defaultdict(list)
    for r in got:
        by_shard[r.shard_id].append(int(r.sequence_number))
    assert all(seqs == sorted(seqs) and len(set(seqs)) == len(seqs) for seqs in by_shard.values())
    assert len(by_shard) >= 2


def test_sigkill_during_put_loop_keeps_every_acknowledged_record(
    shared: tuple[str, str], tmp_path: Path
) -> None:
    db_url, ds_url = shared
    server = Serve(tmp_path / "a", db_url, ds_url).start()
    client = kinesis_client(server.url)
    client.create_stream(StreamName="k", ShardCount=2)
    acked: list[tuple[str, str, bytes]] = []
    stop = threading.Event()

    def loop() -> None:
        i = 0
        while not stop.is_set():
            data = b"rec-%06d" % i
            try:
                r = client.put_record(StreamName="k", PartitionKey=f"p{i % 5}", Data=data)
            except Exception:  # noqa: BLE001 - the server is being killed: the put was not acknowledged
                return
            acked.append((r["ShardId"], r["SequenceNumber"], data))
            i += 1

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    thread.join(30)
    assert len(acked) > 20

    restarted = Serve(tmp_path / "a", db_url, ds_url).start()
    try:
        again = kinesis_client(restarted.url)
        got = list(StreamConsumer(KinesisSource(again, "k")).records(follow=False))
        stored = {(r.shard_id, r.sequence_number, r.data) for r in got}
        assert set(acked) <= stored  # nothing acknowledged is lost
        last = {shard: max(int(s) for sh, s, _ in acked if sh == shard) for shard, _, _ in acked}
        after = [again.put_record(StreamName="k", PartitionKey=f"p{i}", Data=b"after") for i in range(10)]
        for r in after:
            if r["ShardId"] in last:
                assert int(r["SequenceNumber"]) > last[r["ShardId"]]  # sequence numbers go on increasing
    finally:
        restarted.stop()
