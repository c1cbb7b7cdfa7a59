"""Must-show 4: iterator expiry, retention trimming, per-shard limits and the Kinesis error codes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer
from tests.datastreams.conftest import kinesis_client
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.vision.models import ModelRegistry


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _trim_iterator(kinesis: Any, stream: str, shard: str = "shardId-000000000000") -> str:
    return str(
        kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
    )


def test_bad_input_gets_the_kinesis_error(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="errs", ShardCount=1)
    cases = [
        (
            "ResourceNotFoundException",
            lambda: kinesis.put_record(StreamName="nope", Data=b"x", PartitionKey="k"),
        ),
        ("ResourceNotFoundException", lambda: kinesis.describe_stream(StreamName="nope")),
        ("ResourceInUseException", lambda: kinesis.create_stream(StreamName="errs", ShardCount=1)),
        ("InvalidArgumentException", lambda: kinesis.get_records(ShardIterator="AAAA" * 20)),
        (
            "InvalidArgumentException",
            lambda: kinesis.put_record(StreamName="errs", Data=b"x" * (1024 * 1024), PartitionKey="k"),
        ),
        (
            "ValidationException",
            lambda: kinesis.put_records(
                StreamName="errs", Records=[{"Data": b"x", "PartitionKey": "k"} for _ in range(501)]
            ),
        ),
        (
            "InvalidArgumentException",
            lambda: kinesis.put_record(
                StreamName="errs", Data=b"x", PartitionKey="k", ExplicitHashKey=str(2**128)
            ),
        ),
        (
            "ValidationException",
            lambda: kinesis.put_record(StreamName="errs", Data=b"x", PartitionKey="k", ExplicitHashKey="-1"),
        ),
        (
            "ResourceNotFoundException",
            lambda: kinesis.get_shard_iterator(
                StreamName="errs", ShardId="shardId-000000000009", ShardIteratorType="LATEST"
            ),
        ),
        (
            "InvalidArgumentException",
            lambda: kinesis.increase_stream_retention_period(StreamName="errs", RetentionPeriodHours=12),
        ),
        (
            "InvalidArgumentException",
            lambda: kinesis.decrease_stream_retention_period(StreamName="errs", RetentionPeriodHours=48),
        ),
        (
            "InvalidArgumentException",
            lambda: kinesis.split_shard(
                StreamName="errs", ShardToSplit="shardId-000000000000", NewStartingHashKey="0"
            ),
        ),
        (
            "ResourceNotFoundException",
            lambda: kinesis.merge_shards(
                StreamName="errs",
                ShardToMerge="shardId-000000000000",
                AdjacentShardToMerge="shardId-000000000007",
            ),
        ),
        ("LimitExceededException", lambda: kinesis.create_stream(StreamName="huge", ShardCount=100000)),
        ("ExpiredNextTokenException", lambda: kinesis.list_shards(NextToken="garbage-token")),
        (
            "ResourceNotFoundException",
            lambda: kinesis.describe_stream_consumer(
                ConsumerARN="arn:aws:kinesis:us-east-1:000000000000:stream/errs/consumer/x:1"
            ),
        ),
    ]
    for expected, call in cases:
        with pytest.raises(ClientError) as e:
            call()
        assert _code(e) == expected, (expected, e.value.response)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_tampered_iterator_is_refused(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="tamper", ShardCount=1)
    it = _trim_iterator(kinesis, "tamper")
    flipped = it[:10] + ("A" if it[10] != "A" else "B") + it[11:]
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator=flipped)
    assert _code(e) == "InvalidArgumentException"


def test_malformed_bodies_never_500(ds_server: RunningServer) -> None:
    headers = {
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, "
        "SignedHeaders=host, Signature=" + "0" * 64,
        "Content-Type": "application/x-amz-json-1.1",
    }
    for target, body in [
        ("PutRecord", b"{not json"),
        ("PutRecord", b'{"StreamName": "x", "Data": "!!notbase64", "PartitionKey": "k"}'),
        ("GetRecords", b'{"ShardIterator": 5}'),
        ("PutRecords", b'{"StreamName": "x", "Records": "no"}'),
        ("NoSuchOp", b"{}"),
    ]:
        r = httpx.post(
            ds_server.url + "/",
            headers={**headers, "X-Amz-Target": f"Kinesis_20131202.{target}"},
            content=body,
        )
        assert r.status_code == 400, (target, r.text)
        assert r.json()["__type"] in (
            "SerializationException",
            "ValidationException",
            "UnknownOperationException",
        )


def _limited_container(tmp_path: Path, models: ModelRegistry, **overrides: Any) -> Container:
    from tests.conftest import free_port, make_settings

    settings: Settings = make_settings(tmp_path / "lim", port=free_port(), **overrides)
    return Container(settings, models=models)


def test_iterator_expiry(tmp_path: Path, models: ModelRegistry) -> None:
    c = _limited_container(tmp_path, models, datastreams_iterator_ttl_s=0.5)
    srv = RunningServer(c).start()
    try:
        k = kinesis_client(srv.url)
        k.create_stream(StreamName="exp", ShardCount=1)
        it = _trim_iterator(k, "exp")
        assert k.get_records(ShardIterator=it)["Records"] == []
        time.sleep(0.7)
        with pytest.raises(ClientError) as e:
            k.get_records(ShardIterator=it)
        assert _code(e) == "ExpiredIteratorException"
        assert "tolerated delay of 500 milliseconds" in e.value.response["Error"]["Message"]
    finally:
        srv.stop()
        c.close()


def test_per_shard_limits(tmp_path: Path, models: ModelRegistry) -> None:
    """Bursts sent at once: even a burst that straddles two one-second windows must be cut down."""
    c = _limited_container(tmp_path, models, datastreams_enforce_limits=True)
    srv = RunningServer(c).start()
    pool = ThreadPoolExecutor(16)
    try:
        k = kinesis_client(srv.url)
        k.create_stream(StreamName="thr", ShardCount=1)
        # 1000 records/s in: 3000 records at once → at most 2000 pass (two windows), the rest fail per entry
        batch = [{"Data": b"x", "PartitionKey": str(i)} for i in range(500)]
        answers = list(pool.map(lambda _: k.put_records(StreamName="thr", Records=batch), range(6)))
        failed = sum(a["FailedRecordCount"] for a in answers)
        entries = [r for a in answers for r in a["Records"]]
        assert failed >= 1000
        assert {r["ErrorCode"] for r in entries if "ErrorCode" in r} == {
            "ProvisionedThroughputExceededException"
        }
        assert all(("SequenceNumber" in r) != ("ErrorCode" in r) for r in entries)
        time.sleep(2.1)

        # 1 MiB/s in: three ~1 MB PutRecords at once → at least one refused as a whole
        def big(_: int) -> str:
            try:
                k.put_record(StreamName="thr", Data=b"y" * (1000 * 1024), PartitionKey="a")
                return "ok"
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])

        outcomes = list(pool.map(big, range(3)))
        assert "ProvisionedThroughputExceededException" in outcomes and "ok" in outcomes

        # 5 GetRecords/s per shard: 15 at once → at most 10 pass
        it = _trim_iterator(k, "thr")

        def get(_: int) -> str:
            try:
                k.get_records(ShardIterator=it, Limit=1)
                return "ok"
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])

        reads = list(pool.map(get, range(15)))
        assert reads.count("ok") <= 10
        assert set(reads) == {"ok", "ProvisionedThroughputExceededException"}
    finally:
        pool.shutdown()
        srv.stop()
        c.close()


def test_retention_trims_old_records(ds_container: Container, kinesis: Any) -> None:
    kinesis.create_stream(StreamName="ret", ShardCount=1)
    kinesis.put_records(
        StreamName="ret", Records=[{"Data": b"old%d" % i, "PartitionKey": "k"} for i in range(5)]
    )
    time.sleep(0.05)
    cut = time.time()
    time.sleep(0.05)
    kinesis.put_records(
        StreamName="ret", Records=[{"Data": b"new%d" % i, "PartitionKey": "k"} for i in range(3)]
    )
    svc = ds_container.datastreams
    state = svc.catalog.get("ret", fresh=True)
    # what the retention task does with a 24 h period, with the clock moved to `cut + 24 h`
    svc.log.trim_before(state.key, 0, int(cut * 1000))
    got = kinesis.get_records(ShardIterator=_trim_iterator(kinesis, "ret"))["Records"]
    assert [r["Data"] for r in got] == [b"new0", b"new1", b"new2"]
    # the sweep itself keeps everything younger than the retention period
    assert svc.trim_expired() == 0
    assert len(kinesis.get_records(ShardIterator=_trim_iterator(kinesis, "ret"))["Records"]) == 3
    kinesis.increase_stream_retention_period(StreamName="ret", RetentionPeriodHours=48)
    assert (
        kinesis.describe_stream_summary(StreamName="ret")["StreamDescriptionSummary"]["RetentionPeriodHours"]
        == 48
    )


def test_iterator_of_a_deleted_stream(kinesis: Any) -> None:
    kinesis.create_stream(StreamName="gone", ShardCount=1)
    kinesis.put_record(StreamName="gone", Data=b"old", PartitionKey="k")
    it = _trim_iterator(kinesis, "gone")
    kinesis.delete_stream(StreamName="gone")
    kinesis.create_stream(StreamName="gone", ShardCount=1)  # same name, a new stream
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator=it)
    assert _code(e) == "ResourceNotFoundException"
    assert kinesis.get_records(ShardIterator=_trim_iterator(kinesis, "gone"))["Records"] == []
