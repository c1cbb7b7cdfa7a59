"""Jobs through the native REST API and the Rekognition error codes: cancel, failure with the error kept."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client
from videolens.services.events.models import LocalMessage


def _wait(api: httpx.Client, job_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict = api.get(f"/v1/jobs/{job_id}").json()  # type: ignore[type-arg]
        if job["status"] != "IN_PROGRESS":
            return job
        time.sleep(0.2)
    raise TimeoutError(job_id)


def test_rest_jobs_cancel_and_failures(server: RunningServer, hamilton_clip: Path) -> None:
    api = httpx.Client(base_url=server.url, timeout=30)
    s3 = aws_client("s3", server.url)
    rekognition = aws_client("rekognition", server.url)
    s3.create_bucket(Bucket="media")
    s3.upload_file(str(hamilton_clip), "media", "clip.mp4")
    s3.put_object(Bucket="media", Key="broken.mp4", Body=b"\x00" * 4096)

    events = server.container.events
    topic = events.create_topic("job-status")
    messages: list[dict] = []  # type: ignore[type-arg]
    got = threading.Event()

    def on_message(m: LocalMessage) -> None:
        messages.append(json.loads(m.message))
        got.set()

    events.subscribe_local(topic.topic_arn, on_message)

    # a video that does not decode: the job FAILS, keeps the error, and says so on its topic
    r = api.post(
        "/v1/jobs",
        json={"type": "face-detection", "bucket": "media", "key": "broken.mp4", "topic_arn": topic.topic_arn},
    )
    assert r.status_code == 202, r.text
    failed = _wait(api, r.json()["job_id"])
    assert failed["status"] == "FAILED" and "broken.mp4" in failed["status_message"]
    assert got.wait(10)
    assert messages[0]["Status"] == "FAILED" and messages[0]["JobId"] == failed["job_id"]
    assert messages[0]["API"] == "StartFaceDetection" and "JobTag" not in messages[0]
    page = rekognition.get_face_detection(JobId=failed["job_id"])
    assert page["JobStatus"] == "FAILED" and page["StatusMessage"] == failed["status_message"]
    assert page["Faces"] == []

    # cancel a running job
    started = api.post(
        "/v1/jobs", json={"type": "face-detection", "bucket": "media", "key": "clip.mp4"}
    ).json()
    cancelled = api.post(f"/v1/jobs/{started['job_id']}/cancel").json()
    assert cancelled["status"] == "CANCELLED"
    time.sleep(1.0)
    assert api.get(f"/v1/jobs/{started['job_id']}").json()["status"] == "CANCELLED"
    assert rekognition.get_face_detection(JobId=started["job_id"])["JobStatus"] == "FAILED"

    listed = api.get("/v1/jobs", params={"max_results": 1}).json()
    assert len(listed["jobs"]) == 1 and listed["next_token"]
    rest = api.get("/v1/jobs", params={"next_token": listed["next_token"]}).json()
    assert {j["job_id"] for j in listed["jobs"] + rest["jobs"]} == {failed["job_id"], started["job_id"]}
    assert [j["job_id"] for j in api.get("/v1/jobs", params={"status": "FAILED"}).json()["jobs"]] == [
        failed["job_id"]
    ]

    # error codes on both front doors
    assert api.get("/v1/jobs/nope").status_code == 404
    assert (
        api.post(
            "/v1/jobs",
            json={
                "type": "face-search",
                "bucket": "media",
                "key": "clip.mp4",
                "params": {"collection_id": "none"},
            },
        ).status_code
        == 404
    )
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.get_face_detection(JobId="a" * 64)
    with pytest.raises(rekognition.exceptions.InvalidS3ObjectException):
        rekognition.start_face_detection(Video={"S3Object": {"Bucket": "media", "Name": "missing.mp4"}})
    with pytest.raises(rekognition.exceptions.ResourceNotFoundException):
        rekognition.start_face_search(
            Video={"S3Object": {"Bucket": "media", "Name": "clip.mp4"}}, CollectionId="no-such-collection"
        )
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.start_face_detection(
            Video={"S3Object": {"Bucket": "media", "Name": "clip.mp4"}},
            NotificationChannel={
                "SNSTopicArn": "arn:aws:sns:us-east-1:000000000000:missing",
                "RoleArn": "arn:aws:iam::000000000000:role/x",
            },
        )
    with pytest.raises(rekognition.exceptions.InvalidParameterException):
        rekognition.start_face_detection(
            Video={"S3Object": {"Bucket": "media", "Name": "clip.mp4"}}, JobTag="bad tag with spaces"
        )
    with pytest.raises(rekognition.exceptions.InvalidPaginationTokenException):
        rekognition.get_face_detection(JobId=failed["job_id"], NextToken="garbage")
