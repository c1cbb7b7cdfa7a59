"""Issue 13 must-show 4: ConnectedHome PERSON on a pedestrian video streamed by ffmpeg PutMedia."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningServer
from tests.jobs.webhook import WebhookReceiver
from tests.live.test_flow import ROLE, _producer, _wait_status, client

MAX_S = 5


def _setup(server: RunningServer, hook: WebhookReceiver) -> tuple[Any, Any, str, str]:
    rek, kvs, sns, s3 = (client(n, server.url) for n in ("rekognition", "kinesisvideo", "sns", "s3"))
    s3.create_bucket(Bucket="doorbell")
    topic = sns.create_topic(Name="doorbell-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hook.url)
    assert hook.confirmed.wait(20), "the webhook subscription was not confirmed"
    video_arn = kvs.create_stream(StreamName="porch", DataRetentionInHours=24)["StreamARN"]
    return rek, s3, video_arn, topic


def _create(rek: Any, video_arn: str, topic: str, labels: list[str], **extra: Any) -> str:
    arn: str = rek.create_stream_processor(
        Input={"KinesisVideoStream": {"Arn": video_arn}},
        Name="porchPeople",
        RoleArn=ROLE,
        Output={"S3Destination": {"Bucket": "doorbell", "KeyPrefix": "cam1"}},
        NotificationChannel={"SNSTopicArn": topic},
        Settings={"ConnectedHome": {"Labels": labels, "MinConfidence": 55}},
        **extra,
    )["StreamProcessorArn"]
    return arn


def _messages(hook: WebhookReceiver) -> list[dict[str, Any]]:
    docs = [r.doc for r in hook.received if r.headers.get("x-amz-sns-message-type") == "Notification"]
    return [json.loads(d["Message"]) for d in docs]


def _jpeg(s3: Any, uri: str) -> np.ndarray:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, uri
    return image


def test_person_detected_images_in_bucket_and_sns_messages(server: RunningServer, media_dir: Path) -> None:
    hook = WebhookReceiver()
    try:
        rek, s3, video_arn, topic = _setup(server, hook)
        with pytest.raises(ClientError) as err:
            _create(rek, video_arn, topic, ["PERSON", "PET"])
        assert err.value.response["Error"]["Code"] == "InvalidParameterException"
        assert "PET" in err.value.response["Error"]["Message"]
        assert "PERSON" in err.value.response["Error"]["Message"]

        _create(rek, video_arn, topic, ["PERSON"])
        described = rek.describe_stream_processor(Name="porchPeople")
        assert described["Settings"]["ConnectedHome"]["Labels"] == ["PERSON"]
        session = rek.start_stream_processor(
            Name="porchPeople", StopSelector={"MaxDurationInSeconds": MAX_S}
        )["SessionId"]
        _wait_status(rek, "porchPeople", "RUNNING")
        kvs = client("kinesisvideo", server.url)
        endpoint = kvs.get_data_endpoint(StreamName="porch", APIName="PUT_MEDIA")["DataEndpoint"]
        start = time.time()
        producer = _producer(endpoint, media_dir / "video" / "short_hamilton_clip.mp4", "porch", start)
        assert producer.wait(60) == 0

        # ends by itself after MaxDurationInSeconds, with the end-of-session message last
        _wait_status(rek, "porchPeople", "STOPPED", timeout=60)
        hook.wait_for("Notification", count=2, timeout=30)
        messages = _messages(hook)
        kinds = [m["eventNamespace"]["type"] for m in messages]
        assert kinds == ["LABEL_DETECTED", "STREAM_PROCESSING_COMPLETE"]
        detected, complete = messages
        for m in messages:
            assert m["sessionId"] == session and m["startStreamProcessorSessionId"] == session
            assert m["inputInformation"]["kinesisVideo"]["streamArn"] == video_arn

        labels = detected["labels"]
        assert labels and {label["name"] for label in labels} == {"PERSON"}
        frame_uri = labels[0]["frameImageUri"]
        assert frame_uri.startswith(f"s3://doorbell/cam1/porchPeople/{session}/notifications/PERSON_frame")
        assert _jpeg(s3, frame_uri).shape == (360, 640, 3)
        for label in labels:
            assert label["confidence"] >= 55
            box = label["boundingBox"]
            crop = _jpeg(s3, label["croppedImageUri"])
            # the crop is the box, in pixels of the 640x360 frame
            assert (
                abs(crop.shape[1] - box["width"] * 640) <= 2 and abs(crop.shape[0] - box["height"] * 360) <= 2
            )
            mapping = label["videoMapping"]["kinesisVideoMapping"]
            assert mapping["fragmentNumber"] == detected["inputInformation"]["kinesisVideo"]["fragmentNumber"]
        # HOG finds the first pedestrians ~1.9 s into the clip (none in the first 1.4 s)
        kv = detected["inputInformation"]["kinesisVideo"]
        seen_at = (kv["fragmentProducerTimestamp"] + kv["frameOffsetMillis"]) / 1000 - start
        assert 1.0 <= seen_at <= 4.0, seen_at

        assert complete["streamProcessingResults"]["reason"] == "MAX_DURATION_REACHED"
        assert complete["streamProcessingResults"]["message"] == "Stream Processing Success."
        assert complete["streamProcessingResults"]["labelsDetected"] == ["PERSON"]
        end = complete["inputInformation"]["kinesisVideo"]
        ended_at = (end["fragmentProducerTimestamp"] + end["frameOffsetMillis"]) / 1000 - start
        assert MAX_S - 0.05 <= ended_at <= MAX_S + 2.5, ended_at
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="doorbell")["Contents"]]
        assert len(keys) == 1 + len(labels)
        rek.delete_stream_processor(Name="porchPeople")
    finally:
        hook.close()


def test_stop_sends_the_end_of_session_message(server: RunningServer, media_dir: Path) -> None:
    """AWS publishes "an end-of-session notification with a summary" when the session ends: a
    StopStreamProcessor ends it too (not only MaxDurationInSeconds)."""
    hook = WebhookReceiver()
    producer = None
    try:
        rek, s3, video_arn, topic = _setup(server, hook)
        _create(rek, video_arn, topic, ["PERSON"])
        session = rek.start_stream_processor(Name="porchPeople", StopSelector={"MaxDurationInSeconds": 120})[
            "SessionId"
        ]
        _wait_status(rek, "porchPeople", "RUNNING")
        kvs = client("kinesisvideo", server.url)
        endpoint = kvs.get_data_endpoint(StreamName="porch", APIName="PUT_MEDIA")["DataEndpoint"]
        producer = _producer(endpoint, media_dir / "video" / "short_hamilton_clip.mp4", "porch", time.time())
        hook.wait_for("Notification", count=1, timeout=30)
        assert [m["eventNamespace"]["type"] for m in _messages(hook)] == ["LABEL_DETECTED"]
        rek.stop_stream_processor(Name="porchPeople")
        _wait_status(rek, "porchPeople", "STOPPED", timeout=30)
        hook.wait_for("Notification", count=2, timeout=30)
        detected, complete = _messages(hook)
        assert complete["eventNamespace"]["type"] == "STREAM_PROCESSING_COMPLETE"
        assert complete["sessionId"] == session
        assert complete["streamProcessingResults"] == {
            "message": "Stream Processing Success.",
            "reason": "STOPPED_BY_USER",
            "labelsDetected": ["PERSON"],
        }
        # the message points at the last fragment the session finished, one at or after the detection
        end, seen = complete["inputInformation"]["kinesisVideo"], detected["inputInformation"]["kinesisVideo"]
        assert end["streamArn"] == video_arn
        assert int(end["fragmentNumber"]) >= int(seen["fragmentNumber"])
        time.sleep(1.0)
        assert len(_messages(hook)) == 2, "a second end-of-session message"
    finally:
        if producer is not None and producer.poll() is None:
            producer.terminate()
            producer.wait(10)
        hook.close()
