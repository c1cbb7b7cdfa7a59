"""A bucket rule starts an anonymization job on upload; the result lands as an object and the completion
notification arrives over MQTT (real Mosquitto broker) and a webhook."""

from __future__ import annotations

import json
import queue
import time
import uuid
from pathlib import Path

import av
import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.anonymize.synthetic import two_people_scene, write_video
from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client
from tests.jobs.webhook import WebhookReceiver

BROKER = ("127.0.0.1", 1883)


def _mqtt_listener(topic: str) -> tuple[mqtt.Client, queue.Queue[bytes]]:
    received: queue.Queue[bytes] = queue.Queue()
    subscribed = queue.Queue[int]()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, msg: received.put(msg.payload)
    client.on_subscribe = lambda *_args: subscribed.put(1)
    client.on_connect = lambda c, *_args: c.subscribe(topic, qos=1)
    client.connect(*BROKER)
    client.loop_start()
    subscribed.get(timeout=10)
    return client, received


def test_rule_anonymizes_upload_and_notifies(
    server: RunningServer, webhook: WebhookReceiver, media_dir: Path, tmp_path: Path
) -> None:
    api = httpx.Client(base_url=server.url, timeout=30)
    mqtt_topic = f"videolens/test/{uuid.uuid4().hex}"
    listener, mqtt_messages = _mqtt_listener(mqtt_topic)
    try:
        topic = api.post("/v1/topics", json={"name": "anonymized"}).json()
        topic_arn = topic["topic_arn"]
        mqtt_sub = api.post(
            "/v1/topics/anonymized/subscriptions",
            json={"protocol": "mqtt", "endpoint": f"mqtt://127.0.0.1:1883/{mqtt_topic}"},
        )
        assert mqtt_sub.status_code == 201 and mqtt_sub.json()["confirmed"] is True
        web_sub = api.post(
            "/v1/topics/anonymized/subscriptions", json={"protocol": "http", "endpoint": webhook.url}
        )
        assert web_sub.json()["confirmed"] is False
        assert webhook.confirmed.wait(30)

        s3 = aws_client("s3", server.url)
        s3.create_bucket(Bucket="uploads")
        rule = api.post(
            "/v1/rules",
            json={
                "rule_id": "blur-incoming",
                "bucket": "uploads",
                "prefix": "incoming/",
                "suffix": ".mp4",
                "job_type": "anonymize",
                "params": {"mode": "solid", "detect_every": 2},
                "topic_arn": topic_arn,
            },
        )
        assert rule.status_code == 201, rule.text
        assert [r["rule_id"] for r in api.get("/v1/rules").json()] == ["blur-incoming"]

        video = write_video(tmp_path / "people.mp4", two_people_scene(media_dir))
        s3.put_object(Bucket="uploads", Key="other/ignored.mp4", Body=video.read_bytes())  # no match: prefix
        s3.put_object(Bucket="uploads", Key="incoming/people.mp4", Body=video.read_bytes())
        uploaded = time.time()

        payload = mqtt_messages.get(timeout=300)
        envelope = json.loads(payload)
        message = json.loads(envelope["Message"])
        jobs = api.get("/v1/jobs").json()["jobs"]
        assert len(jobs) == 1  # one upload matched; the job's own output did not trigger the rule again
        job = jobs[0]
        assert message["JobId"] == job["job_id"] and message["Status"] == "SUCCEEDED"
        assert message["API"] == "StartAnonymization" and message["JobTag"] == "rule:blur-incoming"
        assert message["Video"] == {"S3ObjectName": "incoming/people.mp4", "S3Bucket": "uploads"}
        assert envelope["TopicArn"] == topic_arn and envelope["Type"] == "Notification"

        note = webhook.wait_for("Notification", timeout=60)[0]
        assert json.loads(note.doc["Message"]) == message
        assert note.at >= uploaded

        assert job["status"] == "SUCCEEDED" and job["output"]["key"] == "incoming/people_anonymized.mp4"
        assert job["output"]["faces"] >= 2
        out_path = tmp_path / "out.mp4"
        s3.download_file("uploads", "incoming/people_anonymized.mp4", str(out_path))
        with av.open(str(out_path)) as container:
            stream = container.streams.video[0]
            out_frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        assert len(out_frames) == 90
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="uploads")["Contents"]]
        assert sorted(keys) == ["incoming/people.mp4", "incoming/people_anonymized.mp4", "other/ignored.mp4"]
        # both faces are blacked out in the middle frame (solid mode): the face centres are near black
        mid = out_frames[45]
        h, w = mid.shape[:2]
        dark = (mid.max(axis=2) < 40).mean()
        assert dark > 0.03, dark  # two ~76 px face ovals on a 320x240 picture
        assert (h, w) == (240, 320)
    finally:
        listener.loop_stop()
        listener.disconnect()
