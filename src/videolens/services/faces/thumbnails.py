"""Small JPEG crops of indexed faces, in the blob store under the face id (People cards show them)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import cv2
import numpy as np

from videolens.backends.blobs.base import BlobNotFoundError, BlobStore
from videolens.media.images import encode_jpeg
from videolens.services.faces.models import BoundingBox

log = logging.getLogger(__name__)

#: the long side of a thumbnail; a card shows them at 48-64 CSS px, so 2x that stays sharp
THUMBNAIL_SIDE = 128
PREFIX = "face-thumbnails/"


def thumbnail_key(face_id: str) -> str:
    return f"{PREFIX}{face_id}.jpg"


def face_crop(image_bgr: np.ndarray, box: BoundingBox, side: int = THUMBNAIL_SIDE) -> bytes:
    """The face with a margin (hair, chin) around its box, square where the image allows, as JPEG."""
    h, w = image_bgr.shape[:2]
    cx, cy = (box.left + box.width / 2) * w, (box.top + box.height / 2) * h
    half = max(box.width * w, box.height * h) * 0.65
    x0, x1 = max(0, int(cx - half)), min(w, int(cx + half))
    y0, y1 = max(0, int(cy - half)), min(h, int(cy + half))
    crop = image_bgr[y0 : max(y1, y0 + 1), x0 : max(x1, x0 + 1)]
    scale = side / max(crop.shape[:2])
    if scale < 1:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return encode_jpeg(np.ascontiguousarray(crop), quality=85)


class FaceThumbnails:
    """Write at index time, read for the REST route, delete with the face."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def store(self, image_bgr: np.ndarray, faces: Iterable[tuple[str, BoundingBox]]) -> None:
        for face_id, box in faces:
            self.blobs.put_bytes(thumbnail_key(face_id), face_crop(image_bgr, box))

    def read(self, face_id: str) -> bytes | None:
        try:
            with self.blobs.open(thumbnail_key(face_id)) as f:
                return f.read()
        except (BlobNotFoundError, FileNotFoundError):
            return None

    def delete(self, face_ids: Iterable[str]) -> None:
        for face_id in face_ids:
            try:
                self.blobs.delete(thumbnail_key(face_id))
            except Exception:  # a leftover crop must not fail the face deletion that already committed
                log.warning("could not delete the thumbnail of face %s", face_id, exc_info=True)
