"""Hostile media against a real server process: lying Matroska into PutMedia, corrupt MP4/MKV into
uploads and stored-video jobs and anonymize, image bombs into face detect/index (REST and AWS).

Each gets a clear error in its door's format; the server's resident memory stays under a bound the
whole time (sampled every 20 ms); the server keeps answering; the fragments stored before the bad
bytes are still listed and read back byte for byte.
"""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path
from typing import Any

import av
import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.hostile import media
from tests.hostile.conftest import RssSampler, ServerProcess
from tests.streams.conftest import mkv_from
from videolens.producer import chunks_of, put_media

#: the server's resident memory may grow by at most this much over its idle size while it eats all
#: of the hostile inputs below (a 30000x30000 bomb decoded would take 900 MB)
RSS_GROWTH_LIMIT = 256 * 1024 * 1024
BAD_INPUT = (400, 413)


def _aws(url: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=120),
    )


def _media_packets(url: str, stream: str) -> tuple[bytes, int]:
    """GetMedia of the whole stream: its bytes and the number of video packets PyAV demuxes."""
    r = httpx.get(f"{url}/v1/streams/{stream}/media", params={"selector": "EARLIEST"}, timeout=60)
    assert r.status_code == 200, r.text
    with av.open(io.BytesIO(r.content)) as container:
        packets = sum(1 for p in container.demux(video=0) if p.size)
    return r.content, packets


def _wait_job(url: str, path: str, job_id: str, what: str = "") -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = httpx.get(f"{url}{path}/{job_id}", timeout=30).json()
        if job["status"] in ("SUCCEEDED", "FAILED", "CANCELLED"):
            return dict(job)
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} ({what}) did not end: {job}")


@pytest.fixture(scope="module")
def good_mkv(hamilton_clip: Path) -> bytes:
    # one key frame per second so the ten seconds make several fragments
    return mkv_from(hamilton_clip, "-an", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "0")


