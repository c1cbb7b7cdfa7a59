"""The internal uploads bucket is cleaned after its job ends: the result stays downloadable for the
grace period (`VIDEOLENS_UPLOAD_GRACE_SECONDS`), then the upload and its results are deleted."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RunningServer, free_port, make_settings
from videolens.container import Container
from videolens.services.anonymize.uploads import UPLOAD_BUCKET
from videolens.vision.models import ModelRegistry

GRACE_S = 4.0


@pytest.fixture
def sweeping_server(tmp_path: Path, models: ModelRegistry) -> Iterator[RunningServer]:
    settings = make_settings(
        tmp_path / "data", port=free_port(), upload_grace_seconds=GRACE_S, upload_sweep_seconds=0.3
    )
    container = Container(settings, models=models)
    server = RunningServer(container).start()
    yield server
    server.stop()
    container.close()


def _objects(url: str) -> list[str]:
    r = httpx.get(f"{url}/v1/buckets/{UPLOAD_BUCKET}/objects", timeout=10)
    return [o["key"] for o in r.json()["objects"]] if r.status_code == 200 else []


def _wait_end(url: str, job_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}/v1/anonymize/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError("job did not end")


def test_uploads_are_deleted_after_the_grace_period(sweeping_server: RunningServer, tmp_path: Path) -> None:
    url = sweeping_server.url
    video = tmp_path / "small.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=10",
            "-t",
            "1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            str(video),
        ],
        check=True,
    )
    ok = httpx.post(f"{url}/v1/anonymize/jobs", files={"file": ("small.mp4", video.read_bytes())}, timeout=60)
    bad = httpx.post(
        f"{url}/v1/anonymize/jobs", files={"file": ("noise.mp4", b"\x00junk" * 1000)}, timeout=60
    )
    assert ok.status_code == 202 and bad.status_code == 202
    done = _wait_end(url, ok.json()["job_id"])
    failed = _wait_end(url, bad.json()["job_id"])
    assert done["status"] == "SUCCEEDED" and failed["status"] == "FAILED"
    ended = time.monotonic()
    # within the grace period: input and result are there, the result downloads
    keys = _objects(url)
    assert {k.split("/", 1)[1] for k in keys} == {"small.mp4", "small_anonymized.mp4", "noise.mp4"}
    assert httpx.get(f"{url}/v1/anonymize/jobs/{done['job_id']}/result", timeout=30).status_code == 200
    while _objects(url) and time.monotonic() - ended < GRACE_S + 10:
        time.sleep(0.2)
    assert _objects(url) == []
    assert time.monotonic() - ended >= GRACE_S - 1.0  # not before the grace period
    gone = httpx.get(f"{url}/v1/anonymize/jobs/{done['job_id']}/result", timeout=30)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{url}/v1/anonymize/jobs/{done['job_id']}", timeout=10).json()["status"] == "SUCCEEDED"
