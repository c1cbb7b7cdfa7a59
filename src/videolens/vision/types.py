"""Plain data types shared by the vision modules (detections, landmarks)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Landmark order used everywhere in videolens (CenterFace's order): the eye and mouth corner that
# appear on the LEFT of the image come first.
LANDMARK_NAMES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")


@dataclass(frozen=True)
class Detection:
    """One detected face in pixel coordinates of the analysed image."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float  # detector confidence, 0..1
    landmarks: np.ndarray = field(repr=False)  # shape (5, 2), float32, pixels, order LANDMARK_NAMES

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return max(0.0, self.width) * max(0.0, self.height)
