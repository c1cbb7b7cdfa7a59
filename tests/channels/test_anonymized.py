"""Real-time anonymization in a channel: no pushed face is recognisable in the HLS output (dlib descriptor
distance >= 0.45 between each original and output face at the face's position), a spared enrolled
person stays recognisable. Turned on by the `videolens:anonymize` tag on a channel made by plain boto3."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.anonymize import synthetic
from tests.channels.conftest import ANONYMIZE_TAG, make_channel, push, wait_state, wait_until
from tests.conftest import RunningServer
from videolens.vision.models import ModelRegistry
from videolens.vision.types import Detection

RECOGNISABLE = 0.45  # dlib's same-person distance is < 0.6; 0.45 leaves a margin on the safe side


@pytest.fixture(scope="module")
def scene_video(media_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[synthetic.Scene, Path]:
    scene = synthetic.two_people_scene(media_dir)  # Obama and Biden walking past each other, 3 s
    return scene, synthetic.write_video(tmp_path_factory.mktemp("scene") / "two.mp4", scene)


def _output_frames(s3: Any, bucket: str, user: str) -> list[np.ndarray]:
    vod = s3.get_object(Bucket=bucket, Key=f"live/{user}_360p.m3u8")["Body"].read().decode()
    assert vod.rstrip().endswith("#EXT-X-ENDLIST")
    uris = [ln for ln in vod.splitlines() if ln and not ln.startswith("#")]
    data = b"".join(s3.get_object(Bucket=bucket, Key=f"live/{u}")["Body"].read() for u in uris)
    with av.open(io.BytesIO(data), format="mpegts") as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def _distances(
    models: ModelRegistry, scene: synthetic.Scene, out: list[np.ndarray]
) -> dict[str, list[float]]:
    """Per person: descriptor distance between the pushed and the output face, every 5th frame."""
    embedder = models.embedder
    found: dict[str, list[float]] = {"obama": [], "biden": []}
    for i in range(0, min(len(out), len(scene.frames)), 5):
        for face in scene.truth[i]:
            x1, y1, x2, y2 = face.box
            if x1 < 0 or y1 < 0 or x2 > scene.width or y2 > scene.height:
                continue  # partly outside the picture: no full face to compare
            det = [Detection(x1, y1, x2, y2, 1.0, np.zeros((5, 2), np.float32))]
            a = embedder.embed(scene.frames[i], det)[0]
            b = embedder.embed(out[i], det)[0]
            found[face.person].append(float(np.linalg.norm(a - b)))
    return found


def test_no_face_recognisable_and_the_spared_one_is(
    live_server: RunningServer,
    medialive: Any,
    s3: Any,
    models: ModelRegistry,
    faces_dir: Path,
    scene_video: tuple[synthetic.Scene, Path],
) -> None:
    scene, video = scene_video
    faces = live_server.container.faces
    faces.create_collection("staff")
    for photo in ("obama2.jpg", "obama3.jpg"):  # photos other than the one in the video
        assert faces.index_faces(
            "staff", (faces_dir / "obama" / photo).read_bytes(), "obama", max_faces=1
        ).records
    s3.create_bucket(Bucket="anon")
    hidden, _ = make_channel(medialive, "anon", "frank", tags={ANONYMIZE_TAG: "pixelate"})
    spared, _ = make_channel(medialive, "anon", "grace", tags={ANONYMIZE_TAG: "pixelate,spare=staff"})
    urls = {}
    for cid in (hidden, spared):
        input_id = medialive.describe_channel(ChannelId=cid)["InputAttachments"][0]["InputId"]
        urls[cid] = medialive.describe_input(InputId=input_id)["Destinations"][0]["Url"]
        medialive.start_channel(ChannelId=cid)
        wait_state(medialive, cid, "RUNNING")
    pushers = [push(video, urls[cid], 4) for cid in (hidden, spared)]
    assert [p.wait(60) for p in pushers] == [0, 0]
    for cid in (hidden, spared):
        stats = live_server.container.channels.stats(cid)
        assert stats is not None
        # a stop ends the input at once: wait until the decoder has given every pushed frame
        wait_until(lambda s=stats: s.frames_in >= len(scene.frames), what="every pushed frame decoded")
        medialive.stop_channel(ChannelId=cid)
        wait_state(medialive, cid, "IDLE")

    out = _output_frames(s3, "anon", "frank")
    assert len(out) == len(scene.frames)  # the look-ahead is flushed when the pusher disconnects
    distances = _distances(models, scene, out)
    assert len(distances["obama"]) >= 10 and len(distances["biden"]) >= 10
    assert min(distances["obama"] + distances["biden"]) >= RECOGNISABLE, distances

    out = _output_frames(s3, "anon", "grace")
    distances = _distances(models, scene, out)
    assert min(distances["biden"]) >= RECOGNISABLE, distances
    assert max(distances["obama"]) < RECOGNISABLE - 0.1, distances  # the enrolled person stays himself
