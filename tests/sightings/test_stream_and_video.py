"""Must-show 5: one never-enrolled person in a stored video and on a live stream; one search finds both."""

from __future__ import annotations

import time
from pathlib import Path

import av
import httpx

from tests.conftest import RunningServer
from tests.live.test_flow import ROLE, _producer, _wait_status, client
from tests.sightings.test_stored_video import OFF, ON, _video, _wait


def _clip_frames(data: bytes, tmp: Path) -> int:
    path = tmp / "clip.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def test_stream_and_stored_video_sightings(server: RunningServer, media_dir: Path, tmp_path: Path) -> None:
    video = _video(media_dir, tmp_path / "seen.mp4")
    s3, rek, kvs, kinesis = (client(n, server.url) for n in ("s3", "rekognition", "kinesisvideo", "kinesis"))
    rek.create_collection(CollectionId="nobody")
    s3.create_bucket(Bucket="cams")
    s3.put_object(Bucket="cams", Key="hall.mp4", Body=video.read_bytes())
    job = rek.start_face_search(
        Video={"S3Object": {"Bucket": "cams", "Name": "hall.mp4"}}, CollectionId="nobody"
    )
    _wait(rek, job["JobId"])

    stream_arn = kvs.create_stream(StreamName="door", DataRetentionInHours=24)["StreamARN"]
    kinesis.create_stream(StreamName="door-faces", ShardCount=1)
    data_arn = kinesis.describe_stream_summary(StreamName="door-faces")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    rek.create_stream_processor(
        Input={"KinesisVideoStream": {"Arn": stream_arn}},
        Name="door",
        RoleArn=ROLE,
        Output={"KinesisDataStream": {"Arn": data_arn}},
        Settings={"FaceSearch": {"CollectionId": "nobody"}},
    )
    rek.start_stream_processor(Name="door")
    _wait_status(rek, "door", "RUNNING")
    endpoint = kvs.get_data_endpoint(StreamName="door", APIName="PUT_MEDIA")["DataEndpoint"]
    start = time.time()
    assert _producer(endpoint, video, "door", start).wait(60) == 0
    archived = client("kinesis-video-archived-media", server.url)
    n_fragments = len(archived.list_fragments(StreamName="door")["Fragments"])
    deadline = time.monotonic() + 60
    while rek.describe_stream_processor(Name="door").get("Status") == "RUNNING":
        # stop once every fragment was analysed (the session's tracks are flushed on stop)
        if server.container.processors.describe("door").fragments_done >= n_fragments:
            break
        assert time.monotonic() < deadline
        time.sleep(0.3)
    rek.stop_stream_processor(Name="door")
    _wait_status(rek, "door", "STOPPED")

    found = server.container.sightings.search_image(
        (media_dir / "faces" / "biden" / "biden.jpg").read_bytes()
    )
    assert [a.source for a in found] == [stream_arn, "s3://cams/hall.mp4"], found  # newest first
    live, stored = found
    assert abs(stored.start_s - ON) <= 0.55 and abs(stored.end_s - OFF) <= 0.6
    # stream times are producer epoch seconds: start + the sprite's range (looks are 0.2 s apart)
    assert abs(live.start_s - (start + ON)) <= 0.5 and abs(live.end_s - (start + OFF)) <= 0.5, (
        live.start_s - start,
        live.end_s - start,
    )
    assert live.fragments and live.has_thumbnail
    # the clip of the live sighting plays: GetClip on its range decodes
    clip = archived.get_clip(StreamName="door", ClipFragmentSelector=live.clip["ClipFragmentSelector"])
    assert _clip_frames(clip["Payload"].read(), tmp_path) >= 15
    # the REST search gives both a clip URL that plays and a thumbnail, newest first
    biden = (media_dir / "faces" / "biden" / "biden.jpg").read_bytes()
    views = httpx.post(f"{server.url}/v1/sightings/search", content=biden, timeout=30).json()["Sightings"]
    assert [v["sighting_id"] for v in views] == [live.sighting_id, stored.sighting_id]
    assert views[0]["clip_url"].startswith(f"{server.url}/v1/streams/door/clip.mp4?start=")
    played = httpx.get(views[0]["clip_url"], timeout=30)
    assert played.status_code == 200 and _clip_frames(played.content, tmp_path) >= 15
    for view in views:
        assert httpx.get(view["thumbnail_url"], timeout=30).headers["content-type"] == "image/jpeg"
    # the never-enrolled person is one group of two sightings; enrol it in one call
    groups = server.container.sightings.groups()
    assert sorted(len(g.sighting_ids) for g in groups) == [2]
    ids = server.container.sightings.enrol(groups[0].group_id, "nobody", "visitor-1")
    assert ids
    faces = rek.list_faces(CollectionId="nobody")["Faces"]
    assert {f["ExternalImageId"] for f in faces} == {"visitor-1"}
