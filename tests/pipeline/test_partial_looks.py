"""Partial looks (anonymization's looks between whole-picture looks): crop looks and reduced looks find
the tracked faces where a look at the whole picture finds them, and they really run on the real clips
(whose coverage test, tests/anonymize/test_hamilton.py, then covers them too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from videolens.media.frame_source import FrameSource
from videolens.services.video_analysis import partial_looks
from videolens.services.video_analysis.pipeline import FaceTrackPipeline, TrackingConfig
from videolens.vision.detector import FaceDetector
from videolens.vision.sampler import Adaptive, AdaptiveConfig
from videolens.vision.tracker import iou
from videolens.vision.types import Detection

Look = tuple[str, float, list[Detection], list[Detection]]


class _Checked(FaceTrackPipeline):
    """Records every partial look's faces beside a whole look at the same frame."""

    looks: list[Look]

    def _partial_look(self, rgb: np.ndarray, now: int) -> list[Detection] | None:
        crops, reduced = self.times.crop_looks, self.times.reduced_looks
        found = super()._partial_look(rgb, now)
        if found is not None:
            kind = "crop" if self.times.crop_looks > crops else "reduced"
            assert self.times.reduced_looks == reduced + (kind == "reduced")
            # the faces this look had to find again (inf: none, every live track was on hold)
            smallest = min(
                (
                    max(t.boxes[-1][2] - t.boxes[-1][0], t.boxes[-1][3] - t.boxes[-1][1])
                    for t in self.tracker.tracks.values()
                    if t.alive and t.last == self.last_detect
                ),
                default=float("inf"),
            )
            whole = self.detector.detect_rgb(rgb, self.frame_size, self.threshold)
            self.looks.append((kind, smallest, found, whole))
        return found


def _partial_looks(clip: Path) -> tuple[_Checked, list[Look]]:
    detector = FaceDetector(threshold=0.2, min_face_size=6)
    with FrameSource(clip) as source:
        size = (source.info.width, source.info.height)
        pipeline = _Checked(
            detector,
            Adaptive(AdaptiveConfig(max_gap_s=0.33, motion=18.0, surprise=0.5)),
            size,
            tracking=TrackingConfig(hold_s=0.7, backfill_s=1.1),
            threshold=0.2,
            lookahead=True,
            full_look_s=0.8,
            squeeze_input=True,
        )
        pipeline.looks = []
        for frame in source:
            pipeline.push(frame)
        pipeline.flush()
    return pipeline, pipeline.looks


def _box(d: Detection) -> tuple[float, float, float, float]:
    return (d.x1, d.y1, d.x2, d.y2)


@pytest.mark.parametrize("clip_name", ["short_hamilton_clip.mp4", "Megamind.avi"])
def test_partial_looks_find_the_faces_a_whole_look_finds(media_dir: Path, clip_name: str) -> None:
    pipeline, looks = _partial_looks(media_dir / "video" / clip_name)
    assert pipeline.times.crop_looks + pipeline.times.reduced_looks == len(looks) >= 8
    assert pipeline.times.reduced_looks >= 5  # hamilton 6 (and 3 crop looks), Megamind 13
    assert len(looks) < pipeline.times.detections_run / 2  # whole looks stay the rule
    for kind, smallest, partial, whole in looks:
        assert partial or smallest == float("inf")
        for d in partial:
            # the same face with (nearly) the same box: a crop is at the whole look's scale, a reduced
            # look sees the face at >= REDUCED_FACE_PX, its box on a coarser grid; a reduced look may
            # add a face at the threshold that the whole look does not have (it is hidden too)
            best = max(iou(_box(d), _box(w)) for w in whole)
            assert best >= (0.8 if kind == "crop" else 0.65) or (kind == "reduced" and d.score < 0.3), (
                kind,
                d,
                whole,
            )
        if kind == "reduced":
            # and every face of the whole look as large as the tracked ones: nothing is dropped
            for w in whole:
                if max(w.x2 - w.x1, w.y2 - w.y1) >= smallest and w.score >= 0.3:
                    assert max(iou(_box(w), _box(d)) for d in partial) >= 0.65, (w, partial)


def test_a_reduced_look_shrinks_the_picture_to_the_smallest_tracked_face() -> None:
    assert (partial_looks.REDUCED_FACE_PX, partial_looks.REDUCED_MIN_SIDE) == (32, 160)
    assert partial_looks.pixels(640, 360) == 640 * 384
    assert partial_looks.pixels(640, 352) == 640 * 352
    assert FaceDetector().video_input_size(640, 360) == (640, 352)  # 2 % squeezed, not padded 7 %
    assert FaceDetector().video_input_size(720, 528) == (704, 512)
    assert FaceDetector(max_input_side=960).video_input_size(1920, 1080) == (960, 540)
