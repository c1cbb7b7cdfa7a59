"""Pose, quality, landmarks and eyes/mouth-open measured on the real photos and transformed copies."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from videolens.vision.attributes import FaceAttributes

FRONTAL = ["alex_lacamoire/img1.jpg", "rose_leslie/img1.jpg", "rose_leslie/img2.jpg", "obama/obama.jpg"]
TURNED = [
    "kit_harington/john2.jpeg",
    "_test/kit_with_rose.jpg",
    "obama/obama3.jpg",
    "biden/biden.jpg",
    "_test/obama1.jpg",
]
REKOGNITION_NAMES = {
    "eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight", "leftEyeBrowLeft", "leftEyeBrowRight",
    "leftEyeBrowUp", "rightEyeBrowLeft", "rightEyeBrowRight", "rightEyeBrowUp", "leftEyeLeft", "leftEyeRight",
    "leftEyeUp", "leftEyeDown", "rightEyeLeft", "rightEyeRight", "rightEyeUp", "rightEyeDown", "noseLeft",
    "noseRight", "mouthUp", "mouthDown", "leftPupil", "rightPupil", "upperJawlineLeft", "midJawlineLeft",
    "chinBottom", "midJawlineRight", "upperJawlineRight",
}  # fmt: skip


def largest(detector, image):  # type: ignore[no-untyped-def]
    return max(detector.detect(image), key=lambda d: d.area)


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate counter-clockwise by `degrees` about the centre (OpenCV's sign convention)."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height))


@pytest.mark.parametrize("relative", FRONTAL)
def test_frontal_faces_have_near_zero_pose(analyzer, detector, load_photo, relative: str) -> None:
    image = load_photo(relative)
    pose, _ = analyzer.pose_and_quality(image, largest(detector, image))
    assert abs(pose.yaw) < 12 and abs(pose.roll) < 6 and abs(pose.pitch) < 15


@pytest.mark.parametrize("relative", TURNED)
def test_mirroring_the_image_flips_the_sign_of_yaw_and_roll(
    analyzer, detector, load_photo, relative: str
) -> None:
    image = load_photo(relative)
    mirrored = np.ascontiguousarray(image[:, ::-1])
    pose, _ = analyzer.pose_and_quality(image, largest(detector, image))
    mirrored_pose, _ = analyzer.pose_and_quality(mirrored, largest(detector, mirrored))
    assert abs(pose.yaw) > 15
    assert np.sign(mirrored_pose.yaw) == -np.sign(pose.yaw)
    assert abs(abs(mirrored_pose.yaw) - abs(pose.yaw)) < 0.35 * abs(pose.yaw)
    assert mirrored_pose.roll == pytest.approx(-pose.roll, abs=4)


@pytest.mark.parametrize(
    "relative", ["alex_lacamoire/img1.jpg", "rose_leslie/img2.jpg", "kit_harington/john1.jpeg"]
)
@pytest.mark.parametrize("degrees", [-25.0, 15.0])
def test_rotating_the_image_changes_roll_by_the_angle(
    analyzer, detector, load_photo, relative, degrees
) -> None:
    image = load_photo(relative)
    rotated = rotate(image, degrees)
    pose, _ = analyzer.pose_and_quality(image, largest(detector, image))
    rotated_pose, _ = analyzer.pose_and_quality(rotated, largest(detector, rotated))
    # A counter-clockwise image rotation is a negative (anticlockwise) roll of the head.
    assert rotated_pose.roll - pose.roll == pytest.approx(-degrees, abs=3.5)
    # Yaw comes from the nose's sideways offset, which the landmark models place to within a few pixels.
    assert abs(rotated_pose.yaw - pose.yaw) < 12


def test_darker_image_has_lower_brightness_and_blur_lower_sharpness(analyzer, detector, load_photo) -> None:
    image = load_photo("rose_leslie/img2.jpg")
    det = largest(detector, image)
    _, quality = analyzer.pose_and_quality(image, det)
    _, dark = analyzer.pose_and_quality((image * 0.4).astype(np.uint8), det)
    _, blurred = analyzer.pose_and_quality(cv2.GaussianBlur(image, (0, 0), 6), det)
    assert 0 <= dark.brightness < quality.brightness <= 100
    assert dark.brightness == pytest.approx(0.4 * quality.brightness, abs=1.0)
    assert quality.sharpness > 90 and blurred.sharpness < 20
    _, black = analyzer.pose_and_quality(np.zeros_like(image), det)
    assert black.brightness == 0 and black.sharpness == 0
    _, white = analyzer.pose_and_quality(np.full_like(image, 255), det)
    assert white.brightness == 100


def test_analyze_gives_rekognition_landmarks_in_pixels(analyzer, detector, load_photo) -> None:
    image = load_photo("kit_harington/john1.jpeg")
    det = largest(detector, image)
    attributes = analyzer.analyze(image, det)
    assert isinstance(attributes, FaceAttributes)
    marks = attributes.landmarks
    assert set(marks) == REKOGNITION_NAMES
    for name, (x, y) in marks.items():
        assert det.x1 - 0.1 * det.width <= x <= det.x2 + 0.1 * det.width, name
        assert det.y1 - 0.1 * det.height <= y <= det.y2 + 0.1 * det.height, name
    # Left/right are the viewer's: everything named "left" lies left of its "right" partner in the image.
    assert marks["eyeLeft"][0] < marks["nose"][0] < marks["eyeRight"][0]
    assert (
        marks["leftEyeLeft"][0]
        < marks["leftEyeRight"][0]
        < marks["rightEyeLeft"][0]
        < marks["rightEyeRight"][0]
    )
    assert marks["leftEyeBrowLeft"][0] < marks["leftEyeBrowRight"][0] < marks["rightEyeBrowLeft"][0]
    assert marks["upperJawlineLeft"][0] < marks["chinBottom"][0] < marks["upperJawlineRight"][0]
    assert marks["leftEyeBrowUp"][1] < marks["leftEyeUp"][1] < marks["leftEyeDown"][1] < marks["noseLeft"][1]
    assert marks["mouthUp"][1] < marks["mouthDown"][1] < marks["chinBottom"][1]
    assert marks["eyeLeft"] == (float(det.landmarks[0, 0]), float(det.landmarks[0, 1]))
    pose, quality = analyzer.pose_and_quality(image, det)
    assert attributes.pose == pose and attributes.quality == quality


def test_eyes_and_mouth_open(analyzer, detector, detect_photo, load_photo, enrolment_photos) -> None:
    for relative in enrolment_photos:  # every enrolment photo shows open eyes
        image = load_photo(relative)
        eyes = analyzer.analyze(image, max(detect_photo(relative), key=lambda d: d.area)).eyes_open
        assert eyes is not None and eyes.value, relative
        assert 50 <= eyes.confidence <= 100
    talking = load_photo("obama/obama2.jpg")  # lips apart, teeth showing
    mouth = analyzer.analyze(talking, largest(detector, talking)).mouth_open
    assert mouth is not None and mouth.value and mouth.confidence > 90
    closed = load_photo("rose_leslie/img1.jpg")  # closed-lips smile
    mouth = analyzer.analyze(closed, largest(detector, closed)).mouth_open
    assert mouth is not None and not mouth.value and mouth.confidence > 90
