"""CenterFace detector on the real photos: exact face counts, coordinates, thresholds, thread safety."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from face_truth import TEST_PHOTO_PEOPLE

from videolens.vision.detector import FaceDetector

# Centres (x, y) of the 17 faces of city.jpg a person counts at a glance, labelled by looking at the photo.
CITY_FACES = [
    (72, 150), (109, 145), (196, 133), (237, 126), (337, 145), (378, 145), (435, 149), (481, 154),
    (489, 173), (544, 145), (581, 186), (596, 122), (621, 177), (645, 177), (662, 145), (680, 154),
    (778, 134),
]  # fmt: skip
# Three more faces are more than half hidden behind other heads; they score 0.36-0.44, as low as a
# pedestrian-signal figure (0.43), so the default threshold leaves them out (see docs/face-engine.md).
CITY_HIDDEN_FACES = [(318, 158), (521, 149), (609, 138)]


def centre(det) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    return ((det.x1 + det.x2) / 2, (det.y1 + det.y2) / 2)


def test_every_enrolment_photo_holds_exactly_one_face(detect_photo, enrolment_photos) -> None:
    assert len(enrolment_photos) == 10
    for relative in enrolment_photos:
        detections = detect_photo(relative)
        assert len(detections) == 1, relative
        assert detections[0].width > 100 and detections[0].score > 0.7, relative


@pytest.mark.parametrize("name", sorted(TEST_PHOTO_PEOPLE))
def test_probe_photos_have_the_faces_a_person_counts(detect_photo, name: str) -> None:
    detections = detect_photo(f"_test/{name}")
    assert len(detections) == len(TEST_PHOTO_PEOPLE[name])


def test_city_small_faces_are_all_found(detector, load_photo) -> None:
    image = load_photo("_test/city.jpg")
    detections = detector.detect(image)
    assert len(detections) == len(CITY_FACES) == 17
    for x, y in CITY_FACES:
        hits = [d for d in detections if d.x1 <= x <= d.x2 and d.y1 <= y <= d.y2]
        assert len(hits) == 1, (x, y)
    assert min(d.width for d in detections) < 16  # faces of 12-16 px are found at native size
    lower = detector.detect(image, threshold=0.35)
    for x, y in CITY_HIDDEN_FACES:
        assert any(d.x1 <= x <= d.x2 and d.y1 <= y <= d.y2 for d in lower), (x, y)


def test_detections_are_sorted_clipped_and_carry_landmarks(detector, load_photo) -> None:
    image = load_photo("_test/obama_and_biden.jpg")
    height, width = image.shape[:2]
    detections = detector.detect(image)
    scores = [d.score for d in detections]
    assert scores == sorted(scores, reverse=True)
    for d in detections:
        assert 0 <= d.x1 < d.x2 <= width and 0 <= d.y1 < d.y2 <= height
        assert d.landmarks.shape == (5, 2) and d.landmarks.dtype == np.float32
        eye_left, eye_right, nose, mouth_left, mouth_right = d.landmarks
        assert eye_left[0] < eye_right[0] and mouth_left[0] < mouth_right[0]
        assert max(eye_left[1], eye_right[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
        assert d.x1 <= nose[0] <= d.x2 and d.y1 <= nose[1] <= d.y2


def test_coordinates_are_those_of_the_given_image(detector, load_photo) -> None:
    image = load_photo("_test/kit_with_rose.jpg")
    full = sorted(detector.detect(image), key=lambda d: d.x1)
    half = sorted(detector.detect(cv2.resize(image, None, fx=0.5, fy=0.5)), key=lambda d: d.x1)
    assert len(full) == len(half) == 2
    for a, b in zip(full, half, strict=True):
        assert abs(a.x1 - 2 * b.x1) < 0.1 * a.width and abs(a.y2 - 2 * b.y2) < 0.1 * a.height
        assert np.abs(a.landmarks - 2 * b.landmarks).max() < 0.1 * a.width


def test_large_images_are_downscaled_to_max_input_side(load_photo) -> None:
    image = load_photo("_test/obama_and_biden.jpg")  # 2000x1428
    small = FaceDetector(max_input_side=640)
    detections = small.detect(image)
    assert len(detections) == 3
    assert max(d.x2 for d in detections) > 1600  # still in the original image's pixels


def test_threshold_and_min_face_size(load_photo) -> None:
    image = load_photo("_test/city.jpg")
    strict = FaceDetector(threshold=0.8)
    assert [round(d.score, 2) for d in strict.detect(image)] == [0.87, 0.87, 0.84, 0.82]
    assert len(strict.detect(image, threshold=0.5)) == 17
    big_only = FaceDetector(min_face_size=25).detect(image)
    assert big_only and all(min(d.width, d.height) >= 25 for d in big_only)
    assert len(big_only) < 17


def test_blank_grey_and_bgra_images(detector, load_photo) -> None:
    assert detector.detect(np.zeros((480, 640, 3), dtype=np.uint8)) == []
    assert detector.detect(np.zeros((0, 0, 3), dtype=np.uint8)) == []
    image = load_photo("_test/obama1.jpg")
    assert len(detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))) == 1
    assert len(detector.detect(cv2.cvtColor(image, cv2.COLOR_BGR2BGRA))) == 1


def test_concurrent_calls_give_identical_results(detector, load_photo) -> None:
    image = load_photo("_test/kit_with_rose.jpg")
    expected = [(d.x1, d.y1, d.x2, d.y2, d.score) for d in detector.detect(image)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: detector.detect(image), range(8)))
    for result in results:
        assert [(d.x1, d.y1, d.x2, d.y2, d.score) for d in result] == expected
