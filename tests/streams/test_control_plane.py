"""kinesisvideo control plane through unchanged boto3 code: CRUD, versions, tags, endpoints, errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.streams.conftest import Kvs


def error_code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_stream_lifecycle(kvs: Kvs) -> None:
    video = kvs.video
    arn = kvs.create("cam-1", retention=2)
    assert arn.startswith("arn:aws:kinesisvideo:us-east-1:000000000000:stream/cam-1/")
    info = video.describe_stream(StreamName="cam-1")["StreamInfo"]
    assert (info["StreamName"], info["StreamARN"], info["Status"], info["DataRetentionInHours"]) == (
        "cam-1",
        arn,
        "ACTIVE",
        2,
    )
    assert video.describe_stream(StreamARN=arn)["StreamInfo"]["Version"] == info["Version"]

    with pytest.raises(ClientError) as err:
        kvs.create("cam-1")
    assert error_code(err) == ("ResourceInUseException", 400)

    kvs.create("cam-2")
    kvs.create("other")
    names = [s["StreamName"] for s in video.list_streams()["StreamInfoList"]]
    assert names == ["cam-1", "cam-2", "other"]
    cams = video.list_streams(
        StreamNameCondition={"ComparisonOperator": "BEGINS_WITH", "ComparisonValue": "cam"}
    )
    assert [s["StreamName"] for s in cams["StreamInfoList"]] == ["cam-1", "cam-2"]
    paged = video.list_streams(MaxResults=2)
    assert len(paged["StreamInfoList"]) == 2 and paged["NextToken"]
    rest = video.list_streams(MaxResults=2, NextToken=paged["NextToken"])
    assert [s["StreamName"] for s in rest["StreamInfoList"]] == ["other"] and "NextToken" not in rest

    version = info["Version"]
    video.update_stream(StreamName="cam-1", CurrentVersion=version, MediaType="video/h264")
    with pytest.raises(ClientError) as err:
        video.update_stream(StreamName="cam-1", CurrentVersion=version, MediaType="video/h265")
    assert error_code(err) == ("VersionMismatchException", 400)
    updated = video.describe_stream(StreamName="cam-1")["StreamInfo"]
    assert updated["MediaType"] == "video/h264" and updated["Version"] != version
    video.update_data_retention(
        StreamName="cam-1",
        CurrentVersion=updated["Version"],
        Operation="INCREASE_DATA_RETENTION",
        DataRetentionChangeInHours=10,
    )
    assert video.describe_stream(StreamName="cam-1")["StreamInfo"]["DataRetentionInHours"] == 12

    video.tag_stream(StreamARN=arn, Tags={"site": "lobby", "floor": "2"})
    video.untag_stream(StreamName="cam-1", TagKeyList=["floor"])
    assert video.list_tags_for_stream(StreamName="cam-1")["Tags"] == {"site": "lobby"}

    endpoint = video.get_data_endpoint(StreamName="cam-1", APIName="GET_CLIP")["DataEndpoint"]
    assert endpoint == kvs.url

    video.delete_stream(StreamARN=arn)
    with pytest.raises(ClientError) as err:
        video.describe_stream(StreamName="cam-1")
    assert error_code(err) == ("ResourceNotFoundException", 404)
    assert isinstance(err.value, video.exceptions.ResourceNotFoundException)


def test_invalid_arguments(kvs: Kvs) -> None:
    video = kvs.video
    with pytest.raises(ClientError) as err:
        video.describe_stream()
    assert error_code(err) == ("InvalidArgumentException", 400)
    with pytest.raises(ClientError) as err:
        video.create_stream(StreamName="bad name!")
    assert error_code(err) == ("InvalidArgumentException", 400)
    with pytest.raises(ClientError) as err:
        video.get_data_endpoint(StreamName="missing", APIName="GET_MEDIA")
    assert error_code(err) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as err:
        video.delete_stream(StreamARN="arn:aws:kinesisvideo:us-east-1:000000000000:stream/nope/1")
    assert error_code(err) == ("ResourceNotFoundException", 404)


def test_no_retention_refuses_archived_reads(kvs: Kvs) -> None:
    kvs.create("buffer-only", retention=0)
    client = kvs.data_client("kinesis-video-archived-media", "buffer-only", "LIST_FRAGMENTS")
    with pytest.raises(ClientError) as err:
        client.list_fragments(StreamName="buffer-only")
    assert error_code(err) == ("NoDataRetentionException", 400)
