"""Fixtures for the face-engine tests: models loaded once per session, the real photos decoded once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from face_truth import PEOPLE, TEST_PHOTO_PEOPLE

from videolens.media.images import decode_image
from videolens.vision.attributes import FaceAnalyzer
from videolens.vision.detector import FaceDetector
from videolens.vision.embedder import FaceEmbedder
from videolens.vision.types import Detection


@dataclass(frozen=True)
class LabelledFace:
    person: str | None
    source: str
    descriptor: np.ndarray


@pytest.fixture(scope="session")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="session")
def embedder() -> FaceEmbedder:
    return FaceEmbedder()


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def load_photo(faces_dir: Path):  # type: ignore[no-untyped-def]
    cache: dict[str, np.ndarray] = {}

    def load(relative: str) -> np.ndarray:
        if relative not in cache:
            cache[relative] = decode_image((faces_dir / relative).read_bytes())
        return cache[relative].copy()

    return load


@pytest.fixture(scope="session")
def detect_photo(detector, load_photo):  # type: ignore[no-untyped-def]
    """Default-detector results for an unmodified photo, computed once per session."""
    cache: dict[str, list[Detection]] = {}

    def detect(relative: str) -> list[Detection]:
        if relative not in cache:
            cache[relative] = detector.detect(load_photo(relative))
        return list(cache[relative])

    return detect


@pytest.fixture(scope="session")
def enrolment_photos(faces_dir: Path) -> list[str]:
    return sorted(
        str(p.relative_to(faces_dir))
        for person in PEOPLE
        for p in (faces_dir / person).iterdir()
        if p.is_file()
    )


def by_position(detections: list[Detection]) -> list[Detection]:
    return sorted(detections, key=lambda d: d.x1)


@pytest.fixture(scope="session")
def labelled_faces(detect_photo, embedder, load_photo, enrolment_photos) -> list[LabelledFace]:  # type: ignore[no-untyped-def]
    """Descriptors of every enrolment face and of every face of the labelled probe photos."""
    faces: list[LabelledFace] = []
    for relative in enrolment_photos:
        image = load_photo(relative)
        detections = detect_photo(relative)
        faces.append(LabelledFace(relative.split("/")[0], relative, embedder.embed(image, detections)[0]))
    for name, people in TEST_PHOTO_PEOPLE.items():
        image = load_photo(f"_test/{name}")
        detections = by_position(detect_photo(f"_test/{name}"))
        for person, descriptor in zip(people, embedder.embed(image, detections), strict=True):
            faces.append(LabelledFace(person, f"_test/{name}", descriptor))
    return faces
