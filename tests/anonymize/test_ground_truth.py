"""Ground truth: on synthetic videos with exact face positions, every face is hidden on every frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.anonymize import synthetic
from tests.anonymize.conftest import MAGENTA, SceneVideo
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.service import AnonymizeService
from videolens.vision.detector import FaceDetector
from videolens.vision.models import ModelRegistry
from videolens.vision.types import Detection


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


#: dlib's same-person descriptor distance is < 0.6; 0.45 leaves a margin on the safe side
RECOGNISABLE = 0.45


@pytest.mark.parametrize("mode", ["blur", "pixelate"])
def test_blurred_and_pixelated_faces_are_unrecognisable(
    service: AnonymizeService, two_people_video: SceneVideo, models: ModelRegistry, tmp_path: Path, mode: str
) -> None:
    """The filters (drawn on the decoder's YUV planes) leave neither a face the detector finds nor a
    descriptor close to the person's own, on every 5th frame where the face is whole in the picture."""
    out = tmp_path / "out.mp4"
    service.anonymize_file(two_people_video.path, out, AnonymizeOptions(mode=mode))  # type: ignore[arg-type]
    frames = synthetic.read_frames(out)
    scene = two_people_video.scene
    detector = FaceDetector(threshold=0.5)
    distances: list[float] = []
    for i in range(0, len(scene.frames), 5):
        assert detector.detect(frames[i]) == [], f"a face is still found on frame {i}"
        for face in scene.truth[i]:
            x1, y1, x2, y2 = face.box
            if x1 < 0 or y1 < 0 or x2 > scene.width or y2 > scene.height:
                continue
            det = [Detection(x1, y1, x2, y2, 1.0, np.zeros((5, 2), np.float32))]
            before = models.embedder.embed(scene.frames[i], det)[0]
            after = models.embedder.embed(frames[i], det)[0]
            distances.append(float(np.linalg.norm(before - after)))
    assert len(distances) >= 20
    assert min(distances) >= RECOGNISABLE, distances
