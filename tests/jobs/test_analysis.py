"""The analysis pipeline alone: configurable time step, ALL attributes, metadata of other formats."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.anonymize.synthetic import two_people_scene, write_video
from videolens.container import Container
from videolens.media.video_reader import probe
from videolens.services.video_analysis.face_pipeline import FaceVideoAnalyzer


def test_step_and_all_attributes(container: Container, media_dir: Path, tmp_path: Path) -> None:
    video = write_video(tmp_path / "two.mp4", two_people_scene(media_dir))
    progress: list[float] = []
    analyzer = FaceVideoAnalyzer(container.faces, container.models, sample_ms=250, detect_every=2)
    out = analyzer.detect(video, "ALL", progress.append, lambda: False)
    assert out.metadata.duration_ms == 3000 and out.metadata.frame_rate == 30.0 and out.frames == 90
    assert progress == sorted(progress) and progress[-1] > 80
    times = Counter(e.timestamp_ms for e in out.entries)
    assert set(times) == set(range(0, 3001, 250))
    # two people walk past each other: two faces on every step except where they overlap
    assert sum(1 for t, n in times.items() if n == 2) >= 9
    assert out.tracks == 2
    face = out.entries[0].doc["face"]
    assert face["eyes_open"] is not None and face["mouth_open"] is not None
    assert len(face["landmarks"]) > 5  # ALL adds the 68-point derived landmarks


def test_metadata_of_an_avi(media_dir: Path) -> None:
    meta = probe(media_dir / "video" / "Megamind.avi")
    assert meta.codec == "mpeg4" and meta.format == "AVI (Audio Video Interleaved)"
    assert (meta.frame_width, meta.frame_height) == (720, 528)
    assert 10_000 < meta.duration_ms < 12_500 and meta.color_range == "LIMITED"
