"""Faults on a running cluster, one engine at a time: SeaweedFS stopped for 10 s during ingest, Redis
restarted, PostgreSQL restarted. Each test brings the engine back (same ports, same data)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from tests.cluster.conftest import client
from videolens.backends.notify.redis_pubsub import RedisNotifier
from videolens.cli.local_cluster import LocalCluster
from videolens.media.mkv_reader import Block, ClusterStart, MkvReader, Tracks
from videolens.producer import AckRecord, chunks_of, put_media, realtime_chunks

PERSIST_FAILED = 5001


def _resume_points(data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """The header, and (timecode ms, byte offset) of every cluster whose first video block is a key
    frame: where a reconnecting producer can start a new session."""
    reader = MkvReader()
    events = reader.feed(data) + reader.close()
    video = next(t.number for e in events if isinstance(e, Tracks) for t in e.tracks if t.type == 1)
    points: list[tuple[int, int]] = []
    pending: ClusterStart | None = None
    for e in events:
        if isinstance(e, ClusterStart):
            pending = e
        elif isinstance(e, Block) and e.track == video and pending is not None:
            if e.keyframe:
                points.append((pending.timecode, pending.offset))
            pending = None
    first = next(e.offset for e in events if isinstance(e, ClusterStart))
    return data[:first], points


def _resilient_producer(url: str, stream: str, data: bytes, log: list[AckRecord]) -> None:
    """What the KVS producer SDK does: after an error ack ends the session, reconnect and go on from
    the next key frame (same producer start, so the timestamps continue)."""
    header, points = _resume_points(data)
    producer_start = time.time()
    offset = points[0][1]
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        result = put_media(
            url,
            realtime_chunks(header + data[offset:]),
            stream_name=stream,
            producer_start=producer_start,
            on_ack=log.append,  # live: the test watches the acks while the session runs
        )
        failed = [a for a in result.acks if a.event == "ERROR"]
        if not failed:
            return
        timecode = int(failed[0].doc.get("FragmentTimecode", 0))
        later = [o for t, o in points if t > timecode and o > offset]
        if not later:
            return
        offset = later[0]
        time.sleep(0.5)


def test_object_store_outage_during_ingest(cluster: LocalCluster, hamilton_mkv_30s: bytes) -> None:
    assert cluster.seaweed is not None
    a, b = cluster.api
    client("kinesisvideo", a.url).create_stream(StreamName="outage-cam", DataRetentionInHours=24)
    acks: list[AckRecord] = []
    producer = threading.Thread(
        target=_resilient_producer, args=(a.url, "outage-cam", hamilton_mkv_30s, acks), daemon=True
    )
    producer.start()
    deadline = time.monotonic() + 30
    while not any(x.event == "PERSISTED" for x in acks):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(1.0)
    cluster.seaweed.stop()
    time.sleep(10.0)
    # from the restart on: the gateway takes writes again before start() has seen it ready (12-45 s here)
    back = time.monotonic()
    cluster.seaweed.start()
    producer.join(120)
    errors = [x for x in acks if x.event == "ERROR"]
    persisted = [x for x in acks if x.event == "PERSISTED"]
    timeline = " ".join(f"{x.received_at - back:+.1f}:{x.event[:4]}" for x in acks)
    assert errors and {x.doc["ErrorId"] for x in errors} == {PERSIST_FAILED}, timeline
    assert any(x.received_at > back for x in persisted), f"ingest did not resume: {timeline}"
    # nothing that was acknowledged is lost: every PERSISTED fragment reads back through node B
    numbers = [str(x.doc["FragmentNumber"]) for x in persisted]
    last_timecode = max(int(x.doc["FragmentTimecode"]) for x in persisted)
    assert last_timecode >= _resume_points(hamilton_mkv_30s)[1][-1][0], timeline  # went on to the end
    archived = client("kinesis-video-archived-media", b.url)
    pages = archived.get_paginator("list_fragments").paginate(StreamName="outage-cam")
    listed = {f["FragmentNumber"] for page in pages for f in page["Fragments"]}
    assert set(numbers) == listed
    body = archived.get_media_for_fragment_list(StreamName="outage-cam", Fragments=numbers)["Payload"].read()
    assert body.count(b"AWS_KINESISVIDEO_FRAGMENT_NUMBER") == len(numbers)


def _retry(call: Any, timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except (ClientError, ConnectionError, ReadTimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_redis_restart(cluster: LocalCluster, hamilton_mkv_30s: bytes) -> None:
    assert cluster.redis is not None
    a, b = cluster.api
    kinesis_a, kinesis_b = client("kinesis", a.url), client("kinesis", b.url)
    kinesis_a.create_stream(StreamName="restart-records", ShardCount=1)
    kinesis_a.get_waiter("stream_exists").wait(StreamName="restart-records", WaiterConfig={"Delay": 1})
    kinesis_a.put_record(StreamName="restart-records", Data=b"before", PartitionKey="k")
    listener = RedisNotifier(cluster.redis.url)  # a third "node" watching the notifications
    heard: queue.Queue[str | None] = queue.Queue()
    listener.subscribe("streams", heard.put)
    try:
        assert listener.connected.wait(10)
        cluster.redis.stop()
        time.sleep(1.0)
        cluster.redis.start()
        _retry(lambda: kinesis_a.put_record(StreamName="restart-records", Data=b"after", PartitionKey="k"))
        shard = kinesis_b.describe_stream(StreamName="restart-records")["StreamDescription"]["Shards"][0]
        iterator = kinesis_b.get_shard_iterator(
            StreamName="restart-records", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = kinesis_b.get_records(ShardIterator=iterator)["Records"]
        assert [r["Data"] for r in records] == [b"before", b"after"]  # nothing lost across the restart
        # notifications resume: a fragment persisted on A is announced on the restarted Redis
        assert listener.connected.wait(10)
        while not heard.empty():
            heard.get_nowait()
        client("kinesisvideo", a.url).create_stream(StreamName="after-redis", DataRetentionInHours=1)
        put = put_media(a.url, chunks_of(hamilton_mkv_30s[:400_000]), stream_name="after-redis")
        assert put.events("PERSISTED")
        assert heard.get(timeout=10) == ""
    finally:
        listener.close()


def test_postgres_restart(cluster: LocalCluster) -> None:
    assert cluster.postgres is not None
    a, b = cluster.api
    video_a = client("kinesisvideo", a.url)
    video_a.create_stream(StreamName="before-pg", DataRetentionInHours=1)
    cluster.postgres.stop()
    try:
        t0 = time.monotonic()
        with pytest.raises(ClientError) as err:
            video_a.describe_stream(StreamName="before-pg")
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] >= 500
        assert err.value.response["Error"]["Code"]  # the AWS error shape, not a traceback
        native = httpx.get(b.url + "/v1/streams", timeout=30)
        assert native.status_code >= 500
        assert native.headers["content-type"].startswith("application/problem+json")
        assert time.monotonic() - t0 < 30  # failing, not hanging
    finally:
        cluster.postgres.start()
    assert (
        _retry(lambda: video_a.describe_stream(StreamName="before-pg"))["StreamInfo"]["StreamName"]
        == "before-pg"
    )
    video_b = client("kinesisvideo", b.url)
    _retry(lambda: video_b.create_stream(StreamName="after-pg", DataRetentionInHours=1))
    names = {s["StreamName"] for s in video_a.list_streams()["StreamInfoList"]}
    assert {"before-pg", "after-pg"} <= names
