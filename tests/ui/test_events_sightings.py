"""Events "Redeliver" and Sightings "Enrol as…" in real Chromium, against real deliveries and a real job."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import httpx
from botocore.config import Config
from playwright.sync_api import Browser

from tests.anonymize.synthetic import Actor, linear, load_sprite, render, square, write_video
from tests.auth.conftest import SecureApp, start_secure
from tests.jobs.webhook import WebhookReceiver
from tests.ui.conftest import Watched, token, watch
from videolens.services.auth.models import Role
from videolens.vision.models import ModelRegistry


def test_redeliver_a_dead_letter(browser: Browser, tmp_path: Path, models: ModelRegistry) -> None:
    # one attempt, then the dead-letter list: the test does not wait out the production back-off
    app = start_secure(tmp_path, models, event_max_attempts=1, event_retry_base_seconds=0.2)
    hook = WebhookReceiver(fail_first=1)
    ui = watch(browser, app.url)
    try:
        events = app.container.events
        topic = events.create_topic("doorbell")
        events.subscribe(topic.topic_arn, "http", hook.url)
        assert hook.confirmed.wait(30)
        message_id = events.publish(topic.topic_arn, "ring")
        deadline = time.monotonic() + 30
        while not events.dead_letters():
            assert time.monotonic() < deadline, "the failed delivery never reached the dead letters"
            time.sleep(0.1)
        dead = events.dead_letters()[0]

        ui.sign_in(token(app, Role.OPERATOR))
        page = ui.page
        page.get_by_role("link", name="Events").click()
        button = page.get_by_role("button", name=f"Redeliver notification {dead.delivery_id}")
        button.click()
        page.get_by_text(f"Notification {dead.delivery_id} queued again.").wait_for()
        # the endpoint now gets the same message a second time, and the dead-letter list is empty
        got = hook.wait_for("Notification", count=2, timeout=30)
        assert [g.doc["MessageId"] for g in got] == [message_id, message_id]
        deadline = time.monotonic() + 30
        while events.dead_letters():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        page.get_by_role("button", name="Refresh").click()
        page.get_by_role("button", name=f"Redeliver notification {dead.delivery_id}").wait_for(
            state="detached"
        )
        assert ui.errors == [] and ui.foreign() == []
    finally:
        ui.page.context.close()
        hook.close()
        app.server.stop()
        app.container.close()


def test_enrol_an_unknown_person_from_sightings(
    ui: Watched, app: SecureApp, media_dir: Path, tmp_path: Path
) -> None:
    # a 6 s video with a man enrolled nowhere on screen from 1.5 s to 4.5 s, searched by a stored-video job
    biden = load_sprite(media_dir, "biden", "biden2.jpg")
    path2d = linear(square(240, 180, 110), square(264, 180, 110), 1.5, 4.5)
    scene = render("enrol", 480, 360, 15, 6.0, [Actor(biden, path2d, 1.5, 4.5)], seed=5)
    video = write_video(tmp_path / "hall.mp4", scene)
    key_id, secret = app.keys[Role.OPERATOR]
    aws = {
        "endpoint_url": app.url,
        "region_name": "us-east-1",
        "aws_access_key_id": key_id,
        "aws_secret_access_key": secret,
        "config": Config(retries={"max_attempts": 1}),
    }
    s3, rek = boto3.client("s3", **aws), boto3.client("rekognition", **aws)  # type: ignore[call-overload]
    rek.create_collection(CollectionId="staff")
    s3.create_bucket(Bucket="cams")
    s3.put_object(Bucket="cams", Key="hall.mp4", Body=video.read_bytes())
    job = rek.start_face_search(
        Video={"S3Object": {"Bucket": "cams", "Name": "hall.mp4"}}, CollectionId="staff"
    )
    deadline = time.monotonic() + 240
    while rek.get_face_search(JobId=job["JobId"], MaxResults=1)["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    viewer = app.bearer(Role.VIEWER)
    groups = httpx.get(app.url + "/v1/sightings/groups", headers=viewer).json()["Groups"]
    assert len(groups) == 1, groups
    group_id = groups[0]["group_id"]

    ui.sign_in(token(app, Role.OPERATOR))
    page = ui.page
    page.get_by_role("link", name="Sightings").click()
    form = page.get_by_role("form", name=f"Unknown person {group_id[:8]}")
    form.get_by_label("Enrol as").fill("biden")
    form.get_by_label("Into collection").select_option("staff")
    form.get_by_role("button", name="Enrol").click()
    page.get_by_text("Enrolled as biden.").wait_for()
    faces = httpx.get(app.url + "/v1/collections/staff/faces", headers=viewer).json()["faces"]
    assert [f["external_image_id"] for f in faces] == ["biden"]
    # the enrolled face is searchable by another photo of the same man, and has its thumbnail
    probe = (media_dir / "faces" / "biden" / "biden.jpg").read_bytes()
    hit = httpx.post(
        app.url + "/v1/collections/staff/search",
        content=probe,
        headers={**viewer, "Content-Type": "image/jpeg"},
    ).json()
    assert hit["matches"][0]["face"]["face_id"] == faces[0]["face_id"]
    thumb = httpx.get(f"{app.url}/v1/collections/staff/faces/{faces[0]['face_id']}/thumbnail", headers=viewer)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    page.get_by_role("link", name="People").click()
    page.get_by_role("listitem", name="biden").get_by_text("1 face").wait_for()
    assert ui.errors == [] and ui.foreign() == []
