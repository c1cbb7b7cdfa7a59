"""Records and checks of the faces capability: rows ↔ records, identifier and parameter checks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import update
from sqlalchemy.orm import Session

from videolens.backends.metadata.tables.faces import CollectionRow, FaceRow
from videolens.services.errors import InvalidParameterError, NotFoundError
from videolens.services.faces.models import BoundingBox, Collection, StoredFace
from videolens.vision.similarity import similarity_from_distance

FACE_MODEL_VERSION = "videolens-dlib-resnet-1.0"
COLLECTION_ID_RE = re.compile(r"^[a-zA-Z0-9_.\-]{1,255}$")
EXTERNAL_ID_RE = re.compile(r"^[a-zA-Z0-9_.\-:]{1,255}$")
FACE_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
QUALITY_FILTERS = ("NONE", "AUTO", "LOW", "MEDIUM", "HIGH")
MAX_PAGE = 4096
DEFAULT_PAGE = 1000


def similarity(distance: float) -> float:
    return round(float(similarity_from_distance(distance)), 4)


def collection_record(row: CollectionRow, count: int) -> Collection:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Collection(row.collection_id, count, created, row.face_model_version, dict(row.tags or {}))


def stored_face(row: FaceRow) -> StoredFace:
    return StoredFace(
        face_id=row.face_id,
        image_id=row.image_id,
        external_image_id=row.external_image_id,
        bounding_box=BoundingBox(row.box_left, row.box_top, row.box_width, row.box_height),
        confidence=row.confidence,
        collection_id=row.collection_id,
    )


def face_row(face: StoredFace, seq: int, embedding: np.ndarray, now: datetime, version: int) -> FaceRow:
    box = face.bounding_box
    return FaceRow(
        face_id=face.face_id,
        collection_id=face.collection_id,
        seq=seq,
        image_id=face.image_id,
        external_image_id=face.external_image_id,
        box_left=box.left,
        box_top=box.top,
        box_width=box.width,
        box_height=box.height,
        confidence=face.confidence,
        embedding=np.asarray(embedding, dtype="<f4").tobytes(),
        created_at=now,
        version=version,
    )


def check_collection_id(collection_id: str) -> None:
    if not isinstance(collection_id, str) or not COLLECTION_ID_RE.match(collection_id):
        raise InvalidParameterError("CollectionId must match [a-zA-Z0-9_.\\-]{1,255}")


def check_face_id(face_id: str) -> None:
    if not isinstance(face_id, str) or not FACE_ID_RE.match(face_id):
        raise InvalidParameterError(f"invalid face id {face_id!r}: expected a lower-case UUID")


def check_quality_filter(value: str) -> None:
    if value not in QUALITY_FILTERS:
        raise InvalidParameterError(f"QualityFilter must be one of {', '.join(QUALITY_FILTERS)}")


def check_threshold(value: float) -> None:
    if not 0.0 <= value <= 100.0:
        raise InvalidParameterError("the similarity threshold must be between 0 and 100")


def page_size(max_results: int | None) -> int:
    if max_results is None or max_results == 0:
        return DEFAULT_PAGE
    if max_results < 0 or max_results > MAX_PAGE:
        raise InvalidParameterError("MaxResults must be between 0 and 4096")
    return max_results


def bump_version(s: Session, collection_id: str) -> int:
    """The collection's next version, taken with its write lock held to the end of the transaction
    (a row lock on PostgreSQL, the database write lock on SQLite), so versions commit in order."""
    version = s.scalar(
        update(CollectionRow)
        .where(CollectionRow.collection_id == collection_id)
        .values(version=CollectionRow.version + 1)
        .returning(CollectionRow.version)
        .execution_options(synchronize_session=False)
    )
    if version is None:
        raise NotFoundError(f"collection {collection_id!r} does not exist")
    return int(version)
