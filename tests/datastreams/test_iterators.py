"""Must-show 1: boto3 round trip for every iterator type on a 4-shard stream, 10,000 records, 200 keys."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from typing import Any

import pytest

N_RECORDS = 10_000
N_KEYS = 200


def _produce(kinesis: Any, stream: str, n: int, seed: int = 7) -> list[tuple[str, bytes, str, str]]:
    """PutRecords in batches of 500; returns (key, data, shard, sequence) in acknowledgement order."""
    rng = random.Random(seed)
    keys = [f"key-{rng.randrange(10**9)}" for _ in range(N_KEYS)]
    out: list[tuple[str, bytes, str, str]] = []
    for start in range(0, n, 500):
        batch = [(rng.choice(keys), f"rec-{i}".encode()) for i in range(start, min(n, start + 500))]
        resp = kinesis.put_records(
            StreamName=stream, Records=[{"Data": d, "PartitionKey": k} for k, d in batch]
        )
        assert resp["FailedRecordCount"] == 0
        for (k, d), r in zip(batch, resp["Records"], strict=True):
            out.append((k, d, r["ShardId"], r["SequenceNumber"]))
    return out


def _drain(kinesis: Any, iterator: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while iterator:
        resp = kinesis.get_records(ShardIterator=iterator, Limit=2000)
        got.extend(resp["Records"])
        if not resp["Records"] and resp["MillisBehindLatest"] == 0:
            break
        iterator = resp.get("NextShardIterator")
    return got


def _check_exactly_once_in_key_order(
    sent: list[tuple[str, bytes, str, str]], got: list[dict[str, Any]]
) -> None:
    assert sorted(r["Data"] for r in got) == sorted(d for _, d, _, _ in sent)
    by_key_sent: dict[str, list[bytes]] = defaultdict(list)
    for k, d, _, _ in sent:
        by_key_sent[k].append(d)
    by_key_got: dict[str, list[bytes]] = defaultdict(list)
    for r in got:
        by_key_got[r["PartitionKey"]].append(r["Data"])
    assert by_key_got == by_key_sent


def test_every_iterator_type_round_trip(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="it4", ShardCount=4)
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    shards = kinesis.list_shards(StreamName="it4")["Shards"]
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(4)]
    latest = {
        s["ShardId"]: kinesis.get_shard_iterator(
            StreamName="it4", ShardId=s["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        for s in shards
    }
    sent = _produce(kinesis, "it4", N_RECORDS)
    assert {s for _, _, s, _ in sent} == set(latest)
    # sequence numbers strictly increase per shard, in acknowledgement order
    per_shard: dict[str, list[int]] = defaultdict(list)
    for _, _, shard, seq in sent:
        per_shard[shard].append(int(seq))
    for seqs in per_shard.values():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(len(str(s)) == 56 for s in seqs)

    seqs_of: dict[str, set[str]] = defaultdict(set)
    for _, _, shard, seq in sent:
        seqs_of[shard].add(seq)
    for kind in ("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"):
        got: list[dict[str, Any]] = []
        for s in shards:
            sid = s["ShardId"]
            if kind == "LATEST":
                it = latest[sid]
            elif kind == "AT_TIMESTAMP":
                it = kinesis.get_shard_iterator(
                    StreamName="it4", ShardId=sid, ShardIteratorType=kind, Timestamp=t0
                )["ShardIterator"]
            else:
                it = kinesis.get_shard_iterator(StreamName="it4", ShardId=sid, ShardIteratorType=kind)[
                    "ShardIterator"
                ]
            records = _drain(kinesis, it)
            assert {r["SequenceNumber"] for r in records} <= seqs_of[sid]
            got.extend(records)
        _check_exactly_once_in_key_order(sent, got)

    # AT / AFTER_SEQUENCE_NUMBER from the 100th record of each shard
    for s in shards:
        sid = s["ShardId"]
        mine = [x for x in sent if x[2] == sid]
        pivot = mine[100][3]
        at = _drain(
            kinesis,
            kinesis.get_shard_iterator(
                StreamName="it4",
                ShardId=sid,
                ShardIteratorType="AT_SEQUENCE_NUMBER",
                StartingSequenceNumber=pivot,
            )["ShardIterator"],
        )
        after = _drain(
            kinesis,
            kinesis.get_shard_iterator(
                StreamName="it4",
                ShardId=sid,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=pivot,
            )["ShardIterator"],
        )
        assert [r["SequenceNumber"] for r in at] == [x[3] for x in mine[100:]]
        assert [r["SequenceNumber"] for r in after] == [x[3] for x in mine[101:]]
        assert isinstance(at[0]["ApproximateArrivalTimestamp"], dt.datetime)
        assert t0.timestamp() <= at[0]["ApproximateArrivalTimestamp"].timestamp() <= time.time()


def test_get_records_limit_and_millis_behind(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="lim", ShardCount=1)
    kinesis.put_records(
        StreamName="lim", Records=[{"Data": b"x%d" % i, "PartitionKey": "k"} for i in range(25)]
    )
    it = kinesis.get_shard_iterator(
        StreamName="lim", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    first = kinesis.get_records(ShardIterator=it, Limit=10)
    assert [r["Data"] for r in first["Records"]] == [b"x%d" % i for i in range(10)]
    assert first["MillisBehindLatest"] >= 0 and first["NextShardIterator"] != it
    rest = kinesis.get_records(ShardIterator=first["NextShardIterator"], Limit=100)
    assert [r["Data"] for r in rest["Records"]] == [b"x%d" % i for i in range(10, 25)]
    assert rest["MillisBehindLatest"] == 0
    empty = kinesis.get_records(ShardIterator=rest["NextShardIterator"])
    assert empty["Records"] == [] and empty["NextShardIterator"]


@pytest.mark.parametrize("kind", ["AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"])
def test_sequence_iterator_needs_a_number_of_that_shard(kinesis: Any, kind: str) -> None:
    from botocore.exceptions import ClientError

    kinesis.create_stream(StreamName="seqs", ShardCount=2)
    r = kinesis.put_record(StreamName="seqs", Data=b"a", PartitionKey="a")
    other = "shardId-000000000001" if r["ShardId"].endswith("0") else "shardId-000000000000"
    with pytest.raises(ClientError) as e:
        kinesis.get_shard_iterator(
            StreamName="seqs",
            ShardId=other,
            ShardIteratorType=kind,
            StartingSequenceNumber=r["SequenceNumber"],
        )
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.get_shard_iterator(StreamName="seqs", ShardId=r["ShardId"], ShardIteratorType=kind)
    assert e.value.response["Error"]["Code"] == "InvalidArgumentException"
