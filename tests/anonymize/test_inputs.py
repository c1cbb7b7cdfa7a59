"""Inputs of every kind through the service and `videolens.anonymize()`: no faces, images, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import videolens
from tests.anonymize import synthetic
from videolens.media.video_transcode import EncodeOptions, Frame, transcode_video
from videolens.services.anonymize.options import AnonymizeOptions
from videolens.services.anonymize.service import AnonymizeService
from videolens.services.errors import InvalidMediaError, InvalidParameterError
from videolens.vision.detector import FaceDetector


class Passthrough:
    def push(self, frame: Frame) -> list[Frame]:
        return [frame]

    def flush(self) -> list[Frame]:
        return []


def _psnr(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    mse = np.mean([np.mean((x.astype(np.float64) - y) ** 2) for x, y in zip(a, b, strict=True)])
    return float(10 * np.log10(255**2 / max(mse, 1e-12)))


def test_video_without_faces_equals_input_apart_from_re_encoding(
    service: AnonymizeService, tmp_path: Path
) -> None:
    scene = synthetic.render("empty", 160, 120, 25, 2.0, [], seed=3)
    src = synthetic.write_video(tmp_path / "empty.mp4", scene)
    out, plain = tmp_path / "out.mp4", tmp_path / "plain.mp4"
    result = service.anonymize_file(src, out, AnonymizeOptions(), boxes_json=tmp_path / "b.json")
    assert result.faces == 0 and result.frames == 50
    transcode_video(src, plain, Passthrough(), EncodeOptions())
    decoded, a, b = (synthetic.read_frames(p) for p in (src, out, plain))
    assert len(a) == len(b) == len(decoded) == 50
    # nothing was drawn: the output differs from the input exactly as much as a plain re-encode does
    # (x264 itself is not bit-reproducible from run to run, so the two are compared by quality)
    assert _psnr(a, decoded) > 38
    assert abs(_psnr(a, decoded) - _psnr(b, decoded)) < 0.3
    doc = json.loads((tmp_path / "b.json").read_text())
    assert len(doc["frames"]) == 50 and all(f["faces"] == [] for f in doc["frames"]) and doc["tracks"] == []


def test_image_faces_are_hidden(service: AnonymizeService, faces_dir: Path, tmp_path: Path) -> None:
    src = faces_dir / "_test" / "obama_and_biden.jpg"
    out = tmp_path / "out.png"
    result = service.anonymize_file(src, out, AnonymizeOptions(mode="blur"), boxes_json=tmp_path / "b.json")
    assert result.kind == "image" and result.faces >= 3
    image = cv2.imread(str(out))
    original = cv2.imread(str(src))
    assert image.shape == original.shape
    # what the detector found before is no longer a confident face
    assert FaceDetector(threshold=0.5).detect(image) == []
    doc = json.loads((tmp_path / "b.json").read_text())
    assert len(doc["frames"][0]["faces"]) == result.faces


def test_python_function_with_a_matcher_spares_the_enrolled_face(faces_dir: Path, tmp_path: Path) -> None:
    from videolens.services.anonymize.sparing import EmbeddingsMatcher
    from videolens.vision.embedder import FaceEmbedder

    enrol = cv2.imread(str(faces_dir / "obama" / "obama2.jpg"))
    detector = FaceDetector()
    matcher = EmbeddingsMatcher(FaceEmbedder().embed(enrol, detector.detect(enrol)[:1]))
    src = faces_dir / "_test" / "obama_and_biden.jpg"
    out = tmp_path / "spared.jpg"
    result = videolens.anonymize(src, out, spare=matcher, mode="solid", color=(255, 0, 255))
    assert result.spared == 1 and result.faces >= 3
    image = cv2.imread(str(out))
    remaining = detector.detect(image)
    # only Obama is left to be found, and he is still recognised as himself
    assert len(remaining) == 1
    assert matcher.best_similarity(FaceEmbedder().embed(image, remaining)[0]) >= 80


def test_bad_inputs_raise_typed_errors(service: AnonymizeService, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(b"\x00\x01 definitely not a video " * 50)
    with pytest.raises(InvalidMediaError, match="not a readable media file"):
        service.anonymize_file(fake, tmp_path / "o.mp4")
    assert not (tmp_path / "o.mp4").exists()
    fake_image = tmp_path / "photo.jpg"
    fake_image.write_text("no pixels here")
    with pytest.raises(InvalidMediaError, match="not an image"):
        service.anonymize_file(fake_image, tmp_path / "o.jpg")
    with pytest.raises(InvalidParameterError, match="input not found"):
        service.anonymize_file(tmp_path / "missing.mp4")
    with pytest.raises(InvalidParameterError, match="mode must be one of"):
        AnonymizeOptions(mode="smudge")  # type: ignore[arg-type]
