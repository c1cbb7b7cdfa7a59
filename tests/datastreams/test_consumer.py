"""The consumer helper (`videolens.consumer`): every record exactly once and in per-key order across
resharding, resumption from file checkpoints, start positions, the Lambda event shape — through boto3
against a real server and in-process on the service, on both shard-log backends."""

from __future__ import annotations

import base64
import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningServer
from videolens.consumer import (
    SHARD_END,
    FileCheckpoints,
    KinesisSource,
    MemoryCheckpoints,
    Record,
    ServiceSource,
    StreamConsumer,
    start_kind,
)
from videolens.container import Container


def put(kinesis: Any, stream: str, items: list[tuple[str, bytes]]) -> list[str]:
    """PutRecords in batches of 500; returns the sequence numbers (all must succeed)."""
    seqs: list[str] = []
    for i in range(0, len(items), 500):
        chunk = items[i : i + 500]
        answer = kinesis.put_records(
            StreamName=stream, Records=[{"PartitionKey": k, "Data": d} for k, d in chunk]
        )
        assert answer.get("FailedRecordCount", 0) == 0
        seqs += [r["SequenceNumber"] for r in answer["Records"]]
    return seqs


def check_exactly_once_in_key_order(got: list[Record], sent: list[tuple[str, bytes]]) -> None:
    assert sorted(r.data for r in got) == sorted(d for _, d in sent)  # nothing lost, nothing twice
    per_key: dict[str, list[bytes]] = defaultdict(list)
    for r in got:
        per_key[r.partition_key].append(r.data)
    expected: dict[str, list[bytes]] = defaultdict(list)
    for k, d in sent:
        expected[k].append(d)
    assert per_key == expected


def workload(n: int, keys: int, tag: str, seed: int = 7) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [(f"key-{rng.randrange(keys)}", f"{tag}-{i}".encode()) for i in range(n)]


def test_reads_everything_once_across_split_merge_and_update_shard_count(
    kinesis: Any, tmp_path: Path
) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=4)
    sent = workload(2000, 200, "a")
    put(kinesis, "s", sent)
    checkpoints = FileCheckpoints(tmp_path / "ckpt.json")
    consumer = StreamConsumer(KinesisSource(kinesis, "s"), checkpoints=checkpoints, limit=300)
    got = list(consumer.records(follow=False))
    check_exactly_once_in_key_order(got, sent)

    # reshard while a producer writes: split, merge, then a uniform scale
    shards = kinesis.list_shards(StreamName="s")["Shards"]
    first = shards[0]
    middle = (
        int(first["HashKeyRange"]["StartingHashKey"]) + int(first["HashKeyRange"]["EndingHashKey"])
    ) // 2
    more: list[tuple[str, bytes]] = []
    more_parts = [workload(300, 200, f"b{i}", seed=i) for i in range(4)]
    put(kinesis, "s", more_parts[0])
    kinesis.split_shard(StreamName="s", ShardToSplit=first["ShardId"], NewStartingHashKey=str(middle))
    put(kinesis, "s", more_parts[1])
    halves = [
        s for s in kinesis.list_shards(StreamName="s")["Shards"] if s.get("ParentShardId") == first["ShardId"]
    ]
    kinesis.merge_shards(
        StreamName="s", ShardToMerge=halves[0]["ShardId"], AdjacentShardToMerge=halves[1]["ShardId"]
    )
    put(kinesis, "s", more_parts[2])
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    put(kinesis, "s", more_parts[3])
    for part in more_parts:
        more += part

    resumed = StreamConsumer(KinesisSource(kinesis, "s"), checkpoints=FileCheckpoints(tmp_path / "ckpt.json"))
    got_more = list(resumed.records(follow=False))
    check_exactly_once_in_key_order(got_more, more)
    closed = [
        s["ShardId"]
        for s in kinesis.list_shards(StreamName="s")["Shards"]
        if "EndingSequenceNumber" in s["SequenceNumberRange"]
    ]
    assert len(closed) >= 4
    stored = FileCheckpoints(tmp_path / "ckpt.json")
    assert all(stored.get(sid) == SHARD_END for sid in closed)


