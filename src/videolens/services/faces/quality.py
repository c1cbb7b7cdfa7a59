"""Quality bars of IndexFaces / SearchFacesByImage QualityFilter (NONE, AUTO, LOW, MEDIUM, HIGH)."""

from __future__ import annotations

from dataclasses import dataclass

from videolens.services.faces.models import FaceDetail, QualityFilter, UnindexedReason


@dataclass(frozen=True)
class QualityBar:
    min_confidence: float  # detector confidence, 0..100
    min_face_pixels: int  # shorter side of the face box, pixels
    max_abs_yaw: float
    max_abs_pitch: float
    min_brightness: float
    min_sharpness: float


# AUTO is MEDIUM: it keeps every face of the shared enrolment photos and drops tiny, blurred,
# dark or profile faces whose embeddings would match poorly.
QUALITY_BARS: dict[str, QualityBar] = {
    "LOW": QualityBar(50.0, 16, 80.0, 60.0, 5.0, 1.0),
    "MEDIUM": QualityBar(70.0, 32, 60.0, 45.0, 12.0, 3.0),
    "HIGH": QualityBar(85.0, 60, 40.0, 30.0, 25.0, 8.0),
}
QUALITY_BARS["AUTO"] = QUALITY_BARS["MEDIUM"]


def quality_reasons(
    detail: FaceDetail, image_width: int, image_height: int, level: QualityFilter
) -> list[UnindexedReason]:
    """Why a face falls below the bar of `level` (empty list: it passes)."""
    if level == "NONE":
        return []
    bar = QUALITY_BARS[level]
    reasons: list[UnindexedReason] = []
    if detail.confidence < bar.min_confidence:
        reasons.append("LOW_CONFIDENCE")
    box = detail.bounding_box
    if min(box.width * image_width, box.height * image_height) < bar.min_face_pixels:
        reasons.append("SMALL_BOUNDING_BOX")
    if abs(detail.pose.yaw) > bar.max_abs_yaw or abs(detail.pose.pitch) > bar.max_abs_pitch:
        reasons.append("EXTREME_POSE")
    if detail.quality.brightness < bar.min_brightness:
        reasons.append("LOW_BRIGHTNESS")
    if detail.quality.sharpness < bar.min_sharpness:
        reasons.append("LOW_SHARPNESS")
    return reasons
