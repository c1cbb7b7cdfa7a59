"""The user flow of issue 13: the AWS CLI and boto3, unchanged but for the endpoint, a live ffmpeg
PutMedia producer, face-search records in a data stream (and the processor's /metrics series)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer
from tests.jobs.synthetic_search import ENROLLED, FPS, make_search_video, on_screen
from tests.kinesis_reads import shard_records
from tests.models.metrics_scrape import Scrape

CREDENTIALS = {
    "region_name": "us-east-1",
    "aws_access_key_id": "AKIDEXAMPLE",
    "aws_secret_access_key": "secret",
}
ROLE = "arn:aws:iam::123456789012:role/rekognition"
THRESHOLD = 85.5
FRAME_S = 1.0 / FPS


AWS = str(Path(sys.executable).with_name("aws"))


def client(name: str, url: str) -> Any:
    return boto3.client(name, endpoint_url=url, **CREDENTIALS)


def aws(url: str, tmp_path: Path, *args: str) -> Any:
    """The AWS CLI (awscli from the dev extra), as a user runs it, with --endpoint-url; JSON output."""
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": CREDENTIALS["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": CREDENTIALS["region_name"],
        "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-aws-credentials"),
        "AWS_PAGER": "",
    }
    done = subprocess.run(
        [AWS, *args, "--endpoint-url", url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, (args, done.stderr)
    if args[0] == "s3":  # the s3 commands print lines of text ("upload: ...")
        return done.stdout
    return json.loads(done.stdout) if done.stdout.strip() else None


def _records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    return [json.loads(r["Data"]) for r in shard_records(kinesis, stream, shard)]


def _check_record(doc: dict[str, Any], stream_arn: str) -> None:
    """§3: exactly these members, of these types."""
    assert set(doc) == {"InputInformation", "StreamProcessorInformation", "FaceSearchResponse"}
    kv = doc["InputInformation"]["KinesisVideo"]
    assert set(kv) == {
        "StreamArn",
        "FragmentNumber",
        "ServerTimestamp",
        "ProducerTimestamp",
        "FrameOffsetInSeconds",
    }
    assert kv["StreamArn"] == stream_arn and kv["FragmentNumber"].isdigit()
    assert all(isinstance(kv[k], float | int) for k in ("ServerTimestamp", "ProducerTimestamp"))
    assert doc["StreamProcessorInformation"] == {"Status": "RUNNING"}
    for face in doc["FaceSearchResponse"]:
        assert set(face) == {"DetectedFace", "MatchedFaces"}
        assert set(face["DetectedFace"]) == {"BoundingBox", "Confidence", "Landmarks", "Pose", "Quality"}
        sims = [m["Similarity"] for m in face["MatchedFaces"]]
        assert sims == sorted(sims, reverse=True)
        for m in face["MatchedFaces"]:
            assert set(m["Face"]) <= {"BoundingBox", "FaceId", "Confidence", "ImageId", "ExternalImageId"}


def _producer(url: str, video: Path, stream: str, start: float) -> subprocess.Popen[bytes]:
    headers = (
        f"x-amzn-stream-name: {stream}\r\n"
        "x-amzn-fragment-timecode-type: RELATIVE\r\n"
        f"x-amzn-producer-start-timestamp: {start:.3f}\r\n"
    )
    cmd = ["ffmpeg", "-v", "error", "-re", "-i", str(video), "-c:v", "libx264", "-preset", "ultrafast"]
    cmd += ["-g", str(FPS), "-keyint_min", str(FPS), "-bf", "2", "-f", "matroska", "-live", "1"]
    cmd += ["-method", "POST", "-chunked_post", "1", "-headers", headers, url + "/putMedia"]
    return subprocess.Popen(cmd)


def _setup(server: RunningServer, media_dir: Path) -> tuple[Any, Any, Any, str, str]:
    rek, kvs, kinesis = (client(n, server.url) for n in ("rekognition", "kinesisvideo", "kinesis"))
    rek.create_collection(CollectionId="people")
    for person, photos in ENROLLED.items():
        for photo in photos:
            data = (media_dir / "faces" / person / photo).read_bytes()
            rek.index_faces(CollectionId="people", Image={"Bytes": data}, ExternalImageId=person, MaxFaces=1)
    video_arn = kvs.create_stream(StreamName="lobby", DataRetentionInHours=24)["StreamARN"]
    kinesis.create_stream(StreamName="matches", ShardCount=1)
    data_arn = kinesis.describe_stream_summary(StreamName="matches")["StreamDescriptionSummary"]["StreamARN"]
    return rek, kvs, kinesis, video_arn, data_arn


def _create(rek: Any, name: str, video_arn: str, data_arn: str, **extra: Any) -> str:
    arn: str = rek.create_stream_processor(
        Input={"KinesisVideoStream": {"Arn": video_arn}},
        Name=name,
        RoleArn=ROLE,
        Output={"KinesisDataStream": {"Arn": data_arn}},
        Settings={"FaceSearch": {"CollectionId": "people", "FaceMatchThreshold": THRESHOLD}},
        **extra,
    )["StreamProcessorArn"]
    return arn


def _wait_status(rek: Any, name: str, status: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while rek.describe_stream_processor(Name=name)["Status"] != status:
        assert time.monotonic() < deadline, rek.describe_stream_processor(Name=name)
        time.sleep(0.1)


def _cli_setup(url: str, media_dir: Path, tmp_path: Path) -> tuple[str, str]:
    """The issue's flow with the AWS CLI: collection + faces indexed from bucket objects, a video
    stream and a data stream. Returns their ARNs."""
    assert aws(url, tmp_path, "s3", "mb", "s3://enrolment") == "make_bucket: enrolment\n"
    aws(url, tmp_path, "rekognition", "create-collection", "--collection-id", "people")
    for person, photos in ENROLLED.items():
        for photo in photos:
            key = f"{person}/{photo}"
            copied = aws(
                url, tmp_path, "s3", "cp", str(media_dir / "faces" / person / photo), f"s3://enrolment/{key}"
            )
            assert copied.splitlines()[-1].endswith(f"{photo} to s3://enrolment/{key}"), copied
            image = json.dumps({"S3Object": {"Bucket": "enrolment", "Name": key}})
            indexed = aws(
                url, tmp_path, "rekognition", "index-faces", "--collection-id", "people",
                "--image", image, "--external-image-id", person, "--max-faces", "1",
            )  # fmt: skip
            assert len(indexed["FaceRecords"]) == 1
    video_arn = aws(
        url, tmp_path, "kinesisvideo", "create-stream", "--stream-name", "lobby",
        "--data-retention-in-hours", "24",
    )["StreamARN"]  # fmt: skip
    aws(url, tmp_path, "kinesis", "create-stream", "--stream-name", "matches", "--shard-count", "1")
    summary = aws(url, tmp_path, "kinesis", "describe-stream-summary", "--stream-name", "matches")
    return video_arn, summary["StreamDescriptionSummary"]["StreamARN"]


def test_face_search_records_while_the_video_is_sent(
    server: RunningServer, media_dir: Path, tmp_path: Path
) -> None:
    video = make_search_video(media_dir, tmp_path / "search.mp4")
    url = server.url
    video_arn, data_arn = _cli_setup(url, media_dir, tmp_path)
    rek, kvs, kinesis = (client(n, url) for n in ("rekognition", "kinesisvideo", "kinesis"))
    created = aws(
        url, tmp_path, "rekognition", "create-stream-processor",
        "--input", json.dumps({"KinesisVideoStream": {"Arn": video_arn}}),
        "--name", "streamProcessorForJhb",
        "--role-arn", ROLE,
        "--stream-processor-output", json.dumps({"KinesisDataStream": {"Arn": data_arn}}),
        "--settings", json.dumps({"FaceSearch": {"CollectionId": "people", "FaceMatchThreshold": THRESHOLD}}),
    )  # fmt: skip
    assert created["StreamProcessorArn"].endswith(":streamprocessor/streamProcessorForJhb")
    assert aws(url, tmp_path, "rekognition", "start-stream-processor", "--name", "streamProcessorForJhb")[
        "SessionId"
    ]
    _wait_status(rek, "streamProcessorForJhb", "RUNNING")
    described = aws(
        url, tmp_path, "rekognition", "describe-stream-processor", "--name", "streamProcessorForJhb"
    )
    assert described["Status"] == "RUNNING" and "StatusMessage" not in described
    assert described["Settings"] == {
        "FaceSearch": {"CollectionId": "people", "FaceMatchThreshold": THRESHOLD}
    }

    endpoint = kvs.get_data_endpoint(StreamName="lobby", APIName="PUT_MEDIA")["DataEndpoint"]
    start = time.time()
    producer = _producer(endpoint, video, "lobby", start)
    seen_while_sending = False
    while producer.poll() is None:
        if _records(kinesis, "matches"):
            seen_while_sending = True
        time.sleep(0.3)
    assert producer.returncode == 0
    assert seen_while_sending, "no record was readable while the video was still being sent"

    archived = client("kinesis-video-archived-media", url)
    fragments = archived.list_fragments(StreamName="lobby")["Fragments"]
    numbers = {f["FragmentNumber"] for f in fragments}
    deadline = time.monotonic() + 30
    while {
        r["InputInformation"]["KinesisVideo"]["FragmentNumber"] for r in _records(kinesis, "matches")
    } != numbers:
        assert time.monotonic() < deadline, "not every fragment has records"
        time.sleep(0.3)
        fragments = archived.list_fragments(StreamName="lobby")["Fragments"]
        numbers = {f["FragmentNumber"] for f in fragments}
    scrape = Scrape.of(url)  # while it runs: this worker holds its lease
    assert (
        aws(url, tmp_path, "rekognition", "stop-stream-processor", "--name", "streamProcessorForJhb") is None
    )
    _wait_status(rek, "streamProcessorForJhb", "STOPPED")
    listed = aws(url, tmp_path, "rekognition", "list-stream-processors")["StreamProcessors"]
    assert listed == [{"Name": "streamProcessorForJhb", "Status": "STOPPED"}]

    records = _records(kinesis, "matches")
    matched: set[str] = set()
    stranger_faces = 0
    for doc in records:
        _check_record(doc, video_arn)
        kv = doc["InputInformation"]["KinesisVideo"]
        t_ms = round((kv["ProducerTimestamp"] + kv["FrameOffsetInSeconds"] - start) * 1000)
        # Producer + Offset is a frame's time: on the video's frame grid (1/FPS) to within the
        # millisecond roundings of the Matroska timecodes and of the record's 3 decimals
        slot = t_ms * FPS / 1000
        assert abs(slot - round(slot)) * 1000 / FPS <= 3, (t_ms, slot)
        for face in doc["FaceSearchResponse"]:
            box = face["DetectedFace"]["BoundingBox"]
            cx, cy = box["Left"] + box["Width"] / 2, box["Top"] + box["Height"] / 2
            if face["MatchedFaces"]:
                best = face["MatchedFaces"][0]
                person = best["Face"]["ExternalImageId"]
                assert best["Similarity"] >= THRESHOLD
                # the match is at a time the person is on screen (within one frame of the real time)
                assert any(on_screen(person, t_ms + d) for d in (-67, 0, 67)), (person, t_ms)
                matched.add(person)
            elif abs(cx - 0.5) < 0.08 and abs(cy - 0.34) < 0.1:
                stranger_faces += 1
            if abs(cx - 0.5) < 0.08 and abs(cy - 0.34) < 0.1 and on_screen("rose_leslie", t_ms):
                assert face["MatchedFaces"] == [], "the stranger was matched"
    assert matched == set(ENROLLED)
    assert stranger_faces >= 5
    # analysed at >= 5 frames per second of video, in every fragment (one record per analysed frame)
    per_fragment = Counter(r["InputInformation"]["KinesisVideo"]["FragmentNumber"] for r in records)
    for f in fragments:
        seconds = f["FragmentLengthInMilliseconds"] / 1000
        assert per_fragment[f["FragmentNumber"]] >= 5 * seconds - 1, (f, per_fragment[f["FragmentNumber"]])
    # a record's fragment is a real fragment: GetMediaForFragmentList returns it
    media = archived.get_media_for_fragment_list(
        StreamName="lobby", Fragments=[records[0]["InputInformation"]["KinesisVideo"]["FragmentNumber"]]
    )
    assert len(media["Payload"].read()) > 1000
    info = server.container.processors.describe("streamProcessorForJhb")
    assert info.fragments_done == len(numbers) and info.fragments_skipped == 0
    assert info.records_out == len(records)

    # the processor's series on /metrics (metrics are per process: this name is new in this one)
    who = {"processor": "streamProcessorForJhb"}
    assert scrape.value("videolens_processor_fragments_processed_total", **who) == len(numbers)
    assert scrape.value("videolens_processor_fragments_skipped_total", **who) == 0
    assert scrape.value("videolens_processor_frames_analysed_total", **who) == len(records)
    assert scrape.value("videolens_processor_publish_latency_seconds_count", **who) == len(numbers)
    assert 0 < scrape.value("videolens_processor_publish_latency_seconds_sum", **who) < 5 * len(numbers)
    assert scrape.value("videolens_processor_lag_behind_live_ms", **who) == 0
    assert scrape.value("videolens_processor_errors_total", **who) == 0
    owner = server.container.live.owner
    assert scrape.value("videolens_processor_leases_held", worker=owner) == 1
    # the engine's next pass (every processor_poll_seconds) counts the lease given back at the stop
    deadline = time.monotonic() + 5
    while Scrape.of(url).value("videolens_processor_leases_held", worker=owner) != 0:
        assert time.monotonic() < deadline, "the stopped processor's lease is still counted"
        time.sleep(0.1)


def test_errors_are_client_errors(server: RunningServer, media_dir: Path) -> None:
    rek, kvs, kinesis, video_arn, data_arn = _setup(server, media_dir)

    def code(call: Any, **kw: Any) -> str:
        with pytest.raises(ClientError) as err:
            call(**kw)
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
        return str(err.value.response["Error"]["Code"])

    base = {
        "Input": {"KinesisVideoStream": {"Arn": video_arn}},
        "RoleArn": ROLE,
        "Output": {"KinesisDataStream": {"Arn": data_arn}},
        "Settings": {"FaceSearch": {"CollectionId": "people"}},
    }
    assert code(rek.create_stream_processor, Name="bad name!", **base) == "InvalidParameterException"
    bad_coll = {**base, "Settings": {"FaceSearch": {"CollectionId": "nobody"}}}
    assert code(rek.create_stream_processor, Name="p1", **bad_coll) == "ResourceNotFoundException"
    missing = video_arn.replace("lobby", "nowhere")
    bad_in = {**base, "Input": {"KinesisVideoStream": {"Arn": missing}}}
    assert code(rek.create_stream_processor, Name="p1", **bad_in) == "ResourceNotFoundException"
    bad_out = {**base, "Output": {"KinesisDataStream": {"Arn": data_arn.replace("matches", "none")}}}
    assert code(rek.create_stream_processor, Name="p1", **bad_out) == "ResourceNotFoundException"
    hi = {**base, "Settings": {"FaceSearch": {"CollectionId": "people", "FaceMatchThreshold": 101}}}
    assert code(rek.create_stream_processor, Name="p1", **hi) == "InvalidParameterException"
    both = {
        **base,
        "Settings": {"FaceSearch": {"CollectionId": "people"}, "ConnectedHome": {"Labels": ["PERSON"]}},
    }
    assert code(rek.create_stream_processor, Name="p1", **both) == "InvalidParameterException"
    no_out = {**base, "Output": {"S3Destination": {"Bucket": "cams"}}}
    assert code(rek.create_stream_processor, Name="p1", **no_out) == "InvalidParameterException"
    # ARNs that are not of the right resource type (the model's patterns; botocore does not check them)
    bad_role = {**base, "RoleArn": "rekognition-role"}
    assert code(rek.create_stream_processor, Name="p1", **bad_role) == "InvalidParameterException"
    not_kvs = {**base, "Input": {"KinesisVideoStream": {"Arn": data_arn}}}
    assert code(rek.create_stream_processor, Name="p1", **not_kvs) == "InvalidParameterException"
    not_kinesis = {**base, "Output": {"KinesisDataStream": {"Arn": video_arn}}}
    assert code(rek.create_stream_processor, Name="p1", **not_kinesis) == "InvalidParameterException"
    long_name = "n" * 129
    assert code(rek.create_stream_processor, Name=long_name, **base) == "InvalidParameterException"

    rek.create_stream_processor(Name="p1", **base, Tags={"site": "jhb"})
    assert code(rek.create_stream_processor, Name="p1", **base) == "ResourceInUseException"
    assert code(rek.describe_stream_processor, Name="ghost") == "ResourceNotFoundException"
    assert code(rek.start_stream_processor, Name="ghost") == "ResourceNotFoundException"
    assert code(rek.stop_stream_processor, Name="p1") == "ResourceInUseException"
    rek.start_stream_processor(Name="p1")
    assert code(rek.start_stream_processor, Name="p1") == "ResourceInUseException"
    assert code(rek.delete_stream_processor, Name="p1") == "ResourceInUseException"
    rek.stop_stream_processor(Name="p1")
    _wait_status(rek, "p1", "STOPPED")

    # listing pages with the house's tokens; tags round-trip
    for i in range(3):
        rek.create_stream_processor(Name=f"q{i}", **base)
    pages = list(rek.get_paginator("list_stream_processors").paginate(PaginationConfig={"PageSize": 2}))
    assert [p["Name"] for page in pages for p in page["StreamProcessors"]] == ["p1", "q0", "q1", "q2"]
    assert code(rek.list_stream_processors, NextToken="bogus") == "InvalidPaginationTokenException"
    arn = rek.describe_stream_processor(Name="p1")["StreamProcessorArn"]
    rek.tag_resource(ResourceArn=arn, Tags={"floor": "2"})
    rek.untag_resource(ResourceArn=arn, TagKeys=["site"])
    assert rek.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"floor": "2"}

    # the input stream goes away while running → FAILED with a StatusMessage
    rek.start_stream_processor(Name="p1")
    _wait_status(rek, "p1", "RUNNING")
    kvs.delete_stream(StreamARN=video_arn)
    _wait_status(rek, "p1", "FAILED")
    assert "input stream" in rek.describe_stream_processor(Name="p1")["StatusMessage"]
    scrape = Scrape.of(server.url)
    assert scrape.value("videolens_processor_errors_total", processor="p1", reason="input-unreadable") == 1
    rek.delete_stream_processor(Name="p1")
    assert code(rek.describe_stream_processor, Name="p1") == "ResourceNotFoundException"