def test_resumes_from_file_checkpoints_without_gap(kinesis: Any, tmp_path: Path) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=2)
    sent = workload(1500, 40, "r")
    put(kinesis, "s", sent)
    path = tmp_path / "ckpt.json"
    first: list[Record] = []
    for i, batch in enumerate(
        StreamConsumer(KinesisSource(kinesis, "s"), checkpoints=FileCheckpoints(path), limit=100).batches(
            follow=False
        )
    ):
        first += batch.records
        if i == 4:
            break  # a crash while the 5th batch is in hand: it was not checkpointed
    assert len(first) == 500
    rest = list(
        StreamConsumer(KinesisSource(kinesis, "s"), checkpoints=FileCheckpoints(path), limit=100).records(
            follow=False
        )
    )
    assert {r.data for r in first} | {r.data for r in rest} == {d for _, d in sent}
    twice = {r.data for r in first} & {r.data for r in rest}
    assert len(twice) == 100  # exactly the batch in hand at the crash comes again
    assert len(rest) == 1500 - 400


def test_start_latest_and_timestamp(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=3)
    put(kinesis, "s", workload(200, 20, "old"))
    time.sleep(0.05)
    middle = datetime.now(UTC)
    time.sleep(0.05)
    latest = StreamConsumer(KinesisSource(kinesis, "s"), start="latest")
    reader = latest.records(follow=True)
    newer = workload(150, 20, "new")
    got: list[Record] = []

    def produce() -> None:
        time.sleep(0.3)  # after the consumer fixed its LATEST iterators
        put(kinesis, "s", newer)

    threading.Thread(target=produce).start()
    for record in reader:
        got.append(record)
        if len(got) == len(newer):
            latest.stop()
    check_exactly_once_in_key_order(got, newer)
    since = list(StreamConsumer(KinesisSource(kinesis, "s"), start=middle.isoformat()).records(follow=False))
    check_exactly_once_in_key_order(since, newer)


def test_lambda_event_shape(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    seqs = put(kinesis, "s", [("k1", b'{"face": 1}'), ("k2", b"\x00\x01")])
    events: list[dict[str, Any]] = []
    StreamConsumer(KinesisSource(kinesis, "s")).run(events.append, follow=False)
    assert len(events) == 1
    first, second = events[0]["Records"]
    assert first["eventSource"] == "aws:kinesis" and first["eventName"] == "aws:kinesis:record"
    assert first["eventSourceARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/s"
    assert first["eventID"] == f"shardId-000000000000:{seqs[0]}" and first["awsRegion"] == "us-east-1"
    assert first["kinesis"]["partitionKey"] == "k1" and first["kinesis"]["sequenceNumber"] == seqs[0]
    assert base64.b64decode(first["kinesis"]["data"]) == b'{"face": 1}'
    assert base64.b64decode(second["kinesis"]["data"]) == b"\x00\x01"
    assert abs(first["kinesis"]["approximateArrivalTimestamp"] - time.time()) < 30


def test_in_process_on_the_service_follows_a_live_producer(ds_container: Container) -> None:
    svc = ds_container.datastreams
    svc.create_stream("live", 2)
    consumer = StreamConsumer(ServiceSource(svc, "live"), checkpoints=MemoryCheckpoints(), idle_s=0.02)
    sent = workload(300, 30, "l")
    got: list[Record] = []

    def produce() -> None:
        from videolens.services.datastreams.models import PutRecordInput

        for i in range(0, len(sent), 50):
            svc.put_records([PutRecordInput(d, k) for k, d in sent[i : i + 50]], "live")
            time.sleep(0.02)

    producer = threading.Thread(target=produce)
    producer.start()
    for record in consumer.records(follow=True):
        got.append(record)
        if len(got) == len(sent):
            consumer.stop()
    producer.join()
    check_exactly_once_in_key_order(got, sent)
    assert {r.shard_id for r in got} == {"shardId-000000000000", "shardId-000000000001"}


def test_start_words() -> None:
    assert start_kind("trim-horizon") == ("TRIM_HORIZON", None)
    assert start_kind("LATEST") == ("LATEST", None)
    assert start_kind("2026-01-02T03:04:05Z") == (
        "AT_TIMESTAMP",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp(),
    )
    assert start_kind("2026-01-02T03:04:05") == start_kind("2026-01-02T03:04:05+00:00")
    with pytest.raises(ValueError, match="trim-horizon, latest or an ISO timestamp"):
        start_kind("yesterday")


def test_from_endpoint(ds_server: RunningServer, kinesis: Any) -> None:
    kinesis.create_stream(StreamName="s", ShardCount=1)
    put(kinesis, "s", [("k", b"one")])
    consumer = StreamConsumer.from_endpoint(ds_server.url, "s")
    assert [r.data for r in consumer.records(follow=False)] == [b"one"]
