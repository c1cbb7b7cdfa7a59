"""Face-track recall of the fast path (adaptive sampling, non-reference frames never decoded) against a
detector look at every frame: at least 99 % of the reported face-seconds, on shared and synthetic video."""

from __future__ import annotations

from pathlib import Path

import pytest

from videolens.services.video_analysis.faces import (
    FaceTrackResult,
    SamplingConfig,
    face_track_recall,
    track_faces,
)
from videolens.vision.models import ModelRegistry
from videolens.vision.sampler import AdaptiveConfig
from videolens.vision.types import Detection

STEP_MS = 500


def _no_detail(image: object, det: Detection) -> None:
    return None


def _run(path: Path, models: ModelRegistry, sampling: SamplingConfig) -> FaceTrackResult[None]:
    return track_faces(path, models.detector, _no_detail, sampling=sampling, step_ms=STEP_MS)


@pytest.fixture(scope="module")
def runs(
    hamilton_clip: Path, scene_videos: dict[str, Path], models: ModelRegistry
) -> dict[str, tuple[FaceTrackResult[None], FaceTrackResult[None]]]:
    videos = {"hamilton": hamilton_clip, **scene_videos}
    return {
        name: (_run(path, models, SamplingConfig.every_frame()), _run(path, models, SamplingConfig()))
        for name, path in videos.items()
    }


@pytest.mark.parametrize("name", ["hamilton", "standard", "two_people"])
def test_default_fast_path_keeps_99_percent_face_track_recall(
    runs: dict[str, tuple[FaceTrackResult[None], FaceTrackResult[None]]], name: str
) -> None:
    reference, fast = runs[name]
    recall = face_track_recall(reference, fast, STEP_MS)
    assert recall.reference_steps >= 14  # the video really holds faces on most steps
    assert recall.recall >= 0.99, f"{name}: {recall.found_steps}/{recall.reference_steps} face-steps found"
    # the speed comes from looking less: far fewer detector runs than frames
    assert fast.times.detections_run <= reference.times.detections_run / 2


@pytest.mark.parametrize("name", ["hamilton", "standard", "two_people"])
def test_results_lie_on_the_step_grid_within_half_a_step(
    runs: dict[str, tuple[FaceTrackResult[None], FaceTrackResult[None]]], name: str
) -> None:
    for result in runs[name]:
        assert result.samples
        for s in result.samples:
            assert s.timestamp_ms % STEP_MS == 0
            assert abs(s.time_ms - s.timestamp_ms) <= STEP_MS / 2 + 1e-6
        stamps = [s.timestamp_ms for s in result.samples]
        assert stamps == sorted(stamps)


def test_synthetic_b_frames_are_never_decoded_by_the_fast_path(
    runs: dict[str, tuple[FaceTrackResult[None], FaceTrackResult[None]]],
) -> None:
    reference, fast = runs["standard"]
    assert reference.frames == 90  # every frame of the scene
    assert fast.frames < 80  # x264's non-reference B-frames were skipped by the decoder


def test_the_recall_check_fails_a_path_that_looks_too_rarely(
    runs: dict[str, tuple[FaceTrackResult[None], FaceTrackResult[None]]],
    scene_videos: dict[str, Path],
    models: ModelRegistry,
) -> None:
    """A look every 1.5 s with no motion trigger loses faces: the check must see it."""
    reference, _ = runs["standard"]
    slow = SamplingConfig(adaptive=AdaptiveConfig(max_gap_s=1.5, motion=0, surprise=99, cut=0))
    recall = face_track_recall(reference, _run(scene_videos["standard"], models, slow), STEP_MS)
    assert recall.recall < 0.99
