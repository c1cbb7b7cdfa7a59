"""Result types of the faces capability (front-door neutral; boxes and landmarks are image ratios)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

QualityFilter = Literal["NONE", "AUTO", "LOW", "MEDIUM", "HIGH"]
AttributeLevel = Literal["DEFAULT", "ALL"]
UnindexedReason = Literal[
    "EXCEEDS_MAX_FACES",
    "EXTREME_POSE",
    "LOW_BRIGHTNESS",
    "LOW_SHARPNESS",
    "LOW_CONFIDENCE",
    "SMALL_BOUNDING_BOX",
    "LOW_FACE_QUALITY",
]


@dataclass(frozen=True)
class BoundingBox:
    """Box as ratios of the image width / height, like Rekognition."""

    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class Pose:
    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Quality:
    brightness: float
    sharpness: float


@dataclass(frozen=True)
class BinaryAttribute:
    value: bool
    confidence: float


@dataclass(frozen=True)
class Landmark:
    type: str  # Rekognition landmark type name, e.g. "eyeLeft"
    x: float  # ratio of image width
    y: float  # ratio of image height


@dataclass(frozen=True)
class FaceDetail:
    """One analysed face. Attributes beyond the default set are None unless asked for."""

    bounding_box: BoundingBox
    confidence: float  # 0..100
    landmarks: list[Landmark]
    pose: Pose
    quality: Quality
    eyes_open: BinaryAttribute | None = None
    mouth_open: BinaryAttribute | None = None


@dataclass(frozen=True)
class DetectedFaces:
    image_width: int
    image_height: int
    faces: list[FaceDetail]


@dataclass(frozen=True)
class Collection:
    collection_id: str
    face_count: int
    created_at: datetime
    face_model_version: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredFace:
    face_id: str
    image_id: str
    external_image_id: str | None
    bounding_box: BoundingBox
    confidence: float
    collection_id: str


@dataclass(frozen=True)
class FaceMatch:
    similarity: float  # calibrated 0..100
    face: StoredFace


@dataclass(frozen=True)
class FaceRecord:
    face: StoredFace
    detail: FaceDetail


@dataclass(frozen=True)
class UnindexedFace:
    reasons: list[UnindexedReason]
    detail: FaceDetail


@dataclass(frozen=True)
class IndexResult:
    records: list[FaceRecord]
    unindexed: list[UnindexedFace]
    face_model_version: str


@dataclass(frozen=True)
class UnsuccessfulDeletion:
    face_id: str
    reasons: list[Literal["FACE_NOT_FOUND", "ASSOCIATED_TO_AN_EXISTING_USER"]]


@dataclass(frozen=True)
class DeleteResult:
    deleted: list[str]
    unsuccessful: list[UnsuccessfulDeletion]


@dataclass(frozen=True)
class SearchByImageResult:
    searched_face: FaceDetail
    matches: list[FaceMatch]


@dataclass(frozen=True)
class RecognizedFace:
    face: FaceDetail
    matches: list[FaceMatch]


@dataclass(frozen=True)
class ComparedMatch:
    similarity: float
    face: FaceDetail


@dataclass(frozen=True)
class CompareResult:
    source_face: FaceDetail
    matches: list[ComparedMatch]
    unmatched: list[FaceDetail]
