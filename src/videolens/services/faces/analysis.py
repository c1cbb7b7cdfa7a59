"""Turns image bytes into analysed faces: decode, detect, describe (pose, quality, landmarks), embed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from videolens.media.images import ImageDecodeError, decode_image
from videolens.runtime.settings import Settings
from videolens.services.errors import ImageTooLargeError, InvalidImageError
from videolens.services.faces.models import (
    AttributeLevel,
    BinaryAttribute,
    BoundingBox,
    FaceDetail,
    Landmark,
    Pose,
    Quality,
)
from videolens.vision.models import ModelRegistry
from videolens.vision.types import LANDMARK_NAMES, Detection


@dataclass(frozen=True)
class AnalysedImage:
    image: np.ndarray  # BGR
    detections: list[Detection]
    details: list[FaceDetail]

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class FaceAnalysis:
    """Stateless apart from the shared models; safe to use from several threads."""

    def __init__(self, settings: Settings, models: ModelRegistry) -> None:
        self.settings = settings
        self.models = models

    def decode(self, data: bytes, max_bytes: int | None = None) -> np.ndarray:
        limit = max_bytes if max_bytes is not None else self.settings.max_image_bytes
        if not data:
            raise InvalidImageError("the image is empty")
        if len(data) > limit:
            raise ImageTooLargeError(f"the image is {len(data)} bytes; the limit is {limit} bytes")
        try:
            return decode_image(data, max_pixels=self.settings.max_image_pixels)
        except ImageDecodeError as exc:
            raise InvalidImageError(str(exc)) from exc

    def analyse(
        self, data: bytes, attributes: AttributeLevel = "DEFAULT", max_bytes: int | None = None
    ) -> AnalysedImage:
        image = self.decode(data, max_bytes)
        detections = self.models.detector.detect(image)
        details = [self.describe(image, det, attributes) for det in detections]
        return AnalysedImage(image, detections, details)

    def describe(self, image: np.ndarray, det: Detection, attributes: AttributeLevel) -> FaceDetail:
        h, w = image.shape[:2]
        box = BoundingBox(
            left=det.x1 / w, top=det.y1 / h, width=(det.x2 - det.x1) / w, height=(det.y2 - det.y1) / h
        )
        analyzer = self.models.analyzer
        if attributes == "ALL":
            full = analyzer.analyze(image, det)
            pose, quality = full.pose, full.quality
            points = full.landmarks
            eyes = full.eyes_open
            mouth = full.mouth_open
        else:
            pose, quality = analyzer.pose_and_quality(image, det)
            points = {
                name: (float(x), float(y)) for name, (x, y) in zip(LANDMARK_NAMES, det.landmarks, strict=True)
            }
            eyes = mouth = None
        return FaceDetail(
            bounding_box=box,
            confidence=round(float(det.score) * 100.0, 4),
            landmarks=[Landmark(name, x / w, y / h) for name, (x, y) in points.items()],
            pose=Pose(yaw=pose.yaw, pitch=pose.pitch, roll=pose.roll),
            quality=Quality(brightness=quality.brightness, sharpness=quality.sharpness),
            eyes_open=BinaryAttribute(eyes.value, eyes.confidence) if eyes else None,
            mouth_open=BinaryAttribute(mouth.value, mouth.confidence) if mouth else None,
        )

    def embed(self, image: np.ndarray, detections: list[Detection]) -> np.ndarray:
        if not detections:
            return np.empty((0, 128), dtype=np.float32)
        return self.models.embedder.embed(image, detections)


def largest_first(analysed: AnalysedImage) -> list[int]:
    """Indices of the faces ordered by box area, largest first (ties: higher score first)."""
    return sorted(
        range(len(analysed.detections)),
        key=lambda i: (-analysed.detections[i].area, -analysed.detections[i].score),
    )
