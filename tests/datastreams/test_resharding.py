"""Must-show 2: split → merge → UpdateShardCount while a producer writes; a consumer following
ChildShards reads every record exactly once, in order per partition key."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from typing import Any

from tests.datastreams.conftest import kinesis_client


def _consume_all(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    """Read parents before children (a child starts only once all its parents reached their end)."""
    shards = kinesis.list_shards(StreamName=stream)["Shards"]
    known = {s["ShardId"]: s for s in shards}
    done: set[str] = set()
    got: list[dict[str, Any]] = []
    todo = [s["ShardId"] for s in shards if not s.get("ParentShardId") or s["ParentShardId"] not in known]
    parents: dict[str, list[str]] = {
        s["ShardId"]: [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p]
        for s in shards
    }
    while todo:
        sid = next(s for s in todo if all(p in done or p not in known for p in parents.get(s, [])))
        todo.remove(sid)
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=sid, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while it:
            resp = kinesis.get_records(ShardIterator=it, Limit=1000)
            got.extend(resp["Records"])
            if "ChildShards" in resp:
                for child in resp["ChildShards"]:
                    parents[child["ShardId"]] = child["ParentShards"]
                    if child["ShardId"] not in todo and child["ShardId"] not in done:
                        todo.append(child["ShardId"])
            it = resp.get("NextShardIterator")
            if it and not resp["Records"] and resp["MillisBehindLatest"] == 0:
                break  # an open shard read to its tip
        done.add(sid)
    return got


def test_reshard_while_producing(ds_server: Any, kinesis: Any) -> None:
    kinesis.create_stream(StreamName="rs", ShardCount=2)
    sent: list[tuple[str, bytes]] = []
    stop = threading.Event()
    producer = kinesis_client(ds_server.url)

    def produce() -> None:
        i = 0
        while not stop.is_set():
            batch = [(f"k{(i + j) % 37}", f"r{i + j}".encode()) for j in range(50)]
            resp = producer.put_records(
                StreamName="rs", Records=[{"Data": d, "PartitionKey": k} for k, d in batch]
            )
            assert resp["FailedRecordCount"] == 0
            sent.extend(batch)
            i += 50

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        time.sleep(0.3)
        kinesis.split_shard(
            StreamName="rs", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126)
        )
        time.sleep(0.3)
        # shards 2 and 3 are the two halves of shard 0: merge them back
        kinesis.merge_shards(
            StreamName="rs", ShardToMerge="shardId-000000000002", AdjacentShardToMerge="shardId-000000000003"
        )
        time.sleep(0.3)
        resp = kinesis.update_shard_count(StreamName="rs", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
        assert (resp["CurrentShardCount"], resp["TargetShardCount"]) == (2, 4)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join()
    shards = kinesis.list_shards(StreamName="rs")["Shards"]
    assert len([s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]) == 4
    merged = next(s for s in shards if s["ShardId"] == "shardId-000000000004")
    assert {merged["ParentShardId"], merged["AdjacentParentShardId"]} == {
        "shardId-000000000002",
        "shardId-000000000003",
    }

    got = _consume_all(kinesis, "rs")
    assert len(sent) > 500
    assert sorted(r["Data"] for r in got) == sorted(d for _, d in sent)
    want: dict[str, list[bytes]] = defaultdict(list)
    for k, d in sent:
        want[k].append(d)
    have: dict[str, list[bytes]] = defaultdict(list)
    for r in got:
        have[r["PartitionKey"]].append(r["Data"])
    assert have == want
