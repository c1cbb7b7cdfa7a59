"""Ground truth: on synthetic videos with exact face positions, every face is hidden on every frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.anonymize import synthetic
from tests.anonymize.conftest import MAGENTA, SceneVideo
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.service import AnonymizeService


@pytest.mark.parametrize("detect_every", ["auto", 1, 6])
def test_every_face_pixel_is_hidden(
    service: AnonymizeService, standard_video: SceneVideo, tmp_path: Path, detect_every: int | str
) -> None:
    out = tmp_path / "out.mp4"
    options = AnonymizeOptions(mode="solid", color=MAGENTA, detect_every=detect_every)  # type: ignore[arg-type]
    result = service.anonymize_file(standard_video.path, out, options)
    frames = synthetic.read_frames(out)
    assert result.frames == len(frames) == len(standard_video.scene.frames) == 90

    cov = synthetic.coverage(standard_video.scene, frames, synthetic.solid_hidden(MAGENTA))
    assert cov.total > 500_000  # the scene really holds faces on most frames
    assert cov.fraction >= 0.995, f"{cov.fraction:.4f} of the face pixels hidden; worst {cov.worst_at}"
    assert cov.exposed == [], f"faces visible (frame, person, covered): {cov.exposed}"


def test_pixelate_changes_every_face_and_keeps_the_background(
    service: AnonymizeService, standard_video: SceneVideo, tmp_path: Path
) -> None:
    out = tmp_path / "out.mp4"
    service.anonymize_file(standard_video.path, out, AnonymizeOptions(mode="pixelate"))
    frames = synthetic.read_frames(out)
    source = synthetic.read_frames(standard_video.path)
    scene = standard_video.scene
    for i in (10, 45, 80):
        faces = scene.labels[i] > 0
        diff = np.abs(frames[i].astype(np.int16) - source[i].astype(np.int16)).max(axis=2)
        # a 10-cell mosaic replaces the face's detail: the mean change inside faces is large...
        assert diff[faces].mean() > 20
        # ...while far from any face the picture is the re-encoded input (codec noise only)
        far = ~_dilate(faces, 40)
        assert diff[far].mean() < 8


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    import cv2

    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)
