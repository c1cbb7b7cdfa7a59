"""Must-show 3: SubscribeToShard through boto3 receives records as they are put (p50/p99 recorded)."""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_subscribe_to_shard_pushes_records(kinesis: Any, capsys: pytest.CaptureFixture[str]) -> None:
    kinesis.create_stream(StreamName="sub", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="sub")["StreamDescriptionSummary"]["StreamARN"]
    consumer = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c1")["Consumer"]
    assert consumer["ConsumerStatus"] == "ACTIVE"
    assert kinesis.list_stream_consumers(StreamARN=arn)["Consumers"][0]["ConsumerName"] == "c1"
    resp = kinesis.subscribe_to_shard(
        ConsumerARN=consumer["ConsumerARN"],
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "LATEST"},
    )
    sent_at: dict[bytes, float] = {}
    latencies: list[float] = []
    received: list[bytes] = []
    n = 50
    ready = threading.Event()

    def read() -> None:
        for event in resp["EventStream"]:
            ready.set()
            ev = event["SubscribeToShardEvent"]
            assert ev["ContinuationSequenceNumber"]
            for r in ev["Records"]:
                latencies.append(time.perf_counter() - sent_at[r["Data"]])
                received.append(r["Data"])
            if len(received) >= n:
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert ready.wait(10)
    for i in range(n):
        data = b"ev%d" % i
        sent_at[data] = time.perf_counter()
        kinesis.put_record(StreamName="sub", Data=data, PartitionKey="k")
        time.sleep(0.02)
    reader.join(20)
    assert received == [b"ev%d" % i for i in range(n)]
    p50 = statistics.median(latencies)
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1]
    with capsys.disabled():
        print(f"\nSubscribeToShard put→event latency: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    # the speed figures belong to bench/datastreams.py; here: pushed, not polled every second
    assert p50 < 0.5
    resp["EventStream"].close()
    kinesis.deregister_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_subscribe_from_trim_horizon_and_unknown_consumer(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="sub2", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="sub2")["StreamDescriptionSummary"]["StreamARN"]
    kinesis.put_records(
        StreamName="sub2", Records=[{"Data": b"x%d" % i, "PartitionKey": "k"} for i in range(5)]
    )
    c = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c2")["Consumer"]
    resp = kinesis.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"],
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "TRIM_HORIZON"},
    )
    for event in resp["EventStream"]:
        records = event["SubscribeToShardEvent"]["Records"]
        if records:
            assert [r["Data"] for r in records] == [b"x%d" % i for i in range(5)]
            assert (
                event["SubscribeToShardEvent"]["ContinuationSequenceNumber"] == records[-1]["SequenceNumber"]
            )
            break
    resp["EventStream"].close()
    with pytest.raises(ClientError) as e:
        kinesis.subscribe_to_shard(
            ConsumerARN=c["ConsumerARN"].replace("/consumer/c2", "/consumer/zz"),
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        kinesis.delete_stream(StreamName="sub2")
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    kinesis.delete_stream(StreamName="sub2", EnforceConsumerDeletion=True)


def test_subscription_ends_with_child_shards_after_a_split(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="sub3", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="sub3")["StreamDescriptionSummary"]["StreamARN"]
    c = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c3")["Consumer"]
    resp = kinesis.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"],
        ShardId="shardId-000000000000",
        StartingPosition={"Type": "TRIM_HORIZON"},
    )
    kinesis.put_record(StreamName="sub3", Data=b"before", PartitionKey="k")
    kinesis.split_shard(
        StreamName="sub3", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    kinesis.put_record(StreamName="sub3", Data=b"after", PartitionKey="k")
    seen: list[bytes] = []
    children = None
    started = time.monotonic()
    for event in resp["EventStream"]:
        ev = event["SubscribeToShardEvent"]
        seen.extend(r["Data"] for r in ev["Records"])
        if "ChildShards" in ev:
            children = ev["ChildShards"]
        assert time.monotonic() - started < 30
    # the stream ended by itself after the closed shard's last record and its children
    assert seen == [b"before"]
    assert children is not None
    assert sorted(ch["ShardId"] for ch in children) == ["shardId-000000000001", "shardId-000000000002"]
    assert all(ch["ParentShards"] == ["shardId-000000000000"] for ch in children)


def test_subscription_lifetime_is_a_setting(tmp_path: Any, models: Any) -> None:
    from tests.conftest import RunningServer, free_port, make_settings
    from tests.datastreams.conftest import kinesis_client
    from videolens.container import Container

    c = Container(
        make_settings(tmp_path / "life", port=free_port(), datastreams_subscription_s=1.0), models=models
    )
    srv = RunningServer(c).start()
    try:
        k = kinesis_client(srv.url)
        k.create_stream(StreamName="life", ShardCount=1)
        arn = k.describe_stream_summary(StreamName="life")["StreamDescriptionSummary"]["StreamARN"]
        consumer = k.register_stream_consumer(StreamARN=arn, ConsumerName="c")["Consumer"]
        started = time.monotonic()
        resp = k.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId="shardId-000000000000",
            StartingPosition={"Type": "LATEST"},
        )
        events = list(resp["EventStream"])
        assert 0.9 <= time.monotonic() - started < 10
        assert events and all(e["SubscribeToShardEvent"]["Records"] == [] for e in events)
    finally:
        srv.stop()
        c.close()


def test_a_subscriber_that_hangs_up_frees_its_subscription(kinesis: Any, ds_server: Any) -> None:
    """A closed subscription stops on the server within about a second (its wait between events),
    not at the next 5 s heartbeat nor at the end of its 5-minute lifetime; the server stops promptly."""
    from tests.models.metrics_scrape import Scrape

    kinesis.create_stream(StreamName="gone", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="gone")["StreamDescriptionSummary"]["StreamARN"]
    c = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="c4")["Consumer"]
    idle = Scrape.of(ds_server.url).value("videolens_http_requests_in_flight")  # the scrape itself
    resp = kinesis.subscribe_to_shard(
        ConsumerARN=c["ConsumerARN"], ShardId="shardId-000000000000", StartingPosition={"Type": "LATEST"}
    )
    next(iter(resp["EventStream"]))  # the first (empty) event: the subscription runs
    assert Scrape.of(ds_server.url).value("videolens_http_requests_in_flight") == idle + 1
    resp["EventStream"].close()
    hung_up = time.monotonic()
    while Scrape.of(ds_server.url).value("videolens_http_requests_in_flight") != idle:
        assert time.monotonic() - hung_up < 3.0, "the server still streams to a subscriber that hung up"
        time.sleep(0.1)
