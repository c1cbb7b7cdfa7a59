"""REST on the durable jobs service: upload or bucket object → job → progress → download; cancel; restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.anonymize import synthetic
from tests.anonymize.conftest import MAGENTA, SceneVideo
from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.runtime.settings import Settings
from videolens.services.anonymize.uploads import UPLOAD_BUCKET
from videolens.services.jobs.models import JOB_METADATA_KEY
from videolens.vision.models import ModelRegistry

FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # a short lease → a heartbeat (and so a progress write) every 0.3 s
    return make_settings(tmp_path / "data", port=free_port(), job_lease_seconds=1.2)


def _wait(client: httpx.Client, job_id: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    seen: list[float] = []
    while time.monotonic() < deadline:
        job = client.get(f"/v1/anonymize/jobs/{job_id}").json()
        seen.append(job["progress"])
        if job["status"] in FINAL:
            assert seen == sorted(seen), f"progress went backwards: {seen}"
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_job_progress_and_download(
    server: RunningServer, two_people_video: SceneVideo, tmp_path: Path
) -> None:
    storage = server.container.storage
    # a rule on the upload bucket must not fire for uploads nor results (they carry the job marker)
    storage.create_bucket(UPLOAD_BUCKET)
    server.container.rules.create(UPLOAD_BUCKET, "anonymize", rule_id="loop-guard")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        with two_people_video.path.open("rb") as fh:
            r = client.post(
                "/v1/anonymize/jobs",
                files={"file": ("walk.mp4", fh, "video/mp4")},
                data={"mode": "solid", "color": "#ff00ff", "boxes": "true"},
            )
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("QUEUED", "IN_PROGRESS") and job["input"] == "walk.mp4"
        assert job["bucket"] == UPLOAD_BUCKET and job["key"].endswith("/walk.mp4")
        done = _wait(client, job["job_id"])
        assert done["status"] == "SUCCEEDED", done
        assert done["progress"] == 100.0 and done["frames_done"] == 90 and done["faces"] >= 2  # type: ignore[operator]
        assert done["error"] is None and done["error_code"] is None
        result = done["result"]
        assert isinstance(result, dict) and result["bucket"] == UPLOAD_BUCKET
        assert result["key"] == job["key"].replace("/walk.mp4", "/walk_anonymized.mp4")
        assert result["boxes_key"] == job["key"].replace("/walk.mp4", "/walk_anonymized.boxes.json")

        download = client.get(str(done["result_url"]))
        assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
        assert 'filename="walk_anonymized.mp4"' in download.headers["content-disposition"]
        out = tmp_path / "out.mp4"
        out.write_bytes(download.content)
        boxes = client.get(str(done["boxes_url"]))
        assert boxes.headers["content-type"] == "application/json"
        assert len(boxes.json()["frames"]) == 90

        listed = client.get("/v1/anonymize/jobs").json()["jobs"]
        assert [j["job_id"] for j in listed] == [job["job_id"]]  # the rule started nothing
        # the same job is a plain durable job of /v1/jobs
        assert client.get(f"/v1/jobs/{job['job_id']}").json()["job_type"] == "anonymize"
        # cancelling a finished job changes nothing
        cancelled = client.delete(f"/v1/anonymize/jobs/{job['job_id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "SUCCEEDED"
    assert storage.head_object(UPLOAD_BUCKET, job["key"]).metadata == {JOB_METADATA_KEY: "upload"}
    assert storage.head_object(UPLOAD_BUCKET, result["key"]).metadata == {JOB_METADATA_KEY: job["job_id"]}
    frames = synthetic.read_frames(out)
    assert len(frames) == len(two_people_video.scene.frames) == 90
    cov = synthetic.coverage(two_people_video.scene, frames, synthetic.solid_hidden(MAGENTA))
    assert cov.fraction >= 0.995 and cov.exposed == []


def test_bucket_object_json_and_errors(server: RunningServer, two_people_video: SceneVideo) -> None:
    storage = server.container.storage
    storage.create_bucket("media")
    storage.put_object_bytes("media", "in/walk.mp4", two_people_video.path.read_bytes())
    storage.put_object_bytes("media", "notes/clip.mp4", b"plain text, not a video")
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post(
            "/v1/anonymize/jobs",
            json={"bucket": "media", "key": "in/walk.mp4", "mode": "blur", "output_key": "out/w.mp4"},
        )
        assert r.status_code == 202, r.text
        done = _wait(client, r.json()["job_id"])
        assert done["status"] == "SUCCEEDED" and done["frames_done"] == 90, done
        assert done["result"] == {"bucket": "media", "key": "out/w.mp4", "boxes_key": None}
        assert done["boxes_url"] is None
        assert client.get(f"/v1/anonymize/jobs/{done['job_id']}/boxes").status_code == 404
        out = client.get(str(done["result_url"]))
        assert out.content == b"".join(storage.open_object("media", "out/w.mp4")[1])

        # not a video: the job fails with a clear, typed error (bucket object, then an upload)
        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "notes/clip.mp4"})
        assert r.status_code == 202, r.text
        failed = _wait(client, r.json()["job_id"])
        assert failed["status"] == "FAILED" and failed["error_code"] == "invalid-media"
        assert "not a readable media file" in str(failed["error"])
        assert client.get(f"/v1/anonymize/jobs/{failed['job_id']}/result").status_code == 409
        r = client.post("/v1/anonymize/jobs", files={"file": ("notes.mp4", b"hello", "video/mp4")})
        failed = _wait(client, r.json()["job_id"])
        assert failed["status"] == "FAILED" and failed["error_code"] == "invalid-media"

        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "missing.mp4"})
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json"
        assert "media/missing.mp4" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", json={"bucket": "nobucket", "key": "a.mp4"})
        assert r.status_code == 400 and "nobucket/a.mp4" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", data={"mode": "blur"})
        assert r.status_code == 400 and "either a 'file' upload" in r.json()["detail"]
        walk = {"bucket": "media", "key": "in/walk.mp4"}
        r = client.post("/v1/anonymize/jobs", data={**walk, "mode": "smudge"})
        assert r.status_code == 400 and "mode must be one of" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", data={**walk, "crf": "high"})
        assert r.status_code == 400 and "crf" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", json={**walk, "colour": "red"})
        assert r.status_code == 400 and "colour" in r.json()["detail"]
        r = client.post(
            "/v1/anonymize/jobs",
            files={"file": ("a.mp4", b"x", "video/mp4")},
            data={"spare_collection": "nobody"},
        )
        assert r.status_code == 404
        assert client.get("/v1/anonymize/jobs/nosuchjob").status_code == 404
    # refused submissions left no upload behind
    uploads = storage.list_objects(UPLOAD_BUCKET).objects
    assert len(uploads) == 1 and uploads[0].key.endswith("/notes.mp4")


def test_cancel_stops_a_running_job(server: RunningServer, hamilton_clip: Path) -> None:
    tmp_dir = server.container.settings.data_dir / "tmp"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        with hamilton_clip.open("rb") as fh:
            r = client.post(
                "/v1/anonymize/jobs",
                files={"file": ("hamilton.mp4", fh, "video/mp4")},
                data={"detect_every": "1", "detect_size": "1280", "preset": "medium"},
            )
        job_id = r.json()["job_id"]
        deadline = time.monotonic() + 60
        while (job := client.get(f"/v1/anonymize/jobs/{job_id}").json())["progress"] == 0:
            assert job["status"] in ("QUEUED", "IN_PROGRESS") and time.monotonic() < deadline
            time.sleep(0.05)
        assert job["status"] == "IN_PROGRESS" and 0 < job["progress"] < 50, job
        cancelled_at = time.monotonic()
        r = client.delete(f"/v1/anonymize/jobs/{job_id}")
        assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
        # the worker stops within a frame batch: its temp files go, no result is written
        while any(tmp_dir.iterdir()):
            assert time.monotonic() - cancelled_at < 5, "the cancelled job kept running"
            time.sleep(0.05)
        stopped_after = time.monotonic() - cancelled_at
        final = client.get(f"/v1/anonymize/jobs/{job_id}").json()
        assert final["status"] == "CANCELLED" and final["result_url"] is None
        assert final["progress"] < 60
        assert client.get(f"/v1/anonymize/jobs/{job_id}/result").status_code == 409
    keys = [o.key for o in server.container.storage.list_objects(UPLOAD_BUCKET).objects]
    assert len(keys) == 1 and keys[0].endswith("/hamilton.mp4"), keys  # no result object
    assert stopped_after < 5


def test_job_survives_a_restart(
    settings: Settings, models: ModelRegistry, two_people_video: SceneVideo, tmp_path: Path
) -> None:
    idle = settings.model_copy(update={"job_workers": 0})
    first = Container(idle, models=models)
    srv = RunningServer(first).start()
    try:
        with two_people_video.path.open("rb") as fh:
            r = httpx.post(
                f"{srv.url}/v1/anonymize/jobs",
                files={"file": ("walk.mp4", fh, "video/mp4")},
                data={"mode": "solid", "color": "#ff00ff"},
                timeout=60,
            )
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        time.sleep(0.5)
        assert httpx.get(f"{srv.url}/v1/anonymize/jobs/{job_id}").json()["status"] == "QUEUED"
    finally:
        srv.stop()
        first.close()

    again = Container(settings.model_copy(update={"port": free_port()}), models=models)
    srv = RunningServer(again).start()  # its lifespan starts the job workers
    try:
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            done = _wait(client, job_id)
            assert done["status"] == "SUCCEEDED" and done["frames_done"] == 90, done
            out = tmp_path / "after_restart.mp4"
            out.write_bytes(client.get(str(done["result_url"])).content)
    finally:
        srv.stop()
        again.close()
    cov = synthetic.coverage(
        two_people_video.scene, synthetic.read_frames(out), synthetic.solid_hidden(MAGENTA)
    )
    assert cov.fraction >= 0.995 and cov.exposed == []


def test_upload_over_the_cap_is_refused(settings: Settings, models: ModelRegistry) -> None:
    container = Container(settings.model_copy(update={"max_upload_bytes": 3 * 1024 * 1024}), models=models)
    srv = RunningServer(container).start()
    try:
        big = b"\0" * (3 * 1024 * 1024 + 1)
        r = httpx.post(f"{srv.url}/v1/anonymize/jobs", files={"file": ("big.mp4", big)}, timeout=60)
        assert r.status_code == 413 and r.json()["type"].endswith("payload-too-large"), r.text
        assert container.storage.list_objects(UPLOAD_BUCKET).objects == []  # nothing half-stored
        assert container.jobs.list()[0] == []
    finally:
        srv.stop()
        container.close()
