"""The seed's serverless flow with boto3 unchanged except the endpoint: SNS topic + HTTP subscription,
S3 upload, StartFaceDetection with a notification channel, SNS completion message, paged results."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client
from tests.jobs.webhook import WebhookReceiver
from videolens.services.events.messages import verify_signature_header

ROLE_ARN = "arn:aws:iam::000000000000:role/x"


def test_seed_face_detection_flow(
    server: RunningServer, webhook: WebhookReceiver, hamilton_clip: Path
) -> None:
    sns = aws_client("sns", server.url)
    s3 = aws_client("s3", server.url)
    rekognition = aws_client("rekognition", server.url)

    # --- the seed code, unchanged apart from endpoint_url ---
    topic_arn = sns.create_topic(Name="AmazonRekognitionJobs")["TopicArn"]
    assert topic_arn == "arn:aws:sns:us-east-1:000000000000:AmazonRekognitionJobs"
    sub = sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=webhook.url)
    assert sub["SubscriptionArn"] == "pending confirmation"
    assert webhook.confirmed.wait(30), "the endpoint never got a SubscriptionConfirmation"
    subs = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert [s["Endpoint"] for s in subs] == [webhook.url]
    assert subs[0]["SubscriptionArn"].startswith(topic_arn + ":")

    s3.create_bucket(Bucket="videos")
    s3.upload_file(str(hamilton_clip), "videos", "short_hamilton_clip.mp4")
    response = rekognition.start_face_detection(
        Video={"S3Object": {"Bucket": "videos", "Name": "short_hamilton_clip.mp4"}},
        NotificationChannel={"SNSTopicArn": topic_arn, "RoleArn": ROLE_ARN},
        JobTag="hamilton-faces",
    )
    job_id = response["JobId"]
    assert len(job_id) == 64

    # the API stays responsive while the job runs
    early = rekognition.get_face_detection(JobId=job_id)
    assert early["JobStatus"] in ("IN_PROGRESS", "SUCCEEDED")

    note = webhook.wait_for("Notification", timeout=300)[0]
    envelope = note.doc
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic_arn
    assert note.headers["x-amz-sns-topic-arn"] == topic_arn
    assert note.headers["content-type"].startswith("text/plain")
    message = json.loads(envelope["Message"])
    timestamp = message.pop("Timestamp")
    assert isinstance(timestamp, int) and timestamp > 1_700_000_000_000
    assert message == {
        "JobId": job_id,
        "Status": "SUCCEEDED",
        "API": "StartFaceDetection",
        "JobTag": "hamilton-faces",
        "Video": {"S3ObjectName": "short_hamilton_clip.mp4", "S3Bucket": "videos"},
    }
    # our HMAC header verifies with the subscription's secret
    secret = server.container.events.get_subscription(subs[0]["SubscriptionArn"]).secret
    assert verify_signature_header(note.headers["x-videolens-signature"], note.body, secret)

    # the seed's paging loop
    faces = []
    pages = 0
    pagination_token = ""
    finished = False
    while not finished:
        page = rekognition.get_face_detection(JobId=job_id, MaxResults=10, NextToken=pagination_token)
        pages += 1
        assert page["JobStatus"] == "SUCCEEDED"
        assert page["JobId"] == job_id and page["JobTag"] == "hamilton-faces"
        assert page["Video"] == {"S3Object": {"Bucket": "videos", "Name": "short_hamilton_clip.mp4"}}
        meta = page["VideoMetadata"]
        assert meta["Codec"] == "h264" and meta["Format"] == "QuickTime / MOV"
        assert (meta["FrameWidth"], meta["FrameHeight"]) == (640, 360)
        assert abs(meta["FrameRate"] - 29.97) < 0.01 and abs(meta["DurationMillis"] - 9176) <= 40
        assert meta["ColorRange"] == "LIMITED"
        faces.extend(page["Faces"])
        if "NextToken" in page:
            pagination_token = page["NextToken"]
        else:
            finished = True
    assert pages == (len(faces) + 9) // 10 and pages >= 3

    times = [f["Timestamp"] for f in faces]
    assert times == sorted(times)
    assert all(t % 500 == 0 for t in times)  # one report per 500 ms sample
    by_time: dict[int, list[dict]] = {}
    for f in faces:
        by_time.setdefault(f["Timestamp"], []).append(f["Face"])
        box = f["Face"]["BoundingBox"]
        assert 0 <= box["Left"] <= 1 and 0 < box["Width"] < 1 and 0 <= f["Face"]["Confidence"] <= 100
        assert {lm["Type"] for lm in f["Face"]["Landmarks"]} >= {"eyeLeft", "eyeRight", "nose"}
    # the clip: a crowd shot (0-2.5 s), a close-up of one face (3-6.5 s), then a group (7-9 s)
    assert set(by_time) == set(range(0, 9001, 500))
    for t in range(3000, 6501, 500):
        assert len(by_time[t]) == 1 and by_time[t][0]["BoundingBox"]["Width"] > 0.1, t
    for t in range(7000, 9001, 500):
        assert len(by_time[t]) >= 4, t
    for t in range(0, 2501, 500):
        assert all(face["BoundingBox"]["Width"] < 0.35 for face in by_time[t])
