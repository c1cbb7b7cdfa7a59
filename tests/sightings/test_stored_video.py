"""Sightings from a stored-video face search job: a different photo of a never-enrolled person finds them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import httpx

from tests.anonymize.synthetic import Actor, linear, load_sprite, render, square, write_video
from tests.conftest import RunningServer
from tests.jobs.conftest import aws_client

W, H, FPS, SECONDS = 480, 360, 15, 7.0
ON, OFF = 2.0, 5.0  # biden (never enrolled) is on screen over [ON, OFF]


def _video(media_dir: Path, path: Path) -> Path:
    biden = load_sprite(media_dir, "biden", "biden2.jpg")
    path2d = linear(square(W * 0.5, H * 0.5, 110), square(W * 0.55, H * 0.5, 110), ON, OFF)
    return write_video(path, render("sightings", W, H, FPS, SECONDS, [Actor(biden, path2d, ON, OFF)], seed=3))


def _wait(rek: Any, job_id: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while rek.get_face_search(JobId=job_id, MaxResults=1)["JobStatus"] == "IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert rek.get_face_search(JobId=job_id, MaxResults=1)["JobStatus"] == "SUCCEEDED"


def _decoded_frames(path: Path, start: float, end: float) -> int:
    with av.open(str(path)) as container:
        return sum(1 for f in container.decode(video=0) if f.time is not None and start <= f.time <= end)


def test_a_face_search_job_keeps_its_tracks_as_sightings(
    server: RunningServer, media_dir: Path, tmp_path: Path
) -> None:
    video = _video(media_dir, tmp_path / "lobby.mp4")
    s3, rek = aws_client("s3", server.url), aws_client("rekognition", server.url)
    rek.create_collection(CollectionId="nobody")  # biden is enrolled nowhere
    s3.create_bucket(Bucket="cams")
    s3.put_object(Bucket="cams", Key="lobby.mp4", Body=video.read_bytes())
    job = rek.start_face_search(
        Video={"S3Object": {"Bucket": "cams", "Name": "lobby.mp4"}}, CollectionId="nobody"
    )["JobId"]
    _wait(rek, job)

    sightings = server.container.sightings
    # another photo of the same man (not the one pasted into the video)
    found = sightings.search_image((media_dir / "faces" / "biden" / "biden.jpg").read_bytes())
    assert [a.source for a in found] == ["s3://cams/lobby.mp4"]
    hit = found[0]
    assert hit.similarity >= 80
    # the track's time range is the sprite's, to within one 0.5 s reporting step
    assert abs(hit.start_s - ON) <= 0.55 and abs(hit.end_s - OFF) <= 0.6, (hit.start_s, hit.end_s)
    assert hit.clip == {"Video": "s3://cams/lobby.mp4", "StartSeconds": hit.start_s, "EndSeconds": hit.end_s}
    # the clip's range is playable: the stored object decodes there
    assert _decoded_frames(video, hit.start_s, hit.end_s) >= int((OFF - ON) * FPS) - FPS

    # the native REST door answers the same, by upload; a non-image is a problem+json 400
    biden = (media_dir / "faces" / "biden" / "biden.jpg").read_bytes()
    rest = httpx.post(f"{server.url}/v1/sightings/search", content=biden, timeout=30)
    assert rest.status_code == 200
    assert [(d["sighting_id"], d["clip"]) for d in rest.json()["Sightings"]] == [(hit.sighting_id, hit.clip)]
    view = rest.json()["Sightings"][0]
    # the clip URL is the object with its time range; it downloads the stored video
    object_url = f"{server.url}/v1/buckets/cams/objects/lobby.mp4"
    assert view["clip_url"] == f"{object_url}#t={hit.start_s:.3f},{hit.end_s:.3f}"
    assert httpx.get(view["clip_url"].split("#")[0], timeout=30).content == video.read_bytes()
    # the thumbnail is the track's best look: a JPEG that shows one face (the same man)
    assert (
        hit.has_thumbnail
        and view["thumbnail_url"] == f"{server.url}/v1/sightings/{hit.sighting_id}/thumbnail"
    )
    thumb = httpx.get(view["thumbnail_url"], timeout=30)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert [a.sighting_id for a in sightings.search_image(thumb.content)] == [hit.sighting_id]
    bad = httpx.post(f"{server.url}/v1/sightings/search", content=b"not an image", timeout=30)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    groups_doc = httpx.get(f"{server.url}/v1/sightings/groups", timeout=30).json()
    assert [g["sighting_ids"] for g in groups_doc["Groups"]] == [[hit.sighting_id]]

    # a stranger finds nothing; the one track is one group
    assert sightings.search_image((media_dir / "faces" / "rose_leslie" / "img2.jpg").read_bytes()) == []
    groups = sightings.groups()
    assert [g.sighting_ids for g in groups] == [[hit.sighting_id]]
    # retention: the video's sightings go with the object
    assert sightings.forget_source("video", "s3://cams/lobby.mp4") == 1
    assert sightings.search_image((media_dir / "faces" / "biden" / "biden.jpg").read_bytes()) == []
