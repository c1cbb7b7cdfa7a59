"""Crop looks (anonymization's looks between whole-picture looks): they find the tracked faces where a
look at the whole picture finds them, and they really run on the hamilton clip (whose coverage test,
tests/anonymize/test_hamilton.py, then covers them too)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from videolens.media.frame_source import FrameSource
from videolens.services.video_analysis.pipeline import FaceTrackPipeline, TrackingConfig
from videolens.vision.detector import FaceDetector
from videolens.vision.sampler import Adaptive, AdaptiveConfig
from videolens.vision.tracker import iou
from videolens.vision.types import Detection


class _Checked(FaceTrackPipeline):
    """Records every crop look's faces beside a whole look at the same frame."""

    pairs: list[tuple[list[Detection], list[Detection]]]

    def _crop_look(self, rgb: np.ndarray, now: int) -> list[Detection] | None:
        found = super()._crop_look(rgb, now)
        if found is not None:
            self.pairs.append((found, self.detector.detect_rgb(rgb, self.frame_size, self.threshold)))
        return found


def test_crop_looks_find_the_faces_a_whole_look_finds(hamilton_clip: Path) -> None:
    detector = FaceDetector(threshold=0.2, min_face_size=6)
    with FrameSource(hamilton_clip) as source:
        size = (source.info.width, source.info.height)
        pipeline = _Checked(
            detector,
            Adaptive(AdaptiveConfig(max_gap_s=0.33, motion=18.0, surprise=0.5)),
            size,
            tracking=TrackingConfig(hold_s=0.7, backfill_s=1.0),
            threshold=0.2,
            lookahead=True,
            full_look_s=0.7,
        )
        pipeline.pairs = []
        for frame in source:
            pipeline.push(frame)
        pipeline.flush()
    assert pipeline.times.crop_looks == len(pipeline.pairs) >= 5
    assert pipeline.times.crop_looks < pipeline.times.detections_run / 2  # whole looks stay the rule
    for crops, whole in pipeline.pairs:
        assert crops
        for d in crops:
            # the same face with the same box (the crop is at the same scale as the whole look)
            best = max(iou((d.x1, d.y1, d.x2, d.y2), (w.x1, w.y1, w.x2, w.y2)) for w in whole)
            assert best >= 0.8, (d, whole)
