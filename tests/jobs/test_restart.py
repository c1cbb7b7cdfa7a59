"""A job survives SIGKILL of the server: after a restart it is claimed again, with the same results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import REPO_ROOT, free_port
from tests.jobs.conftest import TEST_DETECT_EVERY, aws_client
from videolens.backends.metadata.database import Database
from videolens.backends.metadata.tables.jobs import JobRow


@contextmanager
def serve(data_dir: Path, port: int, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`videolens serve` on `data_dir` as a real process (a restart test kills it and starts another)."""
    env = {
        **os.environ,
        "VIDEOLENS_DATA_DIR": str(data_dir),
        "VIDEOLENS_PORT": str(port),
        "VIDEOLENS_HOST": "127.0.0.1",
        "VIDEOLENS_JOB_LEASE_SECONDS": "3",
        "VIDEOLENS_JOB_DETECT_EVERY": str(TEST_DETECT_EVERY),
        "VIDEOLENS_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    cli = Path(sys.executable).with_name("videolens")
    proc = subprocess.Popen([str(cli), "serve"], env=env, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _job(url: str, job_id: str) -> dict:  # type: ignore[type-arg]
    doc: dict = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json()  # type: ignore[type-arg]
    return doc


def _wait_done(url: str, job_id: str, timeout: float = 300) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(url, job_id)
        if job["status"] != "IN_PROGRESS":
            return job
        time.sleep(0.3)
    raise TimeoutError(job_id)


def _results(url: str, job_id: str) -> list[dict]:  # type: ignore[type-arg]
    items: list[dict] = []  # type: ignore[type-arg]
    token = None
    while True:
        params = {"max_results": 50, **({"next_token": token} if token else {})}
        page = httpx.get(f"{url}/v1/jobs/{job_id}/results", params=params, timeout=10).json()
        items.extend(page["items"])
        token = page.get("next_token")
        if not token:
            return items


def test_job_survives_sigkill(tmp_path: Path, hamilton_clip: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serve(data_dir, port) as proc:
        s3 = aws_client("s3", url)
        rekognition = aws_client("rekognition", url)
        s3.create_bucket(Bucket="videos")
        s3.upload_file(str(hamilton_clip), "videos", "clip.mp4")
        video = {"S3Object": {"Bucket": "videos", "Name": "clip.mp4"}}
        job_id = rekognition.start_face_detection(Video=video, ClientRequestToken="killed")["JobId"]
        deadline = time.monotonic() + 120
        while _job(url, job_id)["progress"] < 30:
            assert time.monotonic() < deadline, "the job made no progress"
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # what the dead worker left behind: a running job with an (expiring) lease and no results
    db = Database(f"sqlite:///{data_dir / 'videolens.db'}")
    with db.session() as session:
        row = session.get(JobRow, job_id)
        assert row is not None and row.status == "IN_PROGRESS" and row.attempts == 1 and row.progress >= 30
        assert row.lease_expires is not None
    db.dispose()
    with serve(data_dir, port):
        done = _wait_done(url, job_id)
        assert done["status"] == "SUCCEEDED", done
        assert done["attempts"] == 2
        resumed = _results(url, job_id)
        # an uninterrupted run of the same video, for reference
        rekognition = aws_client("rekognition", url)
        ref_id = rekognition.start_face_detection(Video=video, ClientRequestToken="reference")["JobId"]
        assert _wait_done(url, ref_id)["status"] == "SUCCEEDED"
        reference = _results(url, ref_id)
        assert len(resumed) == done["result_count"] > 20
        assert resumed == reference
        # the boto3 view agrees too
        page = rekognition.get_face_detection(JobId=job_id)
        assert len(page["Faces"]) == len(reference) and "NextToken" not in page
