"""Sightings follow their video: stream sightings go when their fragments expired (or the stream went),
stored-video sightings go with the object; the periodic sweeper (runtime/periodic.py) does the sweeping."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port, make_settings
from videolens.container import Container
from videolens.runtime.periodic import PeriodicTask
from videolens.services.sightings.models import TrackSighting
from videolens.vision.models import ModelRegistry


@pytest.fixture
def container(tmp_path: Path, models: ModelRegistry) -> Iterator[Container]:
    c = Container(
        make_settings(tmp_path / "data", port=free_port(), sightings_sweep_seconds=0.2), models=models
    )
    yield c
    c.close()


def _mkv(src: Path, out: Path, start: float, seconds: float) -> bytes:
    cmd = ["ffmpeg", "-v", "error", "-ss", str(start), "-t", str(seconds), "-i", str(src), "-an"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-f", "matroska", str(out)]
    subprocess.run(cmd, check=True)
    return out.read_bytes()


def _ingest(c: Container, stream: str, data: bytes) -> list[str]:
    before = {f.fragment_number for f in c.streams.fragments_after(None, name=stream, limit=1000)}
    with c.streams.ingest(name=stream) as session:
        session.feed(data)
        session.finish()
    after = [f.fragment_number for f in c.streams.fragments_after(None, name=stream, limit=1000)]
    return [n for n in after if n not in before]


def _descriptor(c: Container, media_dir: Path) -> np.ndarray:
    analysed = c.faces.analysis.analyse((media_dir / "faces" / "biden" / "biden.jpg").read_bytes())
    return c.faces.analysis.embed(analysed.image, analysed.detections[:1])[0]


def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the sweeper did not remove it in time"
        time.sleep(0.05)


def test_sightings_follow_stream_retention_and_object_deletion(
    container: Container, media_dir: Path, tmp_path: Path
) -> None:
    c = container
    clip = media_dir / "video" / "short_hamilton_clip.mp4"
    arn = c.streams.create_stream("hall", retention_hours=1).arn
    early = _ingest(c, "hall", _mkv(clip, tmp_path / "a.mkv", 0, 3))
    time.sleep(1.0)
    boundary = time.time() - 0.5
    late = _ingest(c, "hall", _mkv(clip, tmp_path / "b.mkv", 3, 3))
    assert early and late
    vector = _descriptor(c, media_dir)
    desc = [(95.0, vector)]
    c.storage.create_bucket("cams")
    c.storage.put_object_bytes("cams", "hall.mp4", clip.read_bytes(), "video/mp4")

    def record(kind: str, source: str, fragments: list[str]) -> str:
        sid = c.sightings.record(TrackSighting(kind, source, 1.0, 2.0, desc, fragments))
        assert sid is not None
        return sid

    old_track = record("stream", arn, early)
    spanning = record("stream", arn, [early[-1], late[0]])
    new_track = record("stream", arn, late)
    stored = record("video", "s3://cams/hall.mp4", [])
    vanished = record("video", "s3://cams/deleted-elsewhere.mp4", [])

    def ids() -> set[str]:
        return {a.sighting_id for a in c.sightings.search_descriptor(vector)}

    assert ids() == {old_track, spanning, new_track, stored, vanished}
    sweeper = next(t for t in c.background if isinstance(t, PeriodicTask) and t.name == "sightings-retention")
    assert sweeper.work == c.sightings.sweep
    sweeper.start()
    try:
        # an object that is not there (deleted by another process, another tool) goes at the next sweep
        _until(lambda: vanished not in ids())
        assert ids() == {old_track, spanning, new_track, stored}

        # the early fragments pass the stream's 1 h retention: the track that only they show goes; a
        # track that still has a stored fragment stays (its clip still plays from there)
        assert c.streams.sweep(now=boundary + 3600) == len(early)
        _until(lambda: old_track not in ids())
        assert ids() == {spanning, new_track, stored}

        # the stored video is deleted: its sightings go at once (the storage's delete hook)
        c.storage.delete_object("cams", "hall.mp4")
        assert ids() == {spanning, new_track}

        # the stream is deleted: every sighting of it goes
        c.streams.delete_stream(arn)
        _until(lambda: ids() == set())
    finally:
        sweeper.stop()