@pytest.fixture(scope="module")
def small_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of a 192x144 test pattern: jobs on the parts of it that still decode end quickly."""
    path = tmp_path_factory.mktemp("small") / "small.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=192x144:rate=15",
            "-t",
            "2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "15",
            str(path),
        ],
        check=True,
    )
    return path


def test_hostile_matroska_into_put_media(hostile_server: ServerProcess, good_mkv: bytes) -> None:
    url = hostile_server.url
    kvs = _aws(url, "kinesisvideo")
    kvs.create_stream(StreamName="hostile", DataRetentionInHours=24)
    result = put_media(url, chunks_of(good_mkv), stream_name="hostile")
    assert result.events("PERSISTED") and not result.events("ERROR")
    before = httpx.get(f"{url}/v1/streams/hostile/fragments", timeout=30).json()["fragments"]
    assert len(before) >= 5
    media_before, packets_before = _media_packets(url, "hostile")
    assert packets_before >= 200

    hostile = {
        "truncated mid-cluster": media.truncated(good_mkv, 0.37),
        "corrupt payload": media.corrupt(good_mkv),
        "huge declared block": media.huge_cluster(good_mkv),
        "huge declared segment": media.huge_segment_size(),
        "deep nesting": media.deep_nesting(good_mkv),
        "zero-size frames": media.zero_size_frames(good_mkv),
        "oversized fragment": media.oversized_fragment(good_mkv),
        "random bytes": media.garbage(),
        "empty body": b"",
    }
    baseline = hostile_server.rss()
    errors: dict[str, set[int]] = {}
    with RssSampler(hostile_server) as rss:
        for label, data in hostile.items():
            answer = put_media(url, chunks_of(data), stream_name="hostile", timeout=60)
            errors[label] = {int(a.doc["ErrorId"]) for a in answer.events("ERROR") if "ErrorId" in a.doc}
            assert hostile_server.alive(), f"server down after {label}"
    growth = rss.peak - baseline
    print(f"\nPutMedia hostile: RSS {baseline / 2**20:.0f} MiB idle, peak {rss.peak / 2**20:.0f} MiB")
    assert growth < RSS_GROWTH_LIMIT
    # each malformed upload was told why (KVS error ids: 4000 cut off, 4001 too large, 4006 invalid)
    for label in ("huge declared block", "huge declared segment", "random bytes"):
        assert errors[label] & {4000, 4001, 4006}, (label, errors[label])
    assert not errors["deep nesting"]  # the nested tags are skipped whole; the clusters after them count
    assert errors["truncated mid-cluster"] & {4000, 4006}
    assert 4001 in errors["oversized fragment"]

    after = httpx.get(f"{url}/v1/streams/hostile/fragments", timeout=30).json()["fragments"]
    kept = {f["fragment_number"]: f for f in after}
    for fragment in before:  # every fragment stored before the bad bytes is still there, unchanged
        assert kept[fragment["fragment_number"]] == fragment
    media_after, packets_after = _media_packets(url, "hostile")
    assert packets_after >= packets_before
    assert media_after.startswith(media_before[:4096])


def _detect_rest(url: str, data: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/faces/detect", content=data, headers={"content-type": "image/png"}, timeout=120
    )


def test_image_bombs_into_face_detect_and_index(hostile_server: ServerProcess, faces_dir: Path) -> None:
    url = hostile_server.url
    good = (faces_dir / "_test" / "obama1.jpg").read_bytes()
    assert (
        httpx.post(f"{url}/v1/collections", json={"collection_id": "hostile"}, timeout=30).status_code == 201
    )
    indexed = httpx.post(
        f"{url}/v1/collections/hostile/faces",
        content=good,
        headers={"content-type": "image/jpeg"},
        timeout=120,
    )
    assert indexed.status_code == 200 and len(indexed.json()["records"]) == 1
    bombs = {
        "PNG 30000x30000 bomb": media.png_bomb(30000, 30000),
        "PNG 100000 x 1000 (over the pixel cap)": media.png_bomb(100_000, 1000),
        "PNG 100000 x 8 (valid, no face)": media.png_bomb(100_000, 8),
        "PNG 1 x 100000 (valid, no face)": media.png_bomb(1, 100_000),
        "JPEG declaring 65000x65000": media.jpeg_declaring(65000, 65000),
        "truncated JPEG": media.truncated(good),
        "corrupt JPEG": media.corrupt(good, 13),
        "random bytes": media.garbage(64 * 1024),
        "empty": b"",
    }
    rek = _aws(url, "rekognition")
    baseline = hostile_server.rss()
    with RssSampler(hostile_server) as rss:
        for label, data in bombs.items():
            r = _detect_rest(url, data)
            assert r.status_code in BAD_INPUT or (r.status_code == 200 and "valid" in label), (label, r.text)
            if r.status_code != 200:
                assert r.headers["content-type"] == "application/problem+json"
                assert r.json()["type"].rsplit("/", 1)[1] in ("invalid-image", "image-too-large"), label
            r = httpx.post(
                f"{url}/v1/collections/hostile/faces",
                content=data,
                headers={"content-type": "image/jpeg"},
                timeout=120,
            )
            assert r.status_code in BAD_INPUT or r.status_code == 200, (label, r.text)
            if data and len(data) <= 5 * 1024 * 1024:
                try:
                    rek.detect_faces(Image={"Bytes": data})
                    assert "valid" in label, label
                except ClientError as exc:
                    code = exc.response["Error"]["Code"]
                    assert code in (
                        "InvalidImageFormatException",
                        "ImageTooLargeException",
                        "InvalidParameterException",
                    ), (label, code)
            assert hostile_server.alive(), f"server down after {label}"
    print(f"\nimage bombs: RSS {baseline / 2**20:.0f} MiB idle, peak {rss.peak / 2**20:.0f} MiB")
    assert rss.peak - baseline < RSS_GROWTH_LIMIT
    faces = httpx.get(f"{url}/v1/collections/hostile/faces", timeout=30).json()["faces"]
    assert indexed.json()["records"][0]["face"]["face_id"] in {f["face_id"] for f in faces}


def test_hostile_videos_into_uploads_jobs_and_anonymize(
    hostile_server: ServerProcess, small_mp4: Path
) -> None:
    url = hostile_server.url
    mp4 = small_mp4.read_bytes()
    good_mkv = mkv_from(small_mp4, "-c", "copy")
    s3 = _aws(url, "s3")
    s3.create_bucket(Bucket="hostile")
    s3.put_object(Bucket="hostile", Key="kept/good.mp4", Body=mp4)
    videos = {
        "truncated.mp4": media.truncated(mp4),
        "corrupt.mp4": media.corrupt(mp4),
        "huge-box.mp4": media.mp4_with_huge_box(mp4),
        "truncated.mkv": media.truncated(good_mkv, 0.3),
        "huge-block.mkv": media.huge_cluster(good_mkv),
        "deep.mkv": media.deep_nesting(good_mkv, 5000),
        "noise.mp4": media.garbage(),
    }
    baseline = hostile_server.rss()
    outcomes: dict[str, tuple[str, str | None]] = {}
    with RssSampler(hostile_server) as rss:
        for name, data in videos.items():
            s3.put_object(Bucket="hostile", Key=name, Body=data)
            r = httpx.post(
                f"{url}/v1/jobs",
                json={"type": "face-detection", "bucket": "hostile", "key": name},
                timeout=30,
            )
            assert r.status_code == 202, r.text
            job = _wait_job(url, "/v1/jobs", r.json()["job_id"], name)
            outcomes[name] = (job["status"], job["status_message"])
            up = httpx.post(
                f"{url}/v1/anonymize/jobs", files={"file": (name, data)}, data={"mode": "blur"}, timeout=60
            )
            assert up.status_code == 202, up.text
            anon = _wait_job(url, "/v1/anonymize/jobs", up.json()["job_id"], "anonymize " + name)
            outcomes["anonymize " + name] = (anon["status"], anon["error_code"])
            assert hostile_server.alive(), f"server down after {name}"
    print(
        f"\nhostile videos: RSS {baseline / 2**20:.0f} MiB idle, peak {rss.peak / 2**20:.0f} MiB; {outcomes}"
    )
    assert rss.peak - baseline < RSS_GROWTH_LIMIT
    for name, (status, detail) in outcomes.items():
        # a file cut short may still give the frames before the cut; otherwise a typed failure
        assert status in ("FAILED", "SUCCEEDED"), (name, status)
        if status == "FAILED":
            assert detail, name
            if name.startswith("anonymize"):
                assert detail == "invalid-media", (name, detail)
    for name in ("noise.mp4", "huge-block.mkv", "anonymize noise.mp4", "anonymize huge-block.mkv"):
        assert outcomes[name][0] == "FAILED", (name, outcomes[name])
    assert s3.get_object(Bucket="hostile", Key="kept/good.mp4")["Body"].read() == mp4
