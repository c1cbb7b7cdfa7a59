"""Jobs across worker nodes: a worker SIGKILLed mid-job is replaced by the other; a worker paused past its
lease cannot write once the job moved (fencing); the completion webhook arrives exactly once."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.cluster.conftest import client
from tests.conftest import RunningServer, free_port, make_settings
from tests.jobs.webhook import WebhookReceiver
from videolens.cli.local_cluster import LocalCluster, Node
from videolens.container import Container
from videolens.vision.models import ModelRegistry

ROLE_ARN = "arn:aws:iam::000000000000:role/x"


def _results(rekognition: Any, job_id: str, timeout_s: float = 180.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        page = rekognition.get_face_detection(JobId=job_id, MaxResults=1000)
        if page["JobStatus"] != "IN_PROGRESS":
            break
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.5)
    faces = list(page["Faces"])
    while page.get("NextToken"):
        page = rekognition.get_face_detection(JobId=job_id, MaxResults=1000, NextToken=page["NextToken"])
        faces += page["Faces"]
    return {"status": page["JobStatus"], "video": page["VideoMetadata"], "faces": faces}


def _start(url: str, hamilton_clip: Path, topic_arn: str | None = None) -> str:
    s3 = client("s3", url)
    if "videos" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="videos")
        s3.upload_file(str(hamilton_clip), "videos", "hamilton.mp4")
    options: dict[str, Any] = {}
    if topic_arn:
        options["NotificationChannel"] = {"SNSTopicArn": topic_arn, "RoleArn": ROLE_ARN}
    started = client("rekognition", url).start_face_detection(
        Video={"S3Object": {"Bucket": "videos", "Name": "hamilton.mp4"}}, **options
    )
    return str(started["JobId"])


@pytest.fixture(scope="module")
def single_node_results(
    tmp_path_factory: pytest.TempPathFactory, models: ModelRegistry, hamilton_clip: Path
) -> Iterator[dict[str, Any]]:
    """The same job on one embedded node (SQLite + files, in this process): the reference."""
    settings = make_settings(tmp_path_factory.mktemp("single"), port=free_port(), job_detect_every=3)
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    try:
        yield _results(client("rekognition", server.url), _start(server.url, hamilton_clip))
    finally:
        server.stop()
        container.close()


def _job_row(db: sa.Engine, job_id: str) -> dict[str, Any]:
    with db.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT status, progress, lease_owner, lease_token, attempts FROM jobs WHERE job_id = :j"
            ),
            {"j": job_id},
        ).one()
    return dict(row._mapping)


def _owner_when(
    cluster: LocalCluster, db: sa.Engine, job_id: str, min_progress: float
) -> tuple[Node, dict[str, Any]]:
    """The worker node running the job once its recorded progress passed `min_progress` percent."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = _job_row(db, job_id)
        assert row["status"] == "IN_PROGRESS", row
        if row["progress"] > min_progress and row["lease_owner"]:
            pid = int(row["lease_owner"].split(":")[1])
            node = cluster.node_by_pid(pid)
            assert node is not None and node.role == "worker"
            return node, row
        time.sleep(0.05)
    raise AssertionError(f"the job never passed {min_progress} %")


def _subscribed_topic(url: str, webhook: WebhookReceiver, name: str) -> str:
    sns = client("sns", url)
    topic_arn = str(sns.create_topic(Name=name)["TopicArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="http", Endpoint=webhook.url)
    assert webhook.confirmed.wait(30)
    return topic_arn


def _notifications(webhook: WebhookReceiver, job_id: str) -> list[dict[str, Any]]:
    kinds = [(r, r.headers.get("x-amz-sns-message-type")) for r in webhook.received]
    docs = [json.loads(r.doc["Message"]) for r, kind in kinds if kind == "Notification"]
    return [d for d in docs if d["JobId"] == job_id]


def test_sigkilled_worker_is_replaced(
    cluster: LocalCluster, db: sa.Engine, hamilton_clip: Path, single_node_results: dict[str, Any]
) -> None:
    a, b = cluster.api
    webhook = WebhookReceiver()
    victim: Node | None = None
    try:
        topic_arn = _subscribed_topic(a.url, webhook, "cluster-kill")
        job_id = _start(a.url, hamilton_clip, topic_arn)
        victim, row = _owner_when(cluster, db, job_id, 30.0)
        victim.signal(signal.SIGKILL)
        results = _results(client("rekognition", b.url), job_id)
        assert results == single_node_results
        assert results["status"] == "SUCCEEDED" and len(results["faces"]) > 10
        after = _job_row(db, job_id)
        assert after["attempts"] == 2 and after["lease_token"] == row["lease_token"] + 1
        survivor = cluster.node_by_pid(int(after["lease_owner"].split(":")[1]))
        assert survivor is not None and survivor is not victim and survivor.role == "worker"
        webhook.wait_for("Notification", timeout=30)
        time.sleep(2)  # a duplicate would come within the dispatchers' poll
        assert [n["Status"] for n in _notifications(webhook, job_id)] == ["SUCCEEDED"]
    finally:
        webhook.close()
        if victim is not None:  # the cluster gets its second worker back for the next tests
            cluster.start_node("worker", victim.index)


def test_paused_worker_cannot_write_after_its_lease_moved(
    cluster: LocalCluster, db: sa.Engine, hamilton_clip: Path, single_node_results: dict[str, Any]
) -> None:
    a, b = cluster.api
    webhook = WebhookReceiver()
    paused: Node | None = None
    try:
        topic_arn = _subscribed_topic(a.url, webhook, "cluster-pause")
        job_id = _start(a.url, hamilton_clip, topic_arn)
        paused, row = _owner_when(cluster, db, job_id, 30.0)
        paused.signal(signal.SIGSTOP)
        results = _results(client("rekognition", b.url), job_id)  # the other worker took it over
        assert results == single_node_results
        after = _job_row(db, job_id)
        assert after["lease_token"] == row["lease_token"] + 1
        webhook.wait_for("Notification", timeout=30)
        log_before = (paused.data_dir / "node.log").read_text()
        paused.signal(signal.SIGCONT)
        # the resumed worker finds its lease gone (fencing token moved) and stops without writing
        deadline = time.monotonic() + 30
        needle = f"job {job_id} stopped before the end"
        while needle not in (paused.data_dir / "node.log").read_text()[len(log_before) :]:
            assert time.monotonic() < deadline, "the resumed worker did not notice it lost the job"
            time.sleep(0.2)
        time.sleep(1)
        assert _job_row(db, job_id) == after
        assert _results(client("rekognition", a.url), job_id) == single_node_results
        assert [n["Status"] for n in _notifications(webhook, job_id)] == ["SUCCEEDED"]
    finally:
        webhook.close()
        if paused is not None:
            paused.signal(signal.SIGCONT)
