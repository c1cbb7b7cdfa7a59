"""Must-show 6: raw CBOR PutRecord / GetRecords (as the Java SDK sends them) get CBOR answers."""

from __future__ import annotations

import time
from typing import Any

import cbor2
import httpx

from tests.conftest import RunningServer
from videolens.api.aws import codec_cbor

CBOR = "application/x-amz-cbor-1.1"


def _call(url: str, op: str, doc: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        url + "/",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
            "X-Amz-Target": f"Kinesis_20131202.{op}",
            "Content-Type": CBOR,
            "X-Amz-Date": "20250101T000000Z",
        },
        content=cbor2.dumps(doc),
    )


def test_raw_cbor_put_and_get(ds_server: RunningServer, kinesis: Any) -> None:
    kinesis.create_stream(StreamName="cbor", ShardCount=1)
    before_ms = int(time.time() * 1000)
    r = _call(
        ds_server.url, "PutRecord", {"StreamName": "cbor", "Data": b"\x00\xffbinary", "PartitionKey": "pk"}
    )
    assert r.status_code == 200 and r.headers["content-type"] == CBOR
    put = cbor2.loads(r.content)
    assert put["ShardId"] == "shardId-000000000000" and len(put["SequenceNumber"]) == 56
    # AT_TIMESTAMP the way the Java SDK writes it: tag 1 over epoch milliseconds
    r = _call(
        ds_server.url,
        "GetShardIterator",
        {
            "StreamName": "cbor",
            "ShardId": "shardId-000000000000",
            "ShardIteratorType": "AT_TIMESTAMP",
            "Timestamp": cbor2.CBORTag(1, before_ms - 1000),
        },
    )
    assert r.status_code == 200, r.content
    iterator = cbor2.loads(r.content)["ShardIterator"]
    raw = _call(ds_server.url, "GetRecords", {"ShardIterator": iterator, "Limit": 10}).content
    # cbor2 reads tag 1 as seconds and fails on milliseconds: the raw reader keeps the tag as it is
    got = codec_cbor.loads(raw)
    assert set(got) >= {"Records", "NextShardIterator", "MillisBehindLatest"}
    (rec,) = got["Records"]
    assert rec["Data"] == b"\x00\xffbinary" and rec["PartitionKey"] == "pk"
    assert rec["SequenceNumber"] == put["SequenceNumber"]
    stamp = rec["ApproximateArrivalTimestamp"]
    assert stamp.tag == 1 and isinstance(stamp.value, int)
    assert before_ms - 5 <= stamp.value <= int(time.time() * 1000)


def test_cbor_errors_are_cbor(ds_server: RunningServer) -> None:
    r = _call(ds_server.url, "PutRecord", {"StreamName": "missing", "Data": b"x", "PartitionKey": "k"})
    assert r.status_code == 400 and r.headers["content-type"] == CBOR
    assert cbor2.loads(r.content)["__type"] == "ResourceNotFoundException"
