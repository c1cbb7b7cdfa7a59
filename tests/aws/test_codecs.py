"""The generic codecs with real boto3 clients for every protocol: query (SNS), json (Kinesis),
rest-json (the three KVS clients, streaming payloads), served by a small dispatcher-only app."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import cbor2
import httpx
import pytest
import uvicorn
from botocore.exceptions import ClientError
from fastapi import FastAPI

from tests.aws.conftest import NO_RETRIES, ShapeChecker
from tests.conftest import free_port, make_settings
from videolens.api.aws.dispatch import AwsDispatcher
from videolens.api.aws.registry import AwsContext, AwsService
from videolens.services.errors import InvalidParameterError, NotFoundError

calls: list[tuple[str, dict[str, Any]]] = []
T0 = dt.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=dt.UTC)


def _record(name: str, out: dict[str, Any]) -> Any:
    def handler(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
        calls.append((name, params))
        return out

    return handler


def _missing(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
    raise NotFoundError("no such thing")


async def _get_media(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
    async def payload() -> Any:
        for i in range(3):
            yield b"\x1aE\xdf\xa3" + bytes([i]) * 1000

    return {"ContentType": "video/webm", "Payload": payload()}


def _get_clip(ctx: AwsContext, params: dict[str, Any]) -> dict[str, Any]:
    calls.append(("GetClip", params))
    return {"ContentType": "video/mp4", "Payload": iter([b"\x00\x00\x00\x18ftypmp42", b"rest"])}


SERVICES = [
    AwsService(
        "sns",
        {
            "CreateTopic": _record("CreateTopic", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t"}),
            "Publish": _record("Publish", {"MessageId": "m-1"}),
            "ListTopics": _record(
                "ListTopics", {"Topics": [{"TopicArn": "a"}, {"TopicArn": "b"}], "NextToken": "n"}
            ),
            "GetTopicAttributes": _record(
                "GetTopicAttributes", {"Attributes": {"TopicArn": "a", "Owner": "1"}}
            ),
            "DeleteTopic": _missing,
        },
        error_map={NotFoundError: "NotFoundException", InvalidParameterError: "InvalidParameterException"},
        validation_error="InvalidParameterException",
    ),
    AwsService(
        "kinesis",
        {
            "PutRecord": _record("PutRecord", {"ShardId": "shardId-000000000000", "SequenceNumber": "1"}),
            "GetRecords": _record(
                "GetRecords",
                {
                    "Records": [
                        {
                            "SequenceNumber": "1",
                            "ApproximateArrivalTimestamp": T0,
                            "Data": b'{"a":1}',
                            "PartitionKey": "p",
                        }
                    ],
                    "MillisBehindLatest": 0,
                },
            ),
        },
        validation_error="InvalidArgumentException",
    ),
    AwsService(
        "kinesisvideo",
        {
            "CreateStream": _record(
                "CreateStream", {"StreamARN": "arn:aws:kinesisvideo:us-east-1:1:stream/cam/1"}
            ),
            "DescribeStream": _missing,
        },
        error_map={NotFoundError: "ResourceNotFoundException"},
        validation_error="InvalidArgumentException",
    ),
    AwsService("kinesis-video-media", {"GetMedia": _get_media}),
    AwsService(
        "kinesis-video-archived-media",
        {
            "GetClip": _get_clip,
            "ListFragments": _record(
                "ListFragments",
                {
                    "Fragments": [
                        {
                            "FragmentNumber": "913",
                            "FragmentSizeInBytes": 123,
                            "ProducerTimestamp": T0,
                            "ServerTimestamp": T0,
                            "FragmentLengthInMilliseconds": 2000,
                        }
                    ]
                },
            ),
        },
    ),
]


@pytest.fixture(scope="module")
def codec_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(Path(tmp_path_factory.mktemp("codec")), port=free_port())
    app = AwsDispatcher(FastAPI(), SimpleNamespace(settings=settings, keys=None), services=SERVICES)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{settings.port}"
    while not server.started:
        time.sleep(0.02)
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def client(codec_url: str, shape_checker: ShapeChecker) -> Any:
    def make(service: str) -> Any:
        c = boto3.client(
            service,
            endpoint_url=codec_url,
            region_name="us-east-1",
            aws_access_key_id="AKID",
            aws_secret_access_key="secret",
            config=NO_RETRIES,
        )
        c.meta.events.register("before-parse", shape_checker)
        return c

    calls.clear()
    return make


def test_query_protocol_sns(client: Any) -> None:
    sns = client("sns")
    arn = sns.create_topic(
        Name="jobs",
        Attributes={"DisplayName": "Jobs", "FifoTopic": "false"},
        Tags=[{"Key": "k", "Value": "v"}],
    )["TopicArn"]
    assert arn == "arn:aws:sns:us-east-1:123456789012:t"
    assert calls[-1] == (
        "CreateTopic",
        {
            "Name": "jobs",
            "Attributes": {"DisplayName": "Jobs", "FifoTopic": "false"},
            "Tags": [{"Key": "k", "Value": "v"}],
        },
    )
    sns.publish(
        TopicArn=arn,
        Message='{"JobId":"1"}',
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "x"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    assert calls[-1][1]["MessageAttributes"] == {
        "s": {"DataType": "String", "StringValue": "x"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    listed = sns.list_topics()
    assert len(listed["ResponseMetadata"]["RequestId"]) == 36  # from <ResponseMetadata><RequestId>
    assert [t["TopicArn"] for t in listed["Topics"]] == ["a", "b"] and listed["NextToken"] == "n"
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"] == {"TopicArn": "a", "Owner": "1"}
    with pytest.raises(sns.exceptions.NotFoundException) as exc:
        sns.delete_topic(TopicArn=arn)
    assert exc.value.response["Error"]["Code"] == "NotFound"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        sns.create_topic(Name="x", Tags=[{"Key": "k" * 200, "Value": "v"}])  # Key max 128
    assert exc.value.response["Error"]["Code"] == "InvalidParameter"


def test_json_protocol_kinesis_blobs_and_timestamps(client: Any) -> None:
    kinesis = client("kinesis")
    put = kinesis.put_record(StreamName="out", Data=b"\x00binary\xff", PartitionKey="pk")
    assert len(put["ResponseMetadata"]["RequestId"]) == 36  # from x-amzn-RequestId
    assert calls[-1][1] == {"StreamName": "out", "Data": b"\x00binary\xff", "PartitionKey": "pk"}
    got = kinesis.get_records(ShardIterator="it")["Records"][0]
    assert got["Data"] == b'{"a":1}'
    assert got["ApproximateArrivalTimestamp"] == T0
    with pytest.raises(ClientError) as exc:
        kinesis.put_record(StreamName="out", Data=b"x", PartitionKey="p" * 257)
    assert exc.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_rest_json_kvs(client: Any) -> None:
    kvs = client("kinesisvideo")
    assert kvs.create_stream(StreamName="cam", DataRetentionInHours=24)["StreamARN"].endswith("stream/cam/1")
    assert calls[-1][1] == {"StreamName": "cam", "DataRetentionInHours": 24}
    with pytest.raises(kvs.exceptions.ResourceNotFoundException) as exc:
        kvs.describe_stream(StreamName="cam")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        kvs.create_stream(StreamName="bad name!")
    assert exc.value.response["Error"]["Code"] == "InvalidArgumentException"

    media = client("kinesis-video-media")
    resp = media.get_media(StreamName="cam", StartSelector={"StartSelectorType": "NOW"})
    assert resp["ContentType"] == "video/webm"
    body = resp["Payload"].read()
    assert len(body) == 3 * 1004 and body.startswith(b"\x1aE\xdf\xa3")

    archived = client("kinesis-video-archived-media")
    clip = archived.get_clip(
        StreamName="cam",
        ClipFragmentSelector={
            "FragmentSelectorType": "PRODUCER_TIMESTAMP",
            "TimestampRange": {"StartTimestamp": T0, "EndTimestamp": T0 + dt.timedelta(seconds=60)},
        },
    )
    assert clip["ContentType"] == "video/mp4" and clip["Payload"].read() == b"\x00\x00\x00\x18ftypmp42rest"
    selector = calls[-1][1]["ClipFragmentSelector"]["TimestampRange"]
    assert selector["StartTimestamp"] == T0
    fragments = archived.list_fragments(StreamName="cam")["Fragments"]
    assert fragments[0]["ProducerTimestamp"] == T0 and fragments[0]["FragmentLengthInMilliseconds"] == 2000


def test_cbor_is_refused_with_a_clear_message(codec_url: str) -> None:
    # kinesis speaks CBOR (tests/datastreams/test_cbor.py); a body that is not CBOR gets a clear message
    r = httpx.post(
        codec_url + "/",
        headers={
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/kinesis/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64,
            "X-Amz-Target": "Kinesis_20131202.PutRecord",
            "Content-Type": "application/x-amz-cbor-1.1",
        },
        content=b"\xbf\x61",
    )
    assert r.status_code == 400 and "CBOR" in cbor2.loads(r.content)["Message"]
