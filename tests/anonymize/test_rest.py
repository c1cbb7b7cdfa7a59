"""REST: POST an upload or name a bucket object → job with progress → download the result."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.anonymize import synthetic
from tests.anonymize.conftest import MAGENTA, SceneVideo
from tests.conftest import RunningServer


def _wait(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    seen_progress: set[float] = set()
    while time.monotonic() < deadline:
        job = client.get(f"/v1/anonymize/jobs/{job_id}").json()
        seen_progress.add(job["progress"])
        if job["status"] in ("SUCCEEDED", "FAILED"):
            job["_seen"] = sorted(seen_progress)
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def test_upload_job_progress_and_download(
    server: RunningServer, two_people_video: SceneVideo, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        with two_people_video.path.open("rb") as fh:
            r = client.post(
                "/v1/anonymize/jobs",
                files={"file": ("walk.mp4", fh, "video/mp4")},
                data={"mode": "solid", "color": "#ff00ff", "boxes": "true"},
            )
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] in ("QUEUED", "IN_PROGRESS") and job["input"] == "walk.mp4"
        done = _wait(client, job["job_id"])
        assert done["status"] == "SUCCEEDED", done
        assert done["progress"] == 100.0 and done["frames_done"] == 90 and done["faces"] >= 2
        result = client.get(str(done["result_url"]))
        assert result.status_code == 200
        assert 'filename="walk_anonymized.mp4"' in result.headers["content-disposition"]
        out = tmp_path / "out.mp4"
        out.write_bytes(result.content)
        boxes = client.get(str(done["boxes_url"])).json()
        assert len(boxes["frames"]) == 90
        listed = client.get("/v1/anonymize/jobs").json()["jobs"]
        assert [j["job_id"] for j in listed] == [job["job_id"]]
        assert client.delete(f"/v1/anonymize/jobs/{job['job_id']}").status_code == 204
        assert client.get(f"/v1/anonymize/jobs/{job['job_id']}").status_code == 404
    cov = synthetic.coverage(
        two_people_video.scene, synthetic.read_frames(out), synthetic.solid_hidden(MAGENTA)
    )
    assert cov.fraction >= 0.995 and cov.exposed == []


def test_bucket_object_job_and_errors(server: RunningServer, hamilton_clip: Path) -> None:
    storage = server.container.storage
    storage.create_bucket("media")
    storage.put_object_bytes("media", "notes/clip.mp4", b"plain text, not a video")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "notes/clip.mp4"})
        assert r.status_code == 202, r.text
        failed = _wait(client, r.json()["job_id"])
        assert failed["status"] == "FAILED" and failed["error_code"] == "invalid-media"
        assert "not a readable media file" in str(failed["error"])
        assert client.get(f"/v1/anonymize/jobs/{failed['job_id']}/result").status_code == 409

        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "missing.mp4"})
        assert r.status_code == 404
        r = client.post("/v1/anonymize/jobs", data={"mode": "blur"})
        assert r.status_code == 400 and "either a 'file' upload" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "x", "mode": "smudge"})
        assert r.status_code == 400 and "mode must be one of" in r.json()["detail"]
        r = client.post("/v1/anonymize/jobs", data={"bucket": "media", "key": "notes/clip.mp4",
                                                    "spare_collection": "nobody"})  # fmt: skip
        assert r.status_code == 404
